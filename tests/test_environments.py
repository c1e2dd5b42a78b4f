"""Environments and includes: overlays change exactly what they name, production stays
byte-identical, fragments are not specs, the out/ layout nests environments, and the
environment comparison of `rlmgen diff` reports what an overlay changes."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path
from types import MappingProxyType

import pytest
import yaml
from click.testing import CliRunner

from rlmgen.cli import cli
from rlmgen.pipeline import compile_specs, compile_texts, discover, outputs
from tests.conftest import REPO

SPECS = REPO / "specs"
EMPTY_OUT: list[str] = []  # what a build leaves in OUT when no spec produces anything


def _platform(root: Path) -> Path:
    """A copy of the shipped specs/ under `root`."""
    shutil.copytree(SPECS, root / "specs")
    return root / "specs"


def _build(specs: Path, out: Path) -> dict[str, dict[str, bytes]]:
    results = compile_specs(discover(specs), out)
    assert not [d for r in results for d in r.errors], [
        d.format() for r in results for d in r.errors
    ]
    return outputs(results)


def _changed(old: dict[str, bytes], new: dict[str, bytes]) -> set[str]:
    return {path for path in old.keys() | new.keys() if old.get(path) != new.get(path)}


def test_a_staging_threshold_changes_exactly_its_alert_test_panel_and_runbook_row(
    tmp_path: Path,
) -> None:
    specs = _platform(tmp_path)
    before = _build(specs, tmp_path / "out")
    spec = specs / "rlm-hypervisor.yaml"
    text = spec.read_text()
    overlay = "  staging:\n    service:\n      namespace: rlm-staging\n    metrics:\n"
    assert overlay in text
    spec.write_text(
        text.replace(
            overlay,
            overlay + '      - name: rlm_active_agents\n        levels: {warning: "> 85%"}\n',
        )
    )
    after = _build(specs, tmp_path / "out")
    assert before.keys() == after.keys()
    changed_units = {unit for unit in before if before[unit] != after[unit]}
    # production, its cluster files and checkout-api: byte for byte the same
    assert changed_units == {"staging/rlm-hypervisor", "staging/_cluster"}
    unit = "staging/rlm-hypervisor"
    assert _changed(before[unit], after[unit]) == {
        "prometheus/rules.yaml",  # the warning alert
        "kubernetes/prometheusrule.yaml",  # the same rules for the Operator
        "prometheus/tests.yaml",  # its scenarios
        "grafana/rlm-capacity.json",  # the panel's threshold colours
        "runbook/README.md",  # the metric's row
    }
    # the cluster: only the ConfigMap that carries the same dashboard for the sidecar
    assert _changed(before["staging/_cluster"], after["staging/_cluster"]) == {
        "kubernetes/dashboards/rlm-hypervisor-rlm-capacity.yaml"
    }
    rules = after[unit]["prometheus/rules.yaml"].decode()
    old_rules = before[unit]["prometheus/rules.yaml"].decode()
    condition = "rlm_active_agents / rlm_max_agents > {}\n"
    assert condition.format("0.85") in rules and condition.format("0.8") not in rules
    assert condition.format("0.8") in old_rules
    runbook = after[unit]["runbook/README.md"].decode()
    assert "> 85%" in runbook
    board = after[unit]["grafana/rlm-capacity.json"].decode()
    assert '"value": 0.85' in board


def test_without_environments_the_layout_is_out_service(tmp_path: Path) -> None:
    spec = REPO / "tests" / "cases" / "valid" / "checkout-api.yaml"
    results = compile_specs([spec], tmp_path / "out")
    assert [r.unit for r in results] == ["checkout-api"]
    assert set(outputs(results)) == {"checkout-api"}  # no cluster outputs either


def test_fragments_are_not_specs_and_errors_point_into_them(tmp_path: Path) -> None:
    specs = _platform(tmp_path)
    results = compile_specs(discover(specs), tmp_path / "out", generate=False)
    assert sorted({r.display for r in results}) == sorted(
        str(p) for p in (specs / "checkout-api.yaml", specs / "rlm-hypervisor.yaml")
    )
    fragment = specs / "shared" / "platform.yaml"
    fragment.write_text(
        fragment.read_text().replace("namespace: monitoring\n", "namespace: Mon\n", 1)
    )
    results = compile_specs(discover(specs), tmp_path / "out", generate=False)
    errors = [d.format() for r in results for d in r.errors]
    # in the fragment that holds it; found by each spec, not once per environment
    line = (
        f"{fragment}:12:16: /platform/prometheusAdapter/namespace: 'Mon': use lowercase "
        "letters, digits and '-' (at most 63, no leading or trailing '-') "
        "(hint: did you mean 'mon'?) [schema/pattern]"
    )
    assert errors == [line] * 2
    shown = CliRunner().invoke(cli, ["validate", str(specs)])
    assert shown.exit_code == 1 and shown.stdout == line + "\n"  # shown once


def test_specs_of_an_environment_must_agree_on_the_platform(tmp_path: Path) -> None:
    specs = _platform(tmp_path)
    spec = specs / "rlm-hypervisor.yaml"
    text = spec.read_text()
    spec.write_text(
        text.replace(
            "include: [shared/platform.yaml]",
            "platform:\n  prometheusAdapter: {namespace: adapter}\ninclude: [shared/platform.yaml]",
        )
    )
    results = compile_specs(discover(specs), tmp_path / "out", generate=False)
    errors = [d.format() for r in results for d in r.errors]
    reference = specs / "checkout-api.yaml"
    # both environments disagree: said once, with both values
    assert errors == [
        f"{spec}:8:34: /platform/prometheusAdapter/namespace: 'adapter' here, 'monitoring' "
        f"in {reference}; the cluster of an environment runs one of it (hint: give every "
        "spec of the environment the same settings (include one shared fragment)) "
        "[platform/mismatch]"
    ]
    # only staging disagrees: named
    staging = "  staging:\n    service:\n      namespace: rlm-staging\n"
    spec.write_text(
        text.replace(
            staging, staging + "    platform:\n      prometheusAdapter: {configMap: adapter}\n"
        )
    )
    results = compile_specs(discover(specs), tmp_path / "out", generate=False)
    [error] = [d for r in results for d in r.errors]
    assert error.message.startswith(
        "in environment 'staging': 'adapter' here, 'prometheus-adapter' in "
    )
    assert error.file == str(spec) and error.pointer.startswith("/environments/staging/")


def test_dashboard_uids_are_unique_per_environment(tmp_path: Path) -> None:
    specs = _platform(tmp_path)
    spec = specs / "checkout-api.yaml"
    spec.write_text(spec.read_text().replace("uid: checkout-overview", "uid: rlm-executive"))
    results = compile_specs(discover(specs), tmp_path / "out", generate=False)
    errors = [d for r in results for d in r.errors]
    assert [e.message for e in errors] == [
        f"dashboard uid 'rlm-executive' is also used by {specs / 'checkout-api.yaml'}"
    ]
    assert errors[0].file == str(specs / "rlm-hypervisor.yaml")
    assert all(r.model is None for r in results if r.service == "rlm-hypervisor")


def test_a_service_two_specs_define_in_every_environment_is_said_once(tmp_path: Path) -> None:
    specs = _platform(tmp_path)
    shutil.copy(specs / "rlm-hypervisor.yaml", specs / "copy.yaml")
    results = compile_specs(discover(specs), tmp_path / "out", generate=False)
    assert [d.format() for r in results for d in r.diagnostics] == [
        f"{specs / 'rlm-hypervisor.yaml'}:10:9: /service/name: service 'rlm-hypervisor' is "
        f"also defined by {specs / 'copy.yaml'} (hint: each service compiles into "
        "out/<service>: give every spec its own name) [service/duplicate]"
    ]
    # in one environment only: said for it
    copy = specs / "copy.yaml"
    copy.write_text(copy.read_text().replace("  staging:\n", "  qa:\n", 1))
    results = compile_specs(discover(specs), tmp_path / "out", generate=False)
    said = [d.message for r in results for d in r.diagnostics if d.check == "service/duplicate"]
    assert said == [
        f"service 'rlm-hypervisor' is also defined by {specs / 'copy.yaml'} in environment "
        "'production'"
    ]


def test_what_uses_a_metric_an_environment_switches_off_is_said_there() -> None:
    base = (REPO / "tests" / "cases" / "valid" / "minimal.yaml").read_text()
    text = (
        base
        + "environments:\n  production: {}\n  dev:\n    metrics:\n"
        + ("      - name: shop_latency_p99\n        disabled: true\n")
    )
    results = compile_texts({"specs/shop.yaml": text})
    lines = text.splitlines()
    panel = lines.index("        metric: shop_latency_p99") + 1
    off = lines.index("      - name: shop_latency_p99") + 1  # the item, where `- ` opens it
    assert [d.format() for r in results for d in r.errors] == [
        f"specs/shop.yaml:{panel}:17: /dashboards/0/panels/0/metric: in environment 'dev': "
        "'shop_latency_p99' is not a declared metric (hint: dev switches 'shop_latency_p99' "
        f"off at specs/shop.yaml:{off}:9: switch off what uses it in that environment too, "
        "or keep it) [references/unknown-metric]"
    ]


def test_a_problem_some_environments_share_is_said_once_naming_them() -> None:
    """A base line that is wrong in two environments and that a third's overlay replaces:
    one error naming the two (not one per environment, as if an overlay had caused it);
    neither of the two is built."""
    base = (REPO / "tests" / "cases" / "valid" / "minimal.yaml").read_text()
    text = base.replace('critical: "> 500ms"', "critical: 0.5") + (
        "environments:\n  production: {}\n  staging: {}\n  canary:\n    metrics:\n"
        '      - name: shop_latency_p99\n        levels: {critical: "> 800ms"}\n'
    )
    results = compile_texts({"specs/shop.yaml": text})
    line = text.splitlines().index("      critical: 0.5") + 1
    assert [d.format() for r in results for d in r.diagnostics] == [
        f"specs/shop.yaml:{line}:17: /metrics/0/levels/critical: in environments 'production', "
        "'staging': critical level '0.5' has no direction (hint: write \"> 0.5\" or \"< 0.5\") "
        "[levels/not-alertable]"
    ]
    built = {r.environment: r.has_model and not r.errors for r in results}
    assert built == {"production": False, "staging": False, "canary": True}


def test_dashboard_uids_shared_by_specs_without_environments_are_a_warning(
    tmp_path: Path,
) -> None:
    (tmp_path / "specs").mkdir()
    base = (REPO / "tests" / "cases" / "valid" / "minimal.yaml").read_text()
    (tmp_path / "specs" / "shop.yaml").write_text(base)
    (tmp_path / "specs" / "cart.yaml").write_text(base.replace("name: shop\n", "name: cart\n", 1))
    results = compile_specs(discover(tmp_path / "specs"), tmp_path / "out")
    said = [d for r in results for d in r.diagnostics]
    assert [(d.severity, d.check, d.message) for d in said] == [
        (
            "warning",
            "dashboards/duplicate-uid",
            f"dashboard uid 'shop-ops' is also used by {tmp_path / 'specs' / 'cart.yaml'}",
        )
    ]
    assert all(r.files for r in results)  # built: a warning


def test_an_environment_named_like_a_service_is_refused(tmp_path: Path) -> None:
    (tmp_path / "specs").mkdir()
    base = (REPO / "tests" / "cases" / "valid" / "minimal.yaml").read_text()
    (tmp_path / "specs" / "shop.yaml").write_text(base)
    other = base.replace("name: shop\n", "name: cart\n", 1) + "environments:\n  shop: {}\n"
    (tmp_path / "specs" / "cart.yaml").write_text(other)
    results = compile_specs(discover(tmp_path / "specs"), tmp_path / "out", generate=False)
    messages = [d.message for r in results for d in r.errors]
    assert any("environment 'shop' has the name of the service of" in m for m in messages), messages


def test_includes_resolve_inside_texts_for_reviews() -> None:
    texts = {
        "REV:specs/shared/platform.yaml": (SPECS / "shared" / "platform.yaml").read_text(),
        "REV:specs/rlm-hypervisor.yaml": (SPECS / "rlm-hypervisor.yaml").read_text(),
    }
    results = compile_texts(texts)
    assert sorted(r.unit for r in results) == [
        "production/rlm-hypervisor",
        "staging/rlm-hypervisor",
    ]
    assert not [d for r in results for d in r.errors]


def test_build_writes_environments_and_removes_what_no_spec_produces(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = CliRunner()
    _platform(tmp_path)
    monkeypatch.chdir(tmp_path)
    if True:
        first = runner.invoke(cli, ["build"])
        assert "environment staging -> out/staging/_cluster/ (12 files)" in first.output
        assert first.exit_code == 0, first.output
        out = Path("out")
        assert sorted(p.name for p in out.iterdir()) == ["production", "staging"]
        assert sorted(p.name for p in (out / "staging").iterdir()) == [
            "_cluster",
            "checkout-api",
            "rlm-hypervisor",
        ]
        assert runner.invoke(cli, ["check"]).exit_code == 0
        # staging dropped from one spec, then from both: its directory goes
        for spec in ("specs/checkout-api.yaml", "specs/rlm-hypervisor.yaml"):
            text = Path(spec).read_text()
            start = text.index("  staging:\n")
            Path(spec).write_text(text[:start])
            assert runner.invoke(cli, ["check"]).exit_code == 1
            result = runner.invoke(cli, ["build"])
            assert result.exit_code == 0, result.output
            assert "removed out/staging/" in result.output
        assert "removed out/staging/_cluster/ (no spec produces it any more)" in result.output
        assert sorted(p.name for p in out.iterdir()) == ["production"]
        assert runner.invoke(cli, ["check"]).exit_code == 0


def test_diff_between_environments_lists_the_overlay_risky_first() -> None:
    result = CliRunner().invoke(
        cli, ["diff", "--env", "production", "--env", "staging", str(SPECS), "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    report = yaml.safe_load(result.output)
    hypervisor = {(c["category"], c["subject"]): c for c in report["services"]["rlm-hypervisor"]}
    latency = hypervisor[("alert", "RLMApiLatencyP99High (warning)")]
    assert latency["risks"] == ["threshold loosened: > 200ms → > 400ms"]
    assert ("alert", "RLMCostSpike (info)") in hypervisor
    assert hypervisor[("autoscaling", "rlm-api")]["risks"] == ["max replicas lowered"]


def test_diff_env_needs_two_declared_environments() -> None:
    runner = CliRunner()
    once = runner.invoke(cli, ["diff", "--env", "staging", str(SPECS)])
    assert once.exit_code == 2 and "give --env twice" in once.output
    unknown = runner.invoke(cli, ["diff", "--env", "staging", "--env", "prod", str(SPECS)])
    assert unknown.exit_code == 2
    assert "no spec declares environment 'prod' (declared: production, staging)" in unknown.output


@pytest.mark.parametrize("layout", ["flat", "nested"])
def test_check_reports_stale_units(tmp_path: Path, layout: str) -> None:
    from rlmgen.output.writer import stale_services, write_services

    unit = "gone" if layout == "flat" else "staging/gone"
    write_services(tmp_path, {unit: {"x.yaml": b"a\n", ".rlmgen-manifest": b"x.yaml\n"}})
    assert stale_services(tmp_path, set()) == [unit]
    assert write_services(tmp_path, {}, remove_stale=True) == [unit]
    assert list(tmp_path.iterdir()) == [] or [p.name for p in tmp_path.iterdir()] == [
        ".rlmgen-lock"
    ]


def test_a_misspelt_environment_in_a_fragment_is_reported(tmp_path: Path) -> None:
    specs = _platform(tmp_path)
    fragment = specs / "shared" / "platform.yaml"
    fragment.write_text(fragment.read_text().replace("\n  staging:\n", "\n  stagin:\n"))
    results = compile_specs(discover(specs), tmp_path / "out", generate=False)
    warnings = {d.format() for r in results for d in r.diagnostics}
    assert warnings == {
        f"{fragment}:23:3: /environments/stagin: warning: no spec declares environment "
        "'stagin': this overlay applies nowhere (hint: did you mean 'staging'?) "
        "[environment/unused-overlay]"
    }


def test_an_environment_only_one_spec_declares_named_like_anothers_is_reported(
    tmp_path: Path,
) -> None:
    specs = _platform(tmp_path)
    base = (REPO / "tests" / "cases" / "valid" / "minimal.yaml").read_text()
    base = base.replace(
        "apiVersion: rlmgen/v1\n", "apiVersion: rlmgen/v1\ninclude: [shared/platform.yaml]\n"
    )
    spec = specs / "shop.yaml"
    spec.write_text(base + "environments:\n  production: {}\n  stagign: {}\n")
    results = compile_specs(discover(specs), tmp_path / "out", generate=False)
    line = spec.read_text().splitlines().index("  stagign: {}") + 1
    assert {d.format() for r in results for d in r.diagnostics} == {
        f"{spec}:{line}:3: /environments/stagign: warning: environment 'stagign' is declared "
        "by this spec only; the others declare 'production', 'staging' (hint: did you mean "
        "'staging'?) [environment/lonely]"
    }
    spec.write_text(base + "environments:\n  production: {}\n  qa: {}\n")  # nothing like it
    results = compile_specs(discover(specs), tmp_path / "out", generate=False)
    assert not [d for r in results for d in r.diagnostics]


@pytest.mark.parametrize(
    "include", ["include: [shared/team.yaml]\n", "include:\n  - shared/team.yaml  # the team\n"]
)
def test_a_fragment_of_a_spec_yaml_cannot_read_is_no_spec(tmp_path: Path, include: str) -> None:
    """The only spec that includes a fragment has a YAML error: its includes are read
    from its text, so the fragment is not compiled (and reported) as a spec of its own."""
    (tmp_path / "specs" / "shared").mkdir(parents=True)
    (tmp_path / "specs" / "shared" / "team.yaml").write_text("service:\n  team: shop-sre\n")
    base = (REPO / "tests" / "cases" / "valid" / "minimal.yaml").read_text()
    broken = base.replace("apiVersion: rlmgen/v1\n", "apiVersion: rlmgen/v1\n" + include)
    broken = broken.replace("  title: Shop\n", "  title: Shop\n  title: Shop again\n", 1)
    (tmp_path / "specs" / "shop.yaml").write_text(broken)
    results = compile_specs(discover(tmp_path / "specs"), tmp_path / "out", generate=False)
    first = broken.splitlines().index("  title: Shop") + 1
    assert [d.message for r in results for d in r.diagnostics] == [
        f"duplicate key 'title' (first defined at line {first}, column 3)"
    ]


FRAGMENT_WITH_OVERLAY = """\
routing:
  receivers:
    - name: team-slack
      severities: [warning]
      slack: {channel: "#alerts", apiUrlFile: /etc/am/slack}
