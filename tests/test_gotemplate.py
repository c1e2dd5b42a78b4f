"""rlmgen's reading of Go template syntax in annotations, judged by promtool: for each
template, rlmgen refuses it exactly when `promtool check rules` refuses a rule that
carries it."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from rlmgen.lang import gotemplate
from tests.conftest import require_tool

TEMPLATES = [
    "plain text",
    "a lone }} is text",
    "{{ $value }}",
    "{{ $value | humanize }} and {{ $labels.job }}",
    "{{- $value -}}",
    '{{ printf "%.2f" $value }}',
    '{{ "{{" }} literal',
    '{{ with query "up" }}{{ . | first | value }}{{ end }}',
    '{{ range $i, $s := query "up" }}{{ $s.Labels.job }} {{ end }}',
    "{{ if gt $value 1.0 }}big{{ else }}small{{ end }}",
    "{{ if gt $value 1.0 }}big{{ else if lt $value 0.5 }}tiny{{ end }}",
    "{{/* a comment */}}x",
    '{{ define "x" }}X{{ end }}{{ template "x" }}',
    "{{ $v := $value }}{{ $v }}",
    "{{ -3 }}",
    "{{ }}",
    "{{-$value}}",
    "{{ $value",
    "{{ if }}x{{ end }}",
    "{{ if $value }}x",
    "{{ end }}",
    "{{ $labels.job | nosuchfn }}",
    "{{ $value | }}",
    "{{ else }}",
    "{{ (humanize $value }}",
    "{{ $value ; }}",
]


def promtool_accepts(promtool: str, template: str, tmp_path: Path) -> bool:
    rule = {"alert": "A", "expr": "up == 0", "annotations": {"summary": template}}
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "g", "rules": [rule]}]}))
    run = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True)
    return run.returncode == 0


@pytest.mark.parametrize("template", TEMPLATES)
def test_rlmgen_refuses_what_promtool_refuses(template: str, tmp_path: Path) -> None:
    promtool = require_tool("promtool")
    problem = gotemplate.check(template)
    assert (problem is None) == promtool_accepts(promtool, template, tmp_path), problem


def test_a_template_never_defined_is_refused_though_promtool_parses_it(tmp_path: Path) -> None:
    """promtool only parses; Prometheus fails the expansion on every firing."""
    promtool = require_tool("promtool")
    template = '{{ template "x" }}'
    assert promtool_accepts(promtool, template, tmp_path)
    problem = gotemplate.check(template)
    assert problem is not None and problem.message == "template 'x' is not defined in this text"
