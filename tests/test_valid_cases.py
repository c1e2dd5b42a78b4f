"""Every spec under tests/cases/valid/ (realistic services unlike the seed among them)
builds, and every artifact passes its real consumer: promtool (rules and their tests),
amtool (the configuration, and each alert routed to the receiver it names),
kubernetes-validate (strict), Grafana 11.6's schemas, and a markdown renderer for the
runbook's links."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from rlmgen.pipeline import compile_specs, discover, outputs
from tests import grafana_schema, markdown_text
from tests.conftest import REPO, SEED_ENVIRONMENT, require_tool

TESTS = "prometheus/tests.yaml"

VALID = sorted((REPO / "tests" / "cases" / "valid").glob("*.yaml"))
# every environment of every shipped spec is judged the same way
SHIPPED = [r.unit for r in compile_specs(discover(REPO / "specs"), REPO / "out", generate=False)]
IDS = [p.stem for p in VALID]


@pytest.fixture(scope="module")
def shipped(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped specs built into a scratch out/ (every environment)."""
    root = tmp_path_factory.mktemp("shipped")
    results = compile_specs(discover(REPO / "specs"), root / "out")
    assert not [d for r in results for d in r.errors]
    for unit, files in outputs(results).items():
        for relative, data in files.items():
            path = root / "out" / unit / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
    _prefetch(root / "out")
    return root / "out"


# the shipped units first: their promtool runs start in the background while the rest runs
@pytest.fixture(scope="module", params=[*SHIPPED, *VALID], ids=[*SHIPPED, *IDS])
def built(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    if isinstance(request.param, str):
        return request.getfixturevalue("shipped") / request.param
    root = tmp_path_factory.mktemp(request.param.stem)
    [result] = compile_specs([request.param], root / "out")
    assert not result.errors, [d.format() for d in result.errors]
    for relative, data in result.files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True)


# `promtool test rules` is most of this module's time: the runs of the shipped units start
# together when they are built (a core each), and tests whose files are the same bytes as
# one already run (the generated header aside: a valid case and the shipped spec made from
# it) share its result.
_POOL = ThreadPoolExecutor(max_workers=os.cpu_count() or 2)
_RUNS: dict[str, Future[subprocess.CompletedProcess[str]]] = {}


@pytest.fixture(scope="module", autouse=True)
def _pool_stopped_after_the_module() -> Iterator[None]:
    """The pool's threads end with the module: a build forks only where no other thread
    runs (tests of the fork that run later would find it refused)."""
    yield
    _POOL.shutdown(wait=True)


def _content_key(tests: Path) -> str:
    """The test file and the rule files it loads, without their generated headers."""
    digest = hashlib.sha256()
    loaded = yaml.safe_load(tests.read_text()).get("rule_files", [])
    for path in [tests, *(tests.parent / name for name in loaded)]:
        text = path.read_text()
        digest.update(text.split("\n", 1)[1].encode() if text.startswith("#") else text.encode())
    return digest.hexdigest()


# tests/test_prometheus_rules.py runs the seed's production tests (the same bytes, checked
# below), split over both cores
SEED_TESTS_ELSEWHERE = f"{SEED_ENVIRONMENT}/rlm-hypervisor"


def _promtool_test(promtool: str, tests: Path) -> Future[subprocess.CompletedProcess[str]]:
    key = _content_key(tests)
    if key not in _RUNS:
        _RUNS[key] = _POOL.submit(_run, promtool, "test", "rules", str(tests))
    return _RUNS[key]


def _prefetch(out: Path) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        return  # each test says so itself
    for tests in sorted(out.glob("*/*/prometheus/*tests.yaml")):
        if tests != out / SEED_TESTS_ELSEWHERE / "prometheus" / "tests.yaml":
            _promtool_test(promtool, tests)


def test_there_are_specs_unlike_the_seed() -> None:
    assert {"checkout-api", "ingest-workers"} <= set(IDS)


def test_promtool_accepts_the_rules_and_their_tests_pass(
    built: Path, request: pytest.FixtureRequest
) -> None:
    promtool = require_tool("promtool")
    rules = built / "prometheus" / "rules.yaml"
    if not rules.exists():
        pytest.skip("this spec has no rules")
    checked = _run(promtool, "check", "rules", str(rules))
    assert checked.returncode == 0 and "warning" not in checked.stdout.lower(), checked.stdout
    tests = built / "prometheus" / "tests.yaml"
    if built.as_posix().endswith(SEED_TESTS_ELSEWHERE):
        seed = request.getfixturevalue("compiled_seed")[TESTS]
        assert tests.read_bytes().split(b"\n", 1)[1] == seed.split(b"\n", 1)[1]  # header aside
        pytest.skip("the same tests as test_prometheus_rules.py::test_promtool_unit_tests_pass")
    run = _promtool_test(promtool, tests).result()
    assert run.returncode == 0, run.stdout + run.stderr


