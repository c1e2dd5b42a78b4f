"""The layout keeps its promises (docs/architecture.md): imports go down the stages and
never in a cycle, no emitter imports another, and a build reads each value of the spec
once (levels and PromQL are parsed once, in the compile walk)."""

from __future__ import annotations

import ast
import functools
import os
import subprocess
import sys
from pathlib import Path

import promql_parser
import pytest
import yaml

from rlmgen.lang import levels, promql
from rlmgen.pipeline import artifacts, compile_texts
from tests.conftest import REPO, SEED_TEXT

PACKAGE = REPO / "rlmgen"
# Each stage may import its own modules and those of the stages before it.
STAGES = (
    "spec",
    "lang",
    "output",
    "model",
    "derive",
    "emit",
    "pipeline",
    "review",
    "live",
    "judge",
    "cli",
)


def _module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@functools.cache
def _graph() -> dict[str, set[str]]:
    """rlmgen module -> the rlmgen modules it imports, anywhere in its body."""
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        imported: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for alias in node.names:
                    full = f"{node.module}.{alias.name}"
                    imported.add(full if full in modules else node.module)
            elif isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
        graph[name] = {m for m in imported if m in modules and m != name}
    return graph


def _stage(module: str) -> str | None:
    """The stage a module belongs to (None: the package's own __init__ and __main__)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in STAGES else None


def test_the_graph_is_read() -> None:
    graph = _graph()
    assert "rlmgen.model.compile" in graph and "rlmgen.emit.runbook" in graph
    assert "rlmgen.model.outline" in graph["rlmgen.emit.runbook"]


def test_imports_have_no_cycle() -> None:
    graph, done, path = _graph(), set(), []

    def visit(module: str) -> None:
        if module in path:
            pytest.fail("import cycle: " + " -> ".join([*path[path.index(module) :], module]))
        if module in done:
            return
        path.append(module)
        for imported in sorted(graph[module]):
            visit(imported)
        path.pop()
        done.add(module)

    for module in sorted(graph):
        visit(module)


def test_imports_go_down_the_stages() -> None:
    upward = []
    for module, imported in _graph().items():
        here = _stage(module)
        for other in imported:
            there = _stage(other)
            if here and there and STAGES.index(there) > STAGES.index(here):
                upward.append(f"{module} imports {other}")
    assert upward == []


def test_no_emitter_imports_another() -> None:
    def emitter(module: str) -> str | None:
        parts = module.split(".")
        return parts[2] if len(parts) > 2 and parts[1] == "emit" else None

    crossing = [
        f"{module} imports {other}"
        for module, imported in _graph().items()
        if emitter(module)
        for other in imported
        if emitter(other) and emitter(other) != emitter(module)
    ]
    assert crossing == []


def _level_values(document: dict) -> int:  # type: ignore[type-arg]
    keys = ("target", "info", "warning", "critical")
    return sum(key in m.get("levels", {}) for m in document["metrics"] for key in keys)


def _promql_values(document: dict) -> int:  # type: ignore[type-arg]
    """Every PromQL text of the spec: metric expr and limit, alert expr, panel queries,
    example input selectors."""
    count = 0
    for metric in document["metrics"]:
        count += ("expr" in metric) + ("limit" in metric)
        count += sum(len(e["series"]) for e in metric.get("examples", []))
    for group in document["alertGroups"]:
        for alert in group["alerts"]:
            count += 1 + sum(len(e["series"]) for e in alert.get("examples", []))
    for board in document["dashboards"]:
        panels = board.get("panels", []) + [p for r in board.get("rows", []) for p in r["panels"]]
        count += sum(("query" in p) + len(p.get("queries", [])) for p in panels)
    for target in document.get("slos", []):
        sli = target["sli"]
        count += len(sli.get("events", {})) + ("raw" in sli)
    return count


def test_a_build_parses_each_level_and_each_promql_text_once(
    monkeypatch: pytest.MonkeyPatch, in_repo: Path
) -> None:
    calls = {"levels": 0, "promql": 0}
    parse_level, parse_promql = levels.parse_level, promql_parser.parse
    # each value once by the walk, none again by the emitters: counted without the cache
    # that shares equal texts (tested in test_promql)
    monkeypatch.setattr(promql, "_analysed", promql._analysed.__wrapped__)

    def counting_level(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls["levels"] += 1
        return parse_level(*args, **kwargs)

    def counting_promql(expr: str):  # type: ignore[no-untyped-def]
        calls["promql"] += 1
        return parse_promql(expr)

    monkeypatch.setattr(levels, "parse_level", counting_level)
    monkeypatch.setattr(promql_parser, "parse", counting_promql)  # the library's own
    [result] = compile_texts({"specs/rlm-hypervisor.yaml": SEED_TEXT})
    assert result.model is not None and not result.errors
    assert artifacts(result.model)  # emitting parses nothing again
    document = yaml.safe_load(SEED_TEXT)
    assert calls == {"levels": _level_values(document), "promql": _promql_values(document)}
    assert calls["levels"] > 20 and calls["promql"] > 30


# What `validate` has no use for: writing files, templates, dashboards, processes.
NOT_FOR_VALIDATE = (
    "rlmgen.output.writer",
    "rlmgen.emit",
    "jinja2",
    "grafana_foundation_sdk.builders",
    "multiprocessing",
    "importlib.metadata",
)


def test_validate_imports_nothing_it_does_not_use() -> None:
    """Start-up is mostly imports: `rlmgen validate` of a valid spec (cache off) loads no
    module of the writer, the emitters or the templates."""
    script = (
        "import sys\n"
        "from rlmgen.cli import run\n"
        "sys.argv = ['rlmgen', '-q', 'validate', sys.argv[1]]\n"
        "try:\n    run()\n"
        "finally:\n    print(' '.join(sorted(sys.modules)), file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(REPO / "specs" / "rlm-hypervisor.yaml")],
        capture_output=True,
        text=True,
        env={**os.environ, "RLMGEN_CACHE": "0"},
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    loaded = done.stderr.split()
    assert "rlmgen.model.types" in loaded  # what it does use
    unused = [m for m in loaded if any(m == n or m.startswith(f"{n}.") for n in NOT_FOR_VALIDATE)]
    assert unused == []