environments:
  staging:
    routing:
      receivers:
        - name: team-slack
          slack: {channel: "#alerts-staging"}
"""
SPEC_OVER_IT = """\
apiVersion: rlmgen/v1
include: [routing.yaml]
service: {name: svc, title: Svc, namespace: svc, team: t, runbookUrl: https://r.example.com/svc}
metrics:
  - name: svc_latency
    unit: seconds
    levels: {warning: "> 1s", critical: "> 2s"}
routing:
  receivers:
    - name: pd
      severities: [critical]
      pagerduty: {routingKeyFile: /etc/am/pd}
environments:
  production: {}
  staging:
    routing:
      receivers:
        - name: OFF
          disabled: true
        - name: ON
          severities: [warning, critical]
"""


@pytest.mark.parametrize(
    ("off", "on", "staging"),
    [
        # the spec's own receiver off, the fragment's changed by both overlays
        ("pd", "team-slack", {"team-slack": ("#alerts-staging", ["critical", "warning"])}),
        # the receiver the fragment's overlay changes, switched off by the spec's overlay
        ("team-slack", "pd", {"pd": (None, ["critical", "warning"])}),
    ],
)
def test_a_specs_overlay_switches_off_what_a_fragments_overlay_also_changes(
    off: str, on: str, staging: dict[str, tuple[str | None, list[str]]]
) -> None:
    texts = {
        "specs/routing.yaml": FRAGMENT_WITH_OVERLAY,
        "specs/svc.yaml": SPEC_OVER_IT.replace("OFF", off).replace("ON", on),
    }
    results = compile_texts(texts)
    assert not [d for r in results for d in r.diagnostics], [
        d.format() for r in results for d in r.diagnostics
    ]
    [unit] = [r for r in results if r.environment == "staging"]
    assert unit.model is not None and unit.model.routing is not None
    found = {
        receiver.name: (receiver.settings.get("channel"), sorted(receiver.severities))
        for receiver in unit.model.routing.receivers
    }
    assert found == staging


def test_diff_of_one_spec_reads_the_fragments_it_includes() -> None:
    result = CliRunner().invoke(
        cli, ["diff", "--env", "production", "--env", "staging", str(SPECS / "checkout-api.yaml")]
    )
    assert result.exit_code == 0, result.output
    assert "### checkout-api" in result.output and "### rlm-hypervisor" not in result.output
    assert "release=kube-prometheus-stack → release=kube-prometheus-stack-staging" in (
        result.output
    )


def test_building_some_specs_leaves_the_cluster_outputs_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _platform(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert CliRunner().invoke(cli, ["build"]).exit_code == 0
    cluster = Path("out/production/_cluster/alertmanager/alertmanager.yaml")
    whole = cluster.read_bytes()
    partial = CliRunner().invoke(cli, ["build", "specs/checkout-api.yaml"])
    assert partial.exit_code == 0
    assert "out/<environment>/_cluster/ is left as it is" in partial.output
    assert cluster.read_bytes() == whole  # still routes both services
    assert CliRunner().invoke(cli, ["check", "specs/checkout-api.yaml"]).exit_code == 0


def test_a_receiver_with_match_is_not_shadowed_by_a_catch_all() -> None:
    from tests.conftest import model_of

    text = (REPO / "tests" / "cases" / "valid" / "minimal.yaml").read_text()
    model = model_of(text)
    assert model.routing is not None
    catch_all = model.routing.receivers[0]
    from rlmgen.model.routing import receiver_for

    severity = catch_all.severities[0]
    specific = dataclasses.replace(
        catch_all, name="dba", match=MappingProxyType({"team": model.service.team})
    )
    routing = dataclasses.replace(model.routing, receivers=(catch_all, specific))
    labels = {"team": model.service.team}
    assert receiver_for(severity, None, routing, labels) == "dba"
    assert receiver_for(severity, None, routing, {"team": "other"}) == catch_all.name


def test_overlays_match_playbooks_and_scheduled_checks_by_id_and_health_checks_by_label() -> None:
    text = (SPECS / "rlm-hypervisor.yaml").read_text()
    overlay = "  staging:\n    service:\n      namespace: rlm-staging\n"
    assert overlay in text
    text = text.replace(
        overlay,
        overlay
        + "    runbook:\n"
        + "      playbooks:\n"
        + "        - {id: sev-2-high-error-rate, title: High error rate (staging)}\n"
        + "      scheduledChecks:\n"
        + "        - {id: daily-health-check, schedule: Run after each deployment}\n"
        + "    health:\n"
        + "      prometheusUrl: http://prometheus.staging:9090\n"
        + "      checks:\n"
        + "        - {label: Quota utilization, disabled: true}\n",
    )
    texts = {
        "specs/shared/platform.yaml": (SPECS / "shared" / "platform.yaml").read_text(),
        "specs/rlm-hypervisor.yaml": text,
    }
    results = {r.environment: r for r in compile_texts(texts)}
    assert not [d.format() for r in results.values() for d in r.errors]
    staging, production = results["staging"].model, results["production"].model
    assert staging is not None and production is not None
    titles = {p.id: p.title for p in staging.runbook.playbooks}
    assert titles["sev-2-high-error-rate"] == "High error rate (staging)"
    [check] = [c for c in staging.runbook.scheduled_checks if c.id == "daily-health-check"]
    assert check.schedule == "Run after each deployment" and check.health
    assert [c.label for c in staging.health.checks] == ["Error rate", "P99 latency"]
    assert staging.health.prometheus_url == "http://prometheus.staging:9090"
    assert [c.label for c in production.health.checks] == [
        "Error rate",
        "P99 latency",
        "Quota utilization",
    ]
