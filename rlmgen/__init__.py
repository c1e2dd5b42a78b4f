"""rlmgen: compile one monitoring spec into Prometheus rules, Grafana dashboards,
autoscaling manifests, Alertmanager routing, promtool tests and a runbook."""

__version__ = "0.1.0"
