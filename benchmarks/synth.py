"""Valid synthetic specs of N metrics, deterministic for a given N and seed: N metrics
with levels (half computed by recording rules), N/5 hand-written alerts, N/50
dashboards of 20 panels and N/100 autoscaled workloads.

    python benchmarks/synth.py 1000 > /tmp/spec-1000.yaml
"""

from __future__ import annotations

import random
import sys
from typing import Any

import yaml

UNITS = (
    ("ratio", "> {:.0%}", "> {:.0%}"),
    ("seconds", '"> {}ms"', '"> {}ms"'),
    ("count", '"> {}"', '"> {}"'),
)


def spec(n: int, seed: int = 0) -> dict[str, Any]:
    rng = random.Random(seed)
    metrics: list[dict[str, Any]] = []
    names = []
    for i in range(n):
        name = f"synth_metric_{i}"
        unit = ("ratio", "seconds", "count")[i % 3]
        if unit == "ratio":
            warning = rng.randint(60, 85)
            levels = {
                "target": f"< {warning - 20}%",
                "warning": f"> {warning}%",
                "critical": f"> {warning + 10}%",
            }
        elif unit == "seconds":
            warning = rng.randint(100, 500)
            levels = {
                "target": f"< {warning // 2}ms",
                "warning": f"> {warning}ms",
                "critical": f"> {warning * 2}ms",
            }
        else:
            warning = rng.randint(100, 1000)
            levels = {
                "target": f"< {warning // 2}",
                "warning": f"> {warning}",
                "critical": f"> {warning * 2}",
            }
        metric: dict[str, Any] = {
            "name": name,
            "group": f"Group {i % 7}",
            "description": f"Synthetic metric {i}",
            "unit": unit,
            "levels": levels,
        }
        if i % 2 == 0:
            raw = f"synth_raw_{i}"
            metrics.append({"name": raw, "type": "counter", "description": f"Input of {name}"})
            # per pod, as the metrics adapter serves a pods metric to an HPA
            metric["expr"] = f"sum by (namespace, pod) (rate({raw}[5m]))"
            metric["record"] = f"namespace_pod:{name}:rate5m"
        else:
            metric["type"] = "gauge"
        metrics.append(metric)
        names.append(name)
    severities = ("critical", "warning", "info")
    groups = []
    alerts_total = max(1, n // 5)
    for g in range(0, alerts_total, 10):
        alerts = []
        for a in range(g, min(g + 10, alerts_total)):
            target = names[rng.randrange(n)]
            alerts.append(
                {
                    "name": f"SynthAlert{a}",
                    "expr": f"{target} > {rng.randint(1, 900)}",
                    "for": f"{rng.choice((1, 2, 5, 10))}m",
                    "severity": severities[a % 3],
                    "summary": f"Synthetic alert {a} on {target}",
                    "description": "Value is {{ $value | humanize }}",
                }
            )
        groups.append({"name": f"synthetic-{g // 10}", "alerts": alerts})
    dashboards = []
    for d in range(max(1, n // 50)):
        panels = []
        for p in range(20):
            metric = names[(d * 20 + p) % n]
            kind = ("timeseries", "stat", "gauge", "bargauge")[p % 4]
            panels.append({"title": f"Panel {p} of {metric}", "type": kind, "metric": metric})
        dashboards.append(
            {"uid": f"synth-{d}", "title": f"Synthetic {d}", "refresh": "1m", "panels": panels}
        )
    workloads = []
    for w in range(max(1, n // 100)):
        workloads.append(
            {
                "name": f"synth-workload-{w}",
                "title": f"Workload {w}",
                "target": {"kind": "Deployment", "name": f"synth-workload-{w}"},
                "minReplicas": 2,
                "maxReplicas": 20,
                "metrics": [
                    {"resource": "cpu", "averageUtilization": "70%"},
                    {"pods": names[(w * 3 + 2) % n], "averageValue": 50},
                ],
            }
        )
    return {
        "apiVersion": "rlmgen/v1",
        "service": {
            "name": "synthetic",
            "title": "Synthetic",
            "namespace": "synthetic",
            "team": "bench",
            "runbookUrl": "https://runbooks.example.com/synthetic",
        },
        "metrics": metrics,
        "alertGroups": groups,
        "routing": {
            "default": "slack",
            "receivers": [
                {
                    "name": "pager",
                    "severities": ["critical"],
                    "pagerduty": {"routingKeyFile": "/etc/secrets/pager"},
                },
                {
                    "name": "slack",
                    "severities": ["warning"],
                    "slack": {"channel": "#synthetic", "apiUrlFile": "/etc/secrets/slack"},
                },
                {
                    "name": "mail",
                    "severities": ["info"],
                    "email": {
                        "to": "team@example.com",
                        "from": "am@example.com",
                        "smarthost": "smtp.example.com:587",
                    },
                },
            ],
        },
        "dashboards": dashboards,
        "autoscaling": workloads,
        "runbook": {"contacts": [{"label": "Team", "value": "bench"}]},
    }


def text(n: int, seed: int = 0) -> str:
    return yaml.safe_dump(spec(n, seed), sort_keys=False, width=1000)


if __name__ == "__main__":
    sys.stdout.write(text(int(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 0))
