"""Dashboards: valid against Grafana 11.6's schemas, colours that run the right way,
heatmaps of histograms, one datasource variable, stable uids, and the seed's panels."""

from __future__ import annotations

import json
import re

import pytest
import yaml

from rlmgen.lang import promql
from rlmgen.pipeline import compile_specs
from tests import grafana_schema
from tests.conftest import MINIMAL_SPEC, REPO, model_of

ALL_PANELS = REPO / "tests" / "cases" / "valid" / "all-panels.yaml"


@pytest.fixture(scope="module")
def all_panels() -> dict:
    [result] = compile_specs([ALL_PANELS], REPO / "out")
    assert not result.errors
    return json.loads(result.files["grafana/shop-all.json"])


def _dashboards(files: dict[str, bytes]) -> dict[str, dict]:
    return {
        path: json.loads(data)
        for path, data in files.items()
        if path.startswith("grafana/") and path.endswith(".json")
    }


def _panel(document: dict, title: str) -> dict:
    return next(p for p in grafana_schema._panels(document) if p["title"] == title)


def _steps(panel: dict) -> list[tuple[float | None, str]]:
    steps = panel["fieldConfig"]["defaults"]["thresholds"]["steps"]
    return [(s["value"], s["color"]) for s in steps]


def test_seed_dashboards_validate_against_the_grafana_schemas(compiled_seed) -> None:
    dashboards = _dashboards(compiled_seed)
    assert sorted(dashboards) == [
        "grafana/rlm-capacity.json",
        "grafana/rlm-executive.json",
        "grafana/rlm-hypervisor-slos.json",  # the SLO dashboard rlmgen adds
        "grafana/rlm-operations.json",
    ]
    for path, document in dashboards.items():
        assert grafana_schema.problems(document) == [], path
        assert document["schemaVersion"] == 41


def test_every_panel_type_validates(all_panels) -> None:
    kinds = {p["type"] for p in grafana_schema._panels(all_panels)}
    assert kinds == {"stat", "timeseries", "heatmap", "bargauge", "gauge", "table", "text", "row"}
    assert grafana_schema.problems(all_panels) == []


def test_the_validator_catches_what_grafana_would_reject(all_panels) -> None:
    broken = json.loads(json.dumps(all_panels))
    availability = _panel(broken, "Availability")
    availability["fieldConfig"]["defaults"]["thresholds"]["steps"][1]["value"] = None
    availability["fieldConfig"]["defaults"]["unit"] = "seconds"
    availability["options"]["graphMode"] = "sparkline"
    found = "\n".join(grafana_schema.problems(broken))
    assert "None is not of type 'number'" in found  # only the first step may be null
    assert "unknown unit 'seconds'" in found
    assert "'sparkline' is not one of" in found


def test_higher_is_worse_colours(all_panels) -> None:
    assert _steps(_panel(all_panels, "P99 latency")) == [
        (None, "green"),
        (0.2, "yellow"),
        (0.5, "red"),
    ]


def test_lower_is_worse_colours(all_panels) -> None:
    # availability: red below critical, yellow below warning, green above
    assert _steps(_panel(all_panels, "Availability")) == [
        (None, "red"),
        (0.99, "yellow"),
        (0.999, "green"),
    ]


def test_band_targets_and_bands_that_alert(all_panels) -> None:
    assert _steps(_panel(all_panels, "CPU")) == [
        (None, "blue"),
        (0.4, "green"),
        (0.6, "super-light-yellow"),
        (0.8, "yellow"),
        (0.95, "red"),
    ]
    assert _steps(_panel(all_panels, "Temperature")) == [
        (None, "red"),
        (15, "yellow"),
        (18, "green"),
        (27, "yellow"),
        (30, "red"),
    ]


def test_levels_of_a_limit_show_the_fraction(all_panels) -> None:
    workers = _panel(all_panels, "Workers")
    assert workers["targets"][0]["expr"] == "shop_workers / shop_workers_max"
    assert workers["fieldConfig"]["defaults"]["unit"] == "percentunit"
    assert (
        workers["fieldConfig"]["defaults"]["min"],
        workers["fieldConfig"]["defaults"]["max"],
    ) == (0, 1)
    assert _steps(workers) == [(None, "green"), (0.8, "yellow"), (0.9, "red")]


def test_panels_take_unit_and_description_from_their_metric(all_panels) -> None:
    latency = _panel(all_panels, "P99 latency")
    assert latency["fieldConfig"]["defaults"]["unit"] == "s"
    assert latency["description"] == "P99 latency"
    assert latency["targets"][0]["expr"] == "service:shop_latency:p99_rate5m"


def test_heatmaps_read_histogram_buckets(all_panels) -> None:
    heatmap = _panel(all_panels, "Latency heatmap")
    [target] = heatmap["targets"]
    assert target["format"] == "heatmap"
    assert target["expr"] == "sum by (le) (rate(shop_latency_bucket[5m]))"
    assert target["legendFormat"] == "{{le}}"
    assert heatmap["options"]["calculate"] is False


