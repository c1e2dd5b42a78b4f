"""`rlmgen test`: the generated tests run by their real judges (promtool for the rules,
amtool for the routing), every failure said at the spec line that produced the test."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml

from rlmgen.compiled_dataclasses import dataclass
from rlmgen.derive.rules import AlertRule, Rules, derive_rules
from rlmgen.emit import promtool_tests, slo_tests
from rlmgen.judge import promtool
from rlmgen.judge.explain import explain
from rlmgen.lang.promtool import TestGroup
from rlmgen.lang.versions import Version, shown
from rlmgen.model import types as m
from rlmgen.model.conventions import ALERTMANAGER_PATH, TESTS_PATH, slo_tests_path
from rlmgen.model.routing import copies_for, default_receiver
from rlmgen.pipeline import Compiled
from rlmgen.spec.diagnostics import Diagnostic, sort_key

AMTOOL_TIMEOUT = 60.0


class ToolMissing(Exception):
    """A judge is not installed: nothing can be said about the tests."""


@dataclass(frozen=True)
class Tools:
    promtool: str
    amtool: str

    @classmethod
    def find(cls) -> Tools:
        found = {}
        for name, package in (("promtool", "prometheus"), ("amtool", "prometheus-alertmanager")):
            path = os.environ.get(f"RLMGEN_{name.upper()}") or shutil.which(name)
            if path is None:
                raise ToolMissing(
                    f"{name} is not installed (Debian/Ubuntu: apt-get install {package}; "
                    f"or set RLMGEN_{name.upper()} to its path)"
                )
            found[name] = path
        return cls(**found)


@dataclass(frozen=True)
class Outcome:
    """What the judges said of one unit: its failures located in the spec, and counts."""

    result: Compiled
    diagnostics: tuple[Diagnostic, ...]
    test_groups: int
    routes: int


Job = Callable[[], list[Diagnostic]]


def judge(results: Sequence[Compiled], tools: Tools, jobs: int | None = None) -> list[Outcome]:
    """Run the tests of every unit (all of them valid and built)."""
    with tempfile.TemporaryDirectory(prefix="rlmgen-test-") as directory:
        planned: list[tuple[Compiled, list[Job], int, int]] = []
        for result in results:
            assert result.model is not None  # the caller compiled and built every unit
            unit = Path(directory) / result.unit
            for path, content in result.files.items():
                target = unit / path
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(content)
            rules = derive_rules(result.model)
            tests, groups = _test_jobs(result, rules, unit, tools.promtool)
            routes = _route_jobs(result, rules, unit, tools.amtool)
            planned.append((result, [*tests, *routes], groups, len(routes)))
        with ThreadPoolExecutor(max_workers=jobs or os.cpu_count() or 1) as pool:
            futures = [[pool.submit(job) for job in unit_jobs] for _, unit_jobs, _, _ in planned]
            outcomes = []
            for (result, _, groups, tested), unit_futures in zip(planned, futures, strict=True):
                found = {d for f in unit_futures for d in f.result()}
                if any(d.check == "judge/route-failed" for d in found):
                    config = Path(directory) / result.unit / ALERTMANAGER_PATH
                    if refused := _refused(result, config, tools.amtool):
                        found = {d for d in found if d.check != "judge/route-failed"} | {refused}
                outcomes.append(Outcome(result, tuple(sorted(found, key=sort_key)), groups, tested))
            return outcomes


# --- promtool ------------------------------------------------------------------------------


def _test_jobs(result: Compiled, rules: Rules, unit: Path, tool: str) -> tuple[list[Job], int]:
    """A job per test file, and how many test groups they hold."""
    spec = result.model
    assert spec is not None
    files = {TESTS_PATH: promtool_tests.test_groups(spec, rules)}
    for target in spec.slos:
        files[slo_tests_path(target.name)] = slo_tests.test_groups(spec, rules, target)
    present = {path: groups for path, groups in files.items() if groups and path in result.files}
    jobs = [_promtool_job(result, unit / path, groups, tool) for path, groups in present.items()]
    return jobs, sum(len(groups) for groups in present.values())


def _promtool_job(result: Compiled, test_file: Path, groups: list[TestGroup], tool: str) -> Job:
    def job() -> list[Diagnostic]:
        outcome = promtool.run(tool, test_file)
        if outcome.returncode == 0:
            return []
        assert result.model is not None
        older = _judge_version_hint("promtool", tool, result.model.targets.prometheus, "prometheus")
        # which groups fail: each alone, since promtool does not name every failure
        document = yaml.safe_load(test_file.read_text(encoding="utf-8"))
        found = []
        for index, group in enumerate(groups):
            output = promtool.run_group(tool, test_file, document, index)
            if not output:
                continue
            failures = promtool.failures(output)
            if not failures:
                found.append(_at(result, group.pointer, _unread(test_file, output), ""))
            for failure in failures:
                message, hint = explain(group, failure)
                hint = "; ".join(h for h in (hint, older) if h)
                # a value promtool computes otherwise, or whether the alert fires
                differs = failure.expr or (failure.expected_alerts and failure.got_alerts)
                pointer = _closest(result, group.pointer, "value" if differs else "fires")
                found.append(_at(result, pointer, f"test {group.name!r}: {message}", hint))
        if not found:  # the file fails as a whole (its rules do not load): rlmgen's bug,
            # or a promtool older than the target
            said = _unread(test_file, outcome.stdout + outcome.stderr)
            found.append(_at(result, "", said, older))
        return found

    return job


def _closest(result: Compiled, pointer: str, key: str) -> str:
    """The example's `value` (or `fires`) when the spec writes one, else the example."""
    assert result.spec is not None
    inner = f"{pointer}/{key}"
    return inner if pointer and result.spec.has(inner) else pointer


