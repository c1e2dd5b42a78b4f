"""HPAs and prometheus-adapter rules: accepted by Kubernetes' schemas in strict mode,
faithful to the seed's HPA, and serving every custom metric an HPA reads."""

from __future__ import annotations

import re
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from rlmgen.derive.kubernetes import quantity
from rlmgen.lang import promql
from rlmgen.pipeline import compile_specs
from tests.conftest import SEED_TEXT

VERSIONS = ("1.30.0", kubernetes_validate.latest_version())


def _manifests(files: dict[str, bytes]) -> dict[str, dict]:
    """Core Kubernetes objects (the Prometheus Operator's CRDs have no schema here)."""
    manifests = {
        path: yaml.safe_load(data) for path, data in files.items() if path.startswith("kubernetes/")
    }
    return {
        path: manifest
        for path, manifest in manifests.items()
        if not manifest["apiVersion"].startswith("monitoring.coreos.com/")
    }


@pytest.mark.parametrize("version", VERSIONS)
def test_manifests_validate_strictly(compiled_seed, version: str) -> None:
    manifests = _manifests(compiled_seed)
    assert sorted(manifests) == [
        "kubernetes/hpa-rlm-api.yaml",
        "kubernetes/hpa-rlm-oolong.yaml",
        "kubernetes/hpa-rlm-quota-manager.yaml",
        "kubernetes/prometheus-adapter.yaml",
    ]
    for manifest in manifests.values():
        kubernetes_validate.validate(manifest, version, strict=True)  # raises on any problem


def test_strict_validation_catches_a_misspelled_field(compiled_seed) -> None:
    hpa = _manifests(compiled_seed)["kubernetes/hpa-rlm-api.yaml"]
    hpa["spec"]["maxReplica"] = hpa["spec"].pop("maxReplicas")
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(hpa, VERSIONS[0], strict=True)


def test_the_seed_hpa_is_generated_as_written(compiled_seed, seed_runbook: str) -> None:
    [block] = [
        b
        for b in re.findall(r"```yaml\n(.*?)```", seed_runbook, re.S)
        if "HorizontalPodAutoscaler" in b
    ]
    seed = yaml.safe_load(block)
    ours = _manifests(compiled_seed)["kubernetes/hpa-rlm-api.yaml"]
    assert ours["spec"] == seed["spec"]
    assert (ours["metadata"]["name"], ours["metadata"]["namespace"]) == (
        seed["metadata"]["name"],
        seed["metadata"]["namespace"],
    )


def test_the_capacity_workloads(compiled_seed) -> None:
    manifests = _manifests(compiled_seed)
    oolong = manifests["kubernetes/hpa-rlm-oolong.yaml"]["spec"]
    assert (oolong["minReplicas"], oolong["maxReplicas"]) == (1, 100)
    assert oolong["metrics"] == [
        {
            "type": "External",
            "external": {
                "metric": {"name": "rlm_queue_depth"},
                "target": {"type": "Value", "value": "100"},
            },
        }
    ]
    quota = manifests["kubernetes/hpa-rlm-quota-manager.yaml"]["spec"]
    assert quota["maxReplicas"] == 10
    assert quota["metrics"][0]["pods"]["target"] == {"type": "AverageValue", "averageValue": "100m"}


def test_the_adapter_serves_every_metric_an_hpa_reads(compiled_seed) -> None:
    manifests = _manifests(compiled_seed)
    config = yaml.safe_load(manifests["kubernetes/prometheus-adapter.yaml"]["data"]["config.yaml"])
    served = {("custom", r["name"]["as"]) for r in config.get("rules", [])} | {
        ("external", r["name"]["as"]) for r in config.get("externalRules", [])
    }
    wanted = set()
    for manifest in manifests.values():
        if manifest["kind"] != "HorizontalPodAutoscaler":
            continue
        for metric in manifest["spec"]["metrics"]:
            if metric["type"] in ("Pods", "Object"):
                wanted.add(("custom", metric[metric["type"].lower()]["metric"]["name"]))
            elif metric["type"] == "External":
                wanted.add(("external", metric["external"]["metric"]["name"]))
    assert wanted == served
    for rule in config.get("rules", []) + config.get("externalRules", []):
        assert promql.check(rule["seriesQuery"]) is None
        query = (
            rule["metricsQuery"]
            .replace("<<.Series>>", re.sub(r"\{.*", "", rule["seriesQuery"]))
            .replace("<<.LabelMatchers>>", 'namespace="rlm-production"')
            .replace("<<.GroupBy>>", ", ".join(rule["resources"]["overrides"]))
        )
        assert promql.check(query) is None, query