def test_every_query_uses_the_datasource_variable(compiled_seed, all_panels) -> None:
    for document in [*_dashboards(compiled_seed).values(), all_panels]:
        [variable] = [v for v in document["templating"]["list"] if v["type"] == "datasource"]
        assert (variable["name"], variable["query"]) == ("datasource", "prometheus")
        for panel in grafana_schema._panels(document):
            if panel["type"] in ("row", "text"):
                continue
            assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
            for target in panel["targets"]:
                assert target["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
                # as Grafana expands its macros and variables before it queries
                assert promql.check(promql.for_dashboards(target["expr"])) is None


def test_template_variables(all_panels) -> None:
    endpoint = next(v for v in all_panels["templating"]["list"] if v["name"] == "endpoint")
    assert endpoint["query"] == "label_values(shop_requests, endpoint)"
    assert (endpoint["multi"], endpoint["includeAll"]) == (True, True)


def test_layout_fills_the_grid_without_overlap(compiled_seed, all_panels) -> None:
    for document in [*_dashboards(compiled_seed).values(), all_panels]:
        cells: set[tuple[int, int]] = set()
        for panel in grafana_schema._panels(document):
            box = panel["gridPos"]
            assert box["x"] + box["w"] <= 24
            area = {
                (x, y)
                for x in range(box["x"], box["x"] + box["w"])
                for y in range(box["y"], box["y"] + box["h"])
            }
            assert not cells & area, panel["title"]
            cells |= area
        ids = [p["id"] for p in grafana_schema._panels(document)]
        assert ids == list(range(1, len(ids) + 1))
        # each line of panels reaches the right edge (the last one stretches to it)
        lines: dict[int, int] = {}
        for panel in document["panels"]:
            box = panel["gridPos"]
            lines[box["y"]] = max(lines.get(box["y"], 0), box["x"] + box["w"])
        assert set(lines.values()) == {24}, lines


def test_collapsed_rows_carry_their_panels(all_panels) -> None:
    details = next(p for p in all_panels["panels"] if p["title"] == "Details")
    assert details["collapsed"] is True
    assert [p["title"] for p in details["panels"]] == ["Top endpoints"]


def test_links_to_the_runbook(compiled_seed) -> None:
    executive = _dashboards(compiled_seed)["grafana/rlm-executive.json"]
    assert executive["links"][0]["url"] == "https://wiki.internal/rlm-runbooks/rlm-hypervisor"
    availability = _panel(executive, "Service Availability (24h)")
    assert (
        availability["links"][0]["url"]
        == "https://wiki.internal/rlm-runbooks/rlm-hypervisor#rlmapiavailabilitylow"
    )


def test_uids_are_the_specs(compiled_seed) -> None:
    """A dashboard's uid (and so its URL in Grafana) is the one its spec gives, nothing
    derived that could change between builds or machines."""
    spec = yaml.safe_load((REPO / "specs" / "rlm-hypervisor.yaml").read_text())
    by_file = {path: d["uid"] for path, d in _dashboards(compiled_seed).items()}
    assert by_file == {
        **{f"grafana/{d['uid']}.json": d["uid"] for d in spec["dashboards"]},
        # and the SLO dashboard's, fixed by the service's name
        f"grafana/{spec['service']['name']}-slos.json": f"{spec['service']['name']}-slos",
    }


def test_provisioning_points_grafana_at_the_folder(compiled_seed) -> None:
    provider = yaml.safe_load(compiled_seed["grafana/provisioning.yaml"])["providers"][0]
    assert provider["type"] == "file"
    assert provider["options"]["path"] == "/var/lib/grafana/dashboards/rlm-hypervisor"
    assert provider["folder"] == "RLM Hypervisor"


def test_the_seed_dashboards_have_every_seed_panel(compiled_seed, seed_runbook: str) -> None:
    seed_types = {"graph": "timeseries", "bar gauge": "bargauge"}
    blocks = [yaml.safe_load(b) for b in re.findall(r"```yaml\n(.*?)```", seed_runbook, re.S)]
    seed = [b["dashboard"] for b in blocks if isinstance(b, dict) and "dashboard" in b]
    assert len(seed) == 3
    ours = {d["title"]: d for d in _dashboards(compiled_seed).values()}
    for board in seed:
        document = ours[board["name"]]
        assert document["refresh"] == board["refresh"]
        panels = {p["title"]: p for p in grafana_schema._panels(document)}
        for panel in board["panels"]:
            assert panels[panel["title"]]["type"] == seed_types.get(panel["type"], panel["type"])


@pytest.mark.parametrize(
    ("features", "buckets", "expr"),
    [
        ("", "", "sum by (le) (rate(shop_latency_bucket[$__rate_interval]))"),
        ("[native-histograms]", "", "sum(rate(shop_latency[$__rate_interval]))"),
        # classic buckets declared: the rules and SLOs read _bucket, so does the heatmap
        (
            "[native-histograms]",
            "    buckets: [0.1, 0.5, 1]\n",
            "sum by (le) (rate(shop_latency_bucket[$__rate_interval]))",
        ),
    ],
)
def test_a_heatmap_of_a_histogram_by_metric_reads_what_prometheus_ingests(
    features: str, buckets: str, expr: str
) -> None:
    text = MINIMAL_SPEC.read_text()
    if features:
        text = text.replace(
            "apiVersion: rlmgen/v1\n",
            f'apiVersion: rlmgen/v1\ntargets: {{prometheus: "2.42", features: {features}}}\n',
        )
    text = text.replace(
        "metrics:\n", f"metrics:\n  - name: shop_latency\n    type: histogram\n{buckets}", 1
    )
    text = text.replace(
        "        metric: shop_latency_p99\n",
        "        metric: shop_latency_p99\n      - title: Buckets\n        type: heatmap\n"
        "        metric: shop_latency\n",
    )
    model = model_of(text)
    [panel] = [p for d in model.dashboards for p in d.panels if p.title == "Buckets"]
    assert [q.expr for q in panel.queries] == [expr]
