"""Each environment's cluster-level outputs, judged by their consumers: the one
Alertmanager configuration (amtool check-config, and every alert of every service routed
by amtool to the receivers its spec names, copies of `continue` receivers included), the
one prometheus-adapter configuration and the dashboard ConfigMaps (kubernetes-validate,
strict), and the Grafana provisioning (one provider per service folder)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from rlmgen.pipeline import compile_specs, discover, outputs
from tests.conftest import REPO, require_tool

ENVIRONMENTS = ("production", "staging")


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("platform") / "out"
    results = compile_specs(discover(REPO / "specs"), root)
    assert not [d for r in results for d in r.errors]
    for unit, files in outputs(results).items():
        for relative, data in files.items():
            path = root / unit / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
    return root


def _specs() -> dict[str, dict]:
    """Each shipped spec as YAML (what the test expects is read from there, not from
    rlmgen's model), by service name, with its own file's receivers."""
    found = {}
    for path in sorted((REPO / "specs").glob("*.yaml")):
        data = yaml.safe_load(path.read_text())
        found[data["service"]["name"]] = data
    return found


def _receivers(spec: dict, environment: str) -> list[dict]:
    """The spec's receivers in an environment: the overlay's changes by name, removals."""
    overlay = (spec.get("environments") or {}).get(environment) or {}
    changed = {r["name"]: r for r in overlay.get("routing", {}).get("receivers", [])}
    receivers = []
    for receiver in spec["routing"]["receivers"]:
        change = changed.get(receiver["name"], {})
        if change.get("disabled"):
            continue
        receivers.append({**receiver, **change})
    return receivers


def _alerts(unit: Path) -> list[dict]:
    rules = [unit / "prometheus" / "rules.yaml", *sorted((unit / "prometheus").glob("slo-*.yaml"))]
    return [
        rule
        for path in rules
        if not path.name.endswith(".tests.yaml")
        for group in yaml.safe_load(path.read_text())["groups"]
        for rule in group["rules"]
        if "alert" in rule
    ]


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_one_alertmanager_routes_every_alert_of_every_service(out: Path, environment: str) -> None:
    amtool = require_tool("amtool")
    config = out / environment / "_cluster" / "alertmanager" / "alertmanager.yaml"
    checked = subprocess.run([amtool, "check-config", str(config)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    routed = 0
    for service, spec in _specs().items():
        receivers = _receivers(spec, environment)
        for alert in _alerts(out / environment / service):
            labels = {"alertname": alert["alert"], **alert["labels"]}
            assert labels["service"] == service
            copies = [
                r["name"]
                for r in receivers
                if r.get("continue") and labels["severity"] in r.get("severities", [])
            ]
            expected = ",".join(f"{service}/{name}" for name in [*copies, labels["route"]])
            result = subprocess.run(
                [
                    amtool,
                    "config",
                    "routes",
                    "test",
                    f"--config.file={config}",
                    f"--verify.receivers={expected}",
                    *(f"{k}={v}" for k, v in sorted(labels.items())),
                ],
                capture_output=True,
                text=True,
            )
            assert result.returncode == 0, (service, alert["alert"], result.stdout)
            routed += 1
    assert routed == {"production": 46, "staging": 45}[environment]  # staging drops one


def test_critical_alerts_of_checkout_reach_pagerduty_and_slack_in_production(out: Path) -> None:
    """`continue: true` on a second receiver of one severity: both get the page."""
    amtool = require_tool("amtool")
    config = out / "production" / "_cluster" / "alertmanager" / "alertmanager.yaml"
    result = subprocess.run(
        [
            amtool,
            "config",
            "routes",
            "test",
            f"--config.file={config}",
            "service=checkout-api",
            "severity=critical",
            "route=pagerduty-payments",
            "alertname=CheckoutErrorRatioHigh",
        ],
        capture_output=True,
        text=True,
    )
    assert result.stdout.split() == [
        "checkout-api/slack-checkout-pages,checkout-api/pagerduty-payments"
    ]


def test_receivers_are_unique_and_inhibition_stays_within_a_service(out: Path) -> None:
    config = yaml.safe_load(
        (out / "production" / "_cluster" / "alertmanager" / "alertmanager.yaml").read_text()
    )
    names = [r["name"] for r in config["receivers"]]
    assert len(names) == len(set(names))
    assert "rlm-hypervisor/slack-warnings" in names and "checkout-api/slack-checkout" in names
    for rule in config["inhibit_rules"]:
        services = {m for m in rule["source_matchers"] + rule["target_matchers"] if "service=" in m}
        assert len(services) == 1  # one service's critical never holds back another's warning
    assert {i["name"] for i in config["time_intervals"]} == {"checkout-api/business-hours"}


def test_the_business_hours_receiver_is_muted_outside_them(out: Path) -> None:
    config = yaml.safe_load(
        (out / "production" / "_cluster" / "alertmanager" / "alertmanager.yaml").read_text()
    )
    checkout = next(
        r for r in config["route"]["routes"] if r["matchers"] == ['service="checkout-api"']
    )
    audit = [r for r in checkout["routes"] if r["receiver"] == "checkout-api/audit-webhook"]
    assert audit and all(
        r["active_time_intervals"] == ["checkout-api/business-hours"] for r in audit
    )


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_cluster_manifests_validate_strictly(out: Path, environment: str) -> None:
    kubernetes = out / environment / "_cluster" / "kubernetes"
    manifests = [
        kubernetes / "prometheus-adapter.yaml",
        *sorted((kubernetes / "dashboards").glob("*.yaml")),
    ]
    assert len(manifests) == 8  # the adapter and seven dashboards
    for path in manifests:
        manifest = yaml.safe_load(path.read_text())
        kubernetes_validate.validate(manifest, "1.30.0", strict=True)
    adapter = yaml.safe_load((kubernetes / "prometheus-adapter.yaml").read_text())
    assert adapter["metadata"]["namespace"] == "monitoring"
    config = yaml.safe_load(adapter["data"]["config.yaml"])
    served = {rule["name"]["as"] for rule in config["rules"]}
    assert {"rlm_active_agents", "checkout_inflight_requests"} <= served
    values = yaml.safe_load(
        (out / environment / "_cluster" / "prometheus-adapter" / "values.yaml").read_text()
    )
    assert values["rules"]["custom"] == config["rules"]


def test_dashboards_are_configmaps_for_the_sidecar(out: Path) -> None:
    path = (
        out
        / "production"
        / "_cluster"
        / "kubernetes"
        / "dashboards"
        / "checkout-api-checkout-overview.yaml"
    )
    manifest = yaml.safe_load(path.read_text())
    assert manifest["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert manifest["metadata"]["annotations"] == {"grafana_folder": "Checkout API"}
    board = (out / "production" / "checkout-api" / "grafana" / "checkout-overview.json").read_text()
    assert manifest["data"] == {"checkout-overview.json": board}


def test_grafana_has_one_provider_per_service_folder(out: Path) -> None:
    provisioning = yaml.safe_load(
        (out / "staging" / "_cluster" / "grafana" / "provisioning.yaml").read_text()
    )
    paths = {p["name"]: p["options"]["path"] for p in provisioning["providers"]}
    assert paths == {
        "checkout-api": "/var/lib/grafana/dashboards/checkout-api",
        "rlm-hypervisor": "/var/lib/grafana/dashboards/rlm-hypervisor",
    }
    assert len({p["folderUid"] for p in provisioning["providers"]}) == 2


def test_prometheus_rules_carry_the_platform_labels(out: Path) -> None:
    for environment, release in (
        ("production", "kube-prometheus-stack"),
        ("staging", "kube-prometheus-stack-staging"),
    ):
        for service in ("rlm-hypervisor", "checkout-api"):
            path = out / environment / service / "kubernetes" / "prometheusrule.yaml"
            labels = yaml.safe_load(path.read_text())["metadata"]["labels"]
            assert labels["release"] == release
