"""Hostile text in every string field of the spec language: each field of the schema,
filled with line breaks, markup, YAML, shell and template syntax, either is refused with
located diagnostics, or builds into artifacts that their real parsers read with the
same structure as before (YAML, JSON, Markdown by markdown-it, shell by `bash -n`):
the text appears only as text."""

from __future__ import annotations

import collections
import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from markdown_it import MarkdownIt

from rlmgen.lang import promtemplate
from rlmgen.pipeline import artifacts, compile_texts
from rlmgen.spec.schema import schema
from tests.conftest import REPO, SEED_SPEC, SEED_TEXT, require_tool

MARK = "HOSTILE"
PAYLOADS = {
    "text": (
        f"\n# {MARK} heading\n===\n---\n- item\n1. item\n> quote\n    code\n"
        f" --> <b>{MARK}</b> <!-- `tick` *star* _u_ [link](javascript:x) |pipe| &amp;"
        f"\n{MARK}: {{a: [b]}} &anchor *alias 'single' \"double\" \\ #comment"
        f"\n$(touch /tmp/{MARK}) ; rm -rf {MARK} %s %% \u2028{MARK}\u0085{MARK}\t\r\n"
    ),
    "template": f' {{{{ 7*7 }}}} {{{{ with query "up" }}}}{MARK}{{{{ end }}}} {{{{ .Value ',
}


class _Seed:
    """The seed spec as one file (its base: no fragment, no environments)."""

    name = SEED_SPEC.name

    @staticmethod
    def read_text() -> str:
        return SEED_TEXT


BASES = [
    REPO / "tests" / "cases" / "valid" / "minimal.yaml",
    REPO / "tests" / "cases" / "valid" / "checkout-api.yaml",
    REPO / "tests" / "cases" / "valid" / "ingest-workers.yaml",
    REPO / "tests" / "cases" / "valid" / "all-panels.yaml",
    _Seed,
]
# Fields that are code by design (PromQL, shell, promtool notation): hostile text there is
# the author's code; the artifacts must still parse, but it may appear as code.
CODE_FIELD = re.compile(
    r"/(expr|query|limit|series|values|run|script|commands/#|commands/#/run|step|legend)$"
)
# String fields of the schema no shipped or valid spec uses yet (so none is mutated here).
NOT_COVERED = {
    "/include/#",  # a path: hostile text names no file (an error at the include)
    "/metrics/#/alert/critical/labels/*",
    "/metrics/#/alert/info/for",
    "/metrics/#/alert/info/labels/*",
    "/autoscaling/#/metrics/#/object/apiVersion",
    "/autoscaling/#/metrics/#/object/kind",
    "/autoscaling/#/metrics/#/object/metric",
    "/autoscaling/#/metrics/#/object/name",
    "/autoscaling/#/metrics/#/value",
    "/dashboards/#/panels/#/description",
    "/dashboards/#/panels/#/queries/#/expr",
    "/dashboards/#/panels/#/queries/#/legend",
    "/metrics/#/examples/#/interval",
    "/metrics/#/examples/#/labels/*",
    "/metrics/#/examples/#/name",
    "/routing/receivers/#/webhook/urlFile",  # needs Alertmanager 0.26; CI judges with 0.25
    "/health/prometheusUrl",  # a URL the schema's pattern checks; written to no file
    # the seed's daily check runs `rlmgen health` now; `run` is fenced as `script` is
    "/runbook/scheduledChecks/#/run",
}


def schema_string_fields() -> set[str]:
    """Every path of the schema (`#` for a list item, `*` for a map value) that holds text."""
    root = schema()
    definitions = root.get("$defs", {})
    found: set[str] = set()

    def walk(node: dict[str, Any], path: str, depth: int) -> None:
        while "$ref" in node:
            node = definitions[node["$ref"].rsplit("/", 1)[-1]]
        if depth > 40:
            return
        for key in ("oneOf", "anyOf", "allOf"):
            for sub in node.get(key, []):
                walk(sub, path, depth + 1)
        types = node.get("type")
        if "string" in (types if isinstance(types, list) else [types]):
            found.add(path)
        for key, sub in node.get("properties", {}).items():
            walk(sub, f"{path}/{key}", depth + 1)
        if isinstance(node.get("additionalProperties"), dict):
            walk(node["additionalProperties"], f"{path}/*", depth + 1)
        if isinstance(node.get("items"), dict):
            walk(node["items"], f"{path}/#", depth + 1)

    walk(root, "", 0)
    return found


