"""Mutations of the valid specs, judged by the real consumers: durations, levels and
numbers replaced by values from the edges (0s, 1ms, 59s, 1w, 10y, 999999d, 2**31, 100.0,
.nan, ...). Each mutant either gives clean located diagnostics, or builds into output that
promtool (rules and their tests), amtool and kubernetes-validate accept: "validated"
means "works where it is deployed"."""

from __future__ import annotations

import random
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from rlmgen.pipeline import artifacts, compile_texts
from tests.conftest import REPO, require_tool

VALID = REPO / "tests" / "cases" / "valid"
BASES = [VALID / f"{name}.yaml" for name in ("minimal", "checkout-api", "ingest-workers")]
DURATION_KEYS = {
    "for", "baseline", "interval", "evaluationInterval", "scrapeInterval", "groupWait",
    "groupInterval", "repeatInterval", "refresh", "stabilizationWindow", "period", "at",
}  # fmt: skip
LEVEL_KEYS = {"target", "info", "warning", "critical"}
NUMBER_KEYS = {"minReplicas", "maxReplicas", "averageValue", "value", "scaleDownBelow"}
DURATIONS = ["0s", "1ms", "100ms", "59s", "1m", "90s", "1h30m", "1w", "13d", "10y", "999999d"]
LEVELS = [
    "> 0", "> 1e308", "< -1", "> 99.9%", "> 2h30m", "> 500m", "drop > 90%",
    "> 20% increase", "outside 10-90%", "> 0.5", "< 1", "> 1ms",
]  # fmt: skip
NUMBERS: list[Any] = [0, 1, 100.0, 2147483647, 3000000000, -1, float("nan"), float("inf"), 0.5]
MUTANTS = 36


def leaves(data: Any, path: tuple = ()) -> list[tuple[tuple, str]]:
    """(path, kind) of every scalar this fuzz knows how to replace."""
    found = []
    if isinstance(data, dict):
        for key, value in data.items():
            if not isinstance(value, dict | list):
                kind = (
                    "duration" if key in DURATION_KEYS
                    else "level" if key in LEVEL_KEYS
                    else "number" if key in NUMBER_KEYS
                    else None
                )  # fmt: skip
                # an example's at/value are the author's claims about the rule: a mutated
                # claim is false, which the generated test rightly reports
                if kind and "examples" not in path:
                    found.append(((*path, key), kind))
            else:
                found.extend(leaves(value, (*path, key)))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            found.extend(leaves(value, (*path, index)))
    return found


POOLS = {"duration": DURATIONS, "level": LEVELS, "number": NUMBERS}


def mutant(seed: int) -> tuple[str, str, list[str]]:
    rng = random.Random(seed)
    base = BASES[seed % len(BASES)]
    data = yaml.safe_load(base.read_text())
    changes = []
    for path, kind in rng.sample(leaves(data), k=rng.randint(1, 2)):
        parent = data
        for part in path[:-1]:
            parent = parent[part]
        parent[path[-1]] = rng.choice(POOLS[kind])
        changes.append(f"{'/'.join(map(str, path))} = {parent[path[-1]]!r}")
    return base.name, yaml.safe_dump(data, sort_keys=False), changes


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("seed", range(MUTANTS))
def test_a_mutant_is_refused_cleanly_or_accepted_by_every_judge(seed: int, tmp_path: Path) -> None:
    name, text, changes = mutant(seed)
    [result] = compile_texts({name: text})
    for diagnostic in result.diagnostics:
        assert "\n" not in diagnostic.format() and diagnostic.line >= 1, changes
    if result.model is None:
        return
    for relative, data in artifacts(result.model).items():
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_bytes(data)
    promtool, amtool = require_tool("promtool"), require_tool("amtool")
    rules = tmp_path / "prometheus" / "rules.yaml"
    if rules.exists():
        checked = run(promtool, "check", "rules", str(rules))
        assert checked.returncode == 0, (changes, checked.stdout + checked.stderr)
        tested = run(promtool, "test", "rules", str(tmp_path / "prometheus" / "tests.yaml"))
        assert tested.returncode == 0, (changes, tested.stdout[-3000:] + tested.stderr)
    config = tmp_path / "alertmanager" / "alertmanager.yaml"
    if config.exists():
        checked = run(amtool, "check-config", str(config))
        assert checked.returncode == 0, (changes, checked.stdout + checked.stderr)
    for manifest in sorted((tmp_path / "kubernetes").glob("hpa-*.yaml")):
        kubernetes_validate.validate(yaml.safe_load(manifest.read_text()), "1.30.0", strict=True)