def test_object_metrics_and_counters(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        SEED_TEXT.replace(
            "      - external: rlm_queue_depth\n        label: Queue\n        value: 100\n",
            "      - object: {metric: rlm_requests, kind: Service, name: rlm-oolong,"
            " apiVersion: v1}\n"
            "        label: Requests\n        averageValue: 50\n",
        )
    )
    [result] = compile_specs([spec], tmp_path / "out")
    assert not result.errors, result.diagnostics
    hpa = yaml.safe_load(result.files["kubernetes/hpa-rlm-oolong.yaml"])
    for version in VERSIONS:
        kubernetes_validate.validate(hpa, version, strict=True)
    assert hpa["spec"]["metrics"][0]["object"]["describedObject"] == {
        "kind": "Service",
        "name": "rlm-oolong",
        "apiVersion": "v1",
    }
    adapter = yaml.safe_load(
        yaml.safe_load(result.files["kubernetes/prometheus-adapter.yaml"])["data"]["config.yaml"]
    )
    [rule] = [r for r in adapter["rules"] if r["name"]["as"] == "rlm_requests"]
    assert (
        rule["metricsQuery"] == "sum(rate(<<.Series>>{<<.LabelMatchers>>}[2m])) by (<<.GroupBy>>)"
    )  # a counter
    assert rule["resources"]["overrides"] == {
        "namespace": {"resource": "namespace"},
        "service": {"resource": "service"},
    }


@pytest.mark.parametrize(
    ("value", "text"), [(10, "10"), (0.1, "100m"), (2.5e-05, "25u"), (1.5, "1500m"), (100.0, "100")]
)
def test_kubernetes_quantities(value: float, text: str) -> None:
    assert quantity(value) == text


def _shop_with_metrics(tmp_path: Path, metrics: str) -> tuple[list[str], dict[str, bytes]]:
    """The minimal spec's workload scaled on `metrics` (YAML list items, indented 6)."""
    from tests.conftest import MINIMAL_SPEC

    spec = tmp_path / "spec.yaml"
    spec.write_text(
        MINIMAL_SPEC.read_text().replace(
            "      - resource: cpu\n        averageUtilization: 70%\n", metrics
        )
    )
    [result] = compile_specs([spec], tmp_path / "out")
    return [d.format().split(": ", 1)[1] for d in result.diagnostics], result.files


def test_cpu_and_memory_targets_are_read_as_kubernetes_reads_them(tmp_path: Path) -> None:
    """`500m` of CPU is half a CPU (not 500 minutes), `512Mi` of memory 512 MiB: what the
    HPA gets means the same to Kubernetes, and the runbook says what was written."""
    from rlmgen.lang.units import parse_kubernetes_quantity

    problems, files = _shop_with_metrics(
        tmp_path,
        "      - resource: cpu\n        label: CPU\n        averageValue: 500m\n"
        "      - resource: memory\n        label: Memory\n        averageValue: 512Mi\n"
        "      - resource: memory\n        label: Memory (rlmgen's unit)\n"
        "        averageValue: 1GiB\n",
    )
    assert problems == []
    hpa = yaml.safe_load(files["kubernetes/hpa-shop-api.yaml"])
    for version in VERSIONS:
        kubernetes_validate.validate(hpa, version, strict=True)
    targets = [metric["resource"]["target"] for metric in hpa["spec"]["metrics"]]
    assert [t["type"] for t in targets] == ["AverageValue"] * 3
    read = [parse_kubernetes_quantity(t["averageValue"]) for t in targets]
    assert read == [0.5, 512 * 2**20, 2**30]
    assert targets[0]["averageValue"] == "500m"
    from tests import markdown_text

    runbook = markdown_text.plain_text(files["runbook/README.md"].decode())
    assert "CPU > 500m" in runbook and "Memory > 512Mi" in runbook


@pytest.mark.parametrize(
    ("metric", "message"),
    [
        (
            "      - resource: cpu\n        averageValue: 2 cores\n",
            "/autoscaling/0/metrics/0/averageValue: '2 cores' is not a Kubernetes cpu quantity "
            "(hint: write it like 500m (half a CPU), 2 or 1.5) [autoscaling/invalid-target]",
        ),
        (
            "      - resource: memory\n        averageValue: 500m\n",
            "/autoscaling/0/metrics/0/averageValue: '500m' is 0.5 bytes: memory is whole bytes "
            "(hint: Kubernetes' m is thousandths: for mebibytes write Mi (512Mi), for megabytes "
            "M) [autoscaling/invalid-target]",
        ),
        (
            "      - resource: cpu\n        averageValue: 512Mi\n",
            "/autoscaling/0/metrics/0/averageValue: '512Mi' is an amount of bytes; a CPU target "
            "is cores (hint: write it like 500m (half a CPU), 2 or 1.5) "
            "[autoscaling/invalid-target]",
        ),
        (
            "      - resource: cpu\n        averageValue: 1.5m\n",
            "/autoscaling/0/metrics/0/averageValue: '1.5m' is finer than Kubernetes counts CPU "
            "(in thousandths: 1m) (hint: write 2m) [autoscaling/invalid-target]",
        ),
        (  # a utilization is a percentage, whatever m means
            "      - resource: cpu\n        averageUtilization: 500m\n",
            "/autoscaling/0/metrics/0/averageUtilization: utilization '500m' must be a "
            "percentage in (0, 100] (hint: write it like 70%) [autoscaling/invalid-target]",
        ),
    ],
)
def test_a_resource_target_kubernetes_cannot_mean_is_refused(
    tmp_path: Path, metric: str, message: str
) -> None:
    problems, _ = _shop_with_metrics(tmp_path, metric)
    assert problems == [message]
