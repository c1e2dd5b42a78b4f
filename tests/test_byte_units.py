"""A metric in bytes reads its values the way its levels count: levels in MB or GB (powers
of 1000) give alert text through humanize (`300MB`) and a `decbytes` panel; levels in MiB,
or bare numbers, humanize1024 (`286.1MiB`) and Grafana's IEC `bytes`. promtool renders the
alert text the generated tests expect."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from rlmgen.pipeline import compile_specs
from tests.conftest import promtool_generated_tests, require_tool

SPEC = """\
apiVersion: rlmgen/v1
service: {name: orders-db, title: Orders DB, namespace: db, team: dba, runbookUrl: "https://wiki/db"}
metrics:
  - name: pg_replication_lag_bytes
    type: gauge
    unit: bytes
    description: Replication lag
    levels: {target: "< 16UNIT", warning: "> 256UNIT", critical: "> 1GIGA"}
dashboards:
  - uid: orders-db
    title: Orders DB
    panels:
      - {title: Lag, type: timeseries, metric: pg_replication_lag_bytes}
"""


@pytest.mark.parametrize(
    ("unit", "giga", "template", "panel_unit", "shown"),
    [
        ("MB", "GB", "{{ $value | humanize }}B", "decbytes", r"is [\d.]+[kMGT]B \("),
        ("MiB", "GiB", "{{ $value | humanize1024 }}B", "bytes", r"is [\d.]+[KMGT]iB \("),
    ],
)
def test_bytes_read_as_the_levels_count(
    tmp_path: Path, unit: str, giga: str, template: str, panel_unit: str, shown: str
) -> None:
    require_tool("promtool")
    spec = tmp_path / "db.yaml"
    spec.write_text(SPEC.replace("GIGA", giga).replace("UNIT", unit))
    [result] = compile_specs([spec], tmp_path / "out")
    assert not result.errors, [d.format() for d in result.errors]
    rules = yaml.safe_load(result.files["prometheus/rules.yaml"])
    descriptions = {r["annotations"]["description"] for g in rules["groups"] for r in g["rules"]}
    assert descriptions == {
        f"pg_replication_lag_bytes is {template} (warning level: > 256{unit}; target: < 16{unit}).",
        f"pg_replication_lag_bytes is {template} (critical level: > 1{giga}; target: < 16{unit}).",
    }
    [dashboard] = [v for k, v in result.files.items() if k.startswith("grafana/orders-db")]
    [panel] = json.loads(dashboard)["panels"]
    assert panel["fieldConfig"]["defaults"]["unit"] == panel_unit
    # the generated level tests expect the text Prometheus renders, in the levels' units
    tests = yaml.safe_load(result.files["prometheus/tests.yaml"])
    expected = [
        a["exp_annotations"]["description"]
        for t in tests["tests"]
        for case in t.get("alert_rule_test", [])
        for a in case.get("exp_alerts", [])
    ]
    assert expected and all(re.search(shown, text) for text in expected), expected
    assert promtool_generated_tests(tmp_path, result.files) == ""