def string_leaves(data: Any, path: tuple = ()) -> Iterator[tuple[tuple, str]]:
    if isinstance(data, dict):
        for key, value in data.items():
            yield from string_leaves(value, (*path, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from string_leaves(value, (*path, index))
    elif isinstance(data, str):
        yield path, data


def schema_path(path: tuple, fields: set[str]) -> str | None:
    """The schema field a document path fills (map keys may be any name: `*`)."""
    candidates = [""]
    for part in path:
        step = ["/#"] if isinstance(part, int) else [f"/{part}", "/*"]
        candidates = [c + s for c in candidates for s in step]
    return next((c for c in candidates if c in fields), None)


def one_leaf_per_field() -> dict[str, tuple[Path, tuple]]:
    """For each schema string field, the first base (smallest first) and path filling it."""
    fields = schema_string_fields()
    chosen: dict[str, tuple[Path, tuple]] = {}
    for base in BASES:
        data = yaml.safe_load(base.read_text())
        for path, _ in string_leaves(data):
            field = schema_path(path, fields)
            if field is not None and field not in chosen:
                chosen[field] = (base, path)
    return chosen


LEAVES = one_leaf_per_field()


def test_every_string_field_of_the_schema_is_mutated_here() -> None:
    assert set(schema_string_fields()) - set(LEAVES) == NOT_COVERED


def shape(value: Any, path: str = "") -> set[str]:
    """The key paths of a parsed document: what hostile text must not change."""
    if isinstance(value, dict):
        found = {path}
        for key, sub in value.items():
            found |= shape(sub, f"{path}/{key}")
        return found
    if isinstance(value, list):
        found = {path}
        for index, sub in enumerate(value):
            found |= shape(sub, f"{path}/{index}")
        return found
    return {path}


MARKDOWN = MarkdownIt("commonmark").enable("table")
STRUCTURE = {
    "heading_open", "html_block", "html_inline", "hr", "fence", "code_block", "link_open",
    "table_open", "bullet_list_open", "ordered_list_open", "blockquote_open", "tr_open",
}  # fmt: skip


def markdown_structure(text: str) -> collections.Counter[str]:
    counts: collections.Counter[str] = collections.Counter()
    for token in MARKDOWN.parse(text):
        for t in [token, *(token.children or [])]:
            if t.type in STRUCTURE:
                counts[t.type] += 1
    return counts


def structure(path: str, data: bytes) -> Any:
    text = data.decode()
    if path.endswith((".yaml", ".yml")) or path.endswith("manifest"):
        return shape(list(yaml.safe_load_all(text))) if not path.endswith("manifest") else None
    if path.endswith(".json"):
        return shape(json.loads(text))
    if path.endswith(".md"):
        return markdown_structure(text)
    if path.endswith(".sh"):
        checked = subprocess.run(["bash", "-n"], input=text, capture_output=True, text=True)
        linted = subprocess.run(  # errors only: the author's style is theirs
            [SHELLCHECK, "--severity=error", "--shell=bash", "-"],
            input=text,
            capture_output=True,
            text=True,
        )
        return checked.returncode, checked.stderr, linted.returncode
    raise AssertionError(f"no parser for {path}")


SHELLCHECK = shutil.which("shellcheck") or "true"  # required in CI (test below)
BASELINES: dict[Path, dict[str, Any]] = {}


def test_shellcheck_judges_the_scripts_here() -> None:
    require_tool("shellcheck")


def baseline(base: Path) -> dict[str, Any]:
    if base not in BASELINES:
        (result,) = compile_texts({base.name: base.read_text()})
        assert result.model is not None, result.diagnostics
        BASELINES[base] = {p: structure(p, d) for p, d in artifacts(result.model).items()}
    return BASELINES[base]


def mutate(data: Any, path: tuple, payload: str) -> None:
    for part in path[:-1]:
        data = data[part]
    data[path[-1]] = data[path[-1]] + payload


@pytest.mark.parametrize("payload", sorted(PAYLOADS))
@pytest.mark.parametrize("field", sorted(LEAVES))
def test_hostile_text_is_refused_or_stays_text(field: str, payload: str) -> None:
    base, path = LEAVES[field]
    data = yaml.safe_load(base.read_text())
    mutate(data, path, PAYLOADS[payload])
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=False)
    (result,) = compile_texts({base.name: text})  # never raises
    if result.errors:
        for diagnostic in result.errors:  # located, one line
            assert diagnostic.line >= 1 and "\n" not in diagnostic.format()
        return
    assert result.model is not None
    expected = baseline(base)
    code = CODE_FIELD.search(field) is not None
    for name, content in artifacts(result.model).items():
        found = structure(name, content)
        if name.endswith(".sh") and code:
            continue  # the author's shell, as written
        assert found == expected[name], f"{field} changed the structure of {name}"
        if name.endswith(".sh"):
            for line in content.decode().splitlines():
                assert MARK not in line or line.lstrip().startswith("#"), line
        if name == "prometheus/rules.yaml":
            assert_no_template_code(yaml.safe_load(content))
        if name == "alertmanager/alertmanager.yaml":
            assert_no_notification_template(yaml.safe_load(content))


# The fields of Alertmanager's receivers it expands as templates, that rlmgen fills.
TEMPLATED = {"slack_configs": ("channel",), "email_configs": ("to", "from")}


def assert_no_notification_template(config: dict[str, Any]) -> None:
    for receiver in config["receivers"]:
        for kind, fields in TEMPLATED.items():
            for entry in receiver.get(kind, []):
                for field in fields:
                    assert "{{" not in entry.get(field, ""), entry


def assert_no_template_code(rules: dict[str, Any]) -> None:
    """Label values carry no template action at all; annotations only the actions
    rlmgen renders itself (values, labels, humanize..., printf), never `query`."""
    for group in rules["groups"]:
        for rule in group["rules"]:
            for value in rule.get("labels", {}).values():
                assert "{{" not in value, value
            for value in rule.get("annotations", {}).values():
                promtemplate.check(value)