def _unread(test_file: Path, output: str) -> str:
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    said = "; ".join(lines[:6])
    return f"promtool test rules {test_file.parent.name}/{test_file.name} fails: {said}"


# --- amtool --------------------------------------------------------------------------------


def _route_jobs(result: Compiled, rules: Rules, unit: Path, tool: str) -> list[Job]:
    spec = result.model
    assert spec is not None
    config = unit / ALERTMANAGER_PATH
    if spec.routing is None or ALERTMANAGER_PATH not in result.files:
        return []
    return [_route_job(result, spec.routing, rule, config, tool) for rule in rules.alerts]


def _refused(result: Compiled, config: Path, tool: str) -> Diagnostic | None:
    """Why amtool cannot load the configuration, as one diagnostic (asked only once some
    route failed: a configuration that does not load routes nothing, which would be said
    for every alert), or None when it loads."""
    assert result.model is not None
    loaded = subprocess.run(
        [tool, "check-config", str(config)],
        capture_output=True,
        text=True,
        timeout=AMTOOL_TIMEOUT,
        check=False,
    )
    if loaded.returncode == 0:
        return None
    said = [line.strip() for line in (loaded.stdout + loaded.stderr).splitlines()]
    said = [line.split("FAILED:", 1)[-1].strip() for line in said if line.strip()]
    start = next((i for i, line in enumerate(said) if "error" in line.lower()), 0)
    reason = " ".join(said[start : start + 2])
    target = result.model.targets.alertmanager
    return _at(
        result,
        "/routing",
        f"amtool check-config refuses {ALERTMANAGER_PATH}: {reason}",
        _judge_version_hint("amtool", tool, target, "alertmanager")
        or "this is a bug in rlmgen: please report it with the spec",
        check="judge/route-failed",
    )


def intended_receivers(rule: AlertRule, routing: m.Routing) -> list[str]:
    """Where the spec sends an alert, in Alertmanager's order: the copies of receivers
    that `continue`, then its one receiver."""
    main = rule.receiver or default_receiver(routing)
    copies = [name for name in copies_for(rule.severity, routing, rule.labels) if name != main]
    return [*copies, main]


def _route_job(
    result: Compiled, routing: m.Routing, rule: AlertRule, config: Path, tool: str
) -> Job:
    def job() -> list[Diagnostic]:
        expected = intended_receivers(rule, routing)
        labels = {"alertname": rule.name, **rule.labels}
        outcome = subprocess.run(
            [
                tool,
                "config",
                "routes",
                "test",
                f"--config.file={config}",
                f"--verify.receivers={','.join(expected)}",
                *(f"{name}={value}" for name, value in sorted(labels.items())),
            ],
            capture_output=True,
            text=True,
            timeout=AMTOOL_TIMEOUT,
            check=False,
        )
        if outcome.returncode == 0:
            return []
        routed = outcome.stdout.strip().splitlines()[0] if outcome.stdout.strip() else "nothing"
        return [
            _at(
                result,
                rule.pointer,
                f"amtool routes {rule.name} ({rule.severity}) to {routed}; "
                f"the spec sends it to {', '.join(expected)}",
                "check the receivers' severities and match labels, and the alert's route",
                check="judge/route-failed",
            )
        ]

    return job


def tool_version(tool: str) -> Version | None:
    """The version a judge reports (`promtool, version 2.42.0+ds ...`), None if unread."""
    return _versions.get(tool) if tool in _versions else _versions.setdefault(tool, _read(tool))


_versions: dict[str, Version | None] = {}


def _read(tool: str) -> Version | None:
    try:
        said = subprocess.run(
            [tool, "--version"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r"version (\d+)\.(\d+)", said.stdout + said.stderr)
    return (int(match[1]), int(match[2])) if match else None


def _judge_version_hint(name: str, tool: str, target: Version, key: str) -> str:
    """When the installed judge is older than the version the spec targets: said, since
    it may refuse or compute otherwise what the target accepts."""
    installed = tool_version(tool)
    if installed is None or installed >= target:
        return ""
    return (
        f"the installed {name} is {shown(installed)}, older than targets.{key} "
        f"{shown(target)}: judge the output with {name} {shown(target)} or later"
    )


def _at(
    result: Compiled,
    pointer: str,
    message: str,
    hint: str,
    check: str = "judge/promtool-failed",
) -> Diagnostic:
    assert result.spec is not None
    return result.spec.diagnostic(pointer, message, hint, check=check)