def _slo_rule_files(built: Path) -> list[Path]:
    return sorted(
        p for p in (built / "prometheus").glob("slo-*.yaml") if not p.name.endswith(".tests.yaml")
    )


def test_promtool_accepts_the_slo_rules_and_their_scenarios_pass(built: Path) -> None:
    promtool = require_tool("promtool")
    rule_files = _slo_rule_files(built)
    if not rule_files:
        pytest.skip("this spec has no SLOs")
    for rules in rule_files:
        checked = _run(promtool, "check", "rules", str(rules))
        assert checked.returncode == 0 and "warning" not in checked.stdout.lower(), checked.stdout
        tests = rules.with_name(rules.name.replace(".yaml", ".tests.yaml"))
        if tests.exists():  # a raw SLI has no scenarios
            run = _promtool_test(promtool, tests).result()
            assert run.returncode == 0, run.stdout[-3000:] + run.stderr


def test_amtool_accepts_the_configuration_and_routes_every_alert(built: Path) -> None:
    amtool = require_tool("amtool")
    config = built / "alertmanager" / "alertmanager.yaml"
    if not config.exists():
        pytest.skip("this spec has no routing")
    checked = _run(amtool, "check-config", str(config))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    groups = [
        group
        for path in [built / "prometheus" / "rules.yaml", *_slo_rule_files(built)]
        if path.exists()
        for group in yaml.safe_load(path.read_text())["groups"]
    ]
    alerts = [r for g in groups for r in g["rules"] if "alert" in r]
    assert alerts
    tree = yaml.safe_load(config.read_text())["route"]["routes"]
    copies = [r for r in tree if r.get("continue")]
    # the label the routes match each alert's receiver by (routing.routeLabel, default route)
    route_label = next(
        m.split("=", 1)[0]
        for r in tree
        if not r.get("continue")
        for m in r["matchers"]
        if m.endswith(f'="{r["receiver"]}"')
    )
    for alert in alerts:
        labels = {"alertname": alert["alert"], **alert["labels"]}
        # receivers with `continue` take a copy of what they match, before the route label's
        copied = [r["receiver"] for r in copies if _matches(r["matchers"], labels)]
        routed = _run(
            amtool,
            "config",
            "routes",
            "test",
            f"--config.file={config}",
            f"--verify.receivers={','.join([*copied, labels[route_label]])}",
            *(f"{k}={v}" for k, v in sorted(labels.items())),
        )
        assert routed.returncode == 0, (alert["alert"], routed.stdout + routed.stderr)


def _matches(matchers: list[str], labels: dict[str, str]) -> bool:
    """Alertmanager's `name="value"` and `name=~"regex"` matchers (all rlmgen writes)."""
    for matcher in matchers:
        name, regex, value = re.fullmatch(r'(\w+)(=~?)"(.*)"', matcher).groups()  # type: ignore[union-attr]
        if regex == "=~":
            if not re.fullmatch(value, labels.get(name, "")):
                return False
        elif labels.get(name, "") != value:
            return False
    return True


def test_kubernetes_manifests_validate_strictly(built: Path) -> None:
    manifests = [
        yaml.safe_load(p.read_text()) for p in sorted((built / "kubernetes").glob("*.yaml"))
    ]
    core = [m for m in manifests if not m["apiVersion"].startswith("monitoring.coreos.com/")]
    if not core:
        pytest.skip("this spec has no autoscaling")
    for manifest in core:
        kubernetes_validate.validate(manifest, "1.30.0", strict=True)  # raises on a problem


def test_dashboards_validate_against_grafanas_schemas(built: Path) -> None:
    boards = sorted((built / "grafana").glob("*.json"))
    if not boards:
        pytest.skip("this spec has no dashboards")
    for board in boards:
        assert grafana_schema.problems(grafana_schema.load(board)) == [], board.name


def test_every_runbook_link_lands(built: Path) -> None:
    document = (built / "runbook" / "README.md").read_text()
    headings = {anchor: title for _, title, anchor in markdown_text.outline(document)}
    for text, href in markdown_text.labelled_links(document):
        if href.startswith("#"):
            assert headings.get(href[1:]) == text, (text, href)
        elif href.startswith("../"):
            assert (built / href[3:]).is_file(), href
