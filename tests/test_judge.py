"""`rlmgen test`: promtool and amtool run on what a spec compiles to, each failure said at
the spec line that produced the failing test."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from rlmgen.cli import cli
from rlmgen.judge import promtool, run
from rlmgen.judge.run import Tools, judge
from rlmgen.model.conventions import ALERTMANAGER_PATH
from rlmgen.pipeline import compile_specs
from tests.conftest import require_tool

# A shop's cart service: a gross value recorded from the net one (x 1.1, which floating
# point makes 3.3000000000000003 for 3), an alert with examples, two receivers.
SPEC = """\
apiVersion: rlmgen/v1
service:
  name: cart
  title: Shop cart
  namespace: shop
  team: shop
  runbookUrl: https://wiki.shop/cart
metrics:
  - name: shop_cart_value
    type: gauge
    unit: usd
    description: Net value of open carts
  - name: shop_cart_value_gross
    description: Gross value of open carts
    unit: usd
    expr: shop_cart_value * 1.1
    record: shop:cart_value:gross
    examples:
      - series:
          - {series: shop_cart_value, values: 3+0x10}
        at: 5m
        value: VALUE
  - name: shop_checkout_errors
    type: counter
alertGroups:
  - name: cart
    severity: warning
    alerts:
      - name: CartErrors
        expr: rate(shop_checkout_errors[5m]) > 0.1
        for: 1m
        summary: Checkout errors
        examples:
          - series:
              - {series: shop_checkout_errors, values: 0+60x20}
            at: 10m
            fires: FIRES
routing:
  receivers:
    - name: shop-slack
      severities: [warning, info]
      slack: {channel: "#shop", apiUrlFile: /etc/alertmanager/secrets/slack}
    - name: shop-pager
      severities: [critical]
      pagerduty: {routingKeyFile: /etc/alertmanager/secrets/pd}
"""


def _spec(tmp_path: Path, value: str = "3.3000000000000003", fires: str = "true") -> Path:
    path = tmp_path / "cart.yaml"
    path.write_text(SPEC.replace("VALUE", value).replace("FIRES", fires))
    return path


def _tools() -> Tools:
    return Tools(require_tool("promtool"), require_tool("amtool"))


def _test(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["test", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.stdout, result.stderr


def test_a_spec_whose_tests_pass(tmp_path: Path) -> None:
    _tools()
    code, out, err = _test(str(_spec(tmp_path)))
    assert (code, out) == (0, "")
    # one level-less recording example and one alert example; two alerts routed
    assert err == "ok: 2 promtool test groups and 1 amtool route of 1 spec pass\n"


def test_a_wrong_example_value_is_said_at_its_line_with_the_exact_value(tmp_path: Path) -> None:
    _tools()
    spec = _spec(tmp_path, value="3.3")
    code, out, err = _test(str(spec))
    line = SPEC.splitlines().index("        value: VALUE") + 1
    assert out == (
        f"{spec.as_posix()}:{line}:16: /metrics/1/examples/0/value: test "
        "'shop:cart_value:gross: example 1': promtool computes 3.3000000000000003 for "
        "shop:cart_value:gross at 5m; the example expects 3.3 (hint: promtool compares "
        "values exactly and floating point arithmetic gives 3.3000000000000003: write value: "
        "3.3000000000000003) [judge/promtool-failed]\n"
    )
    assert code == 1
    assert err.startswith("failed: 1 failure in 2 promtool test groups")


def test_failures_as_github_annotations_and_sarif(tmp_path: Path) -> None:
    """`rlmgen test --format github|sarif`: the failures as `validate` reports problems,
    so a CI job puts them on the pull request's lines; an invalid spec's errors too."""
    from sarif_pydantic import Sarif

    _tools()
    spec = _spec(tmp_path, value="3.3")
    line = SPEC.splitlines().index("        value: VALUE") + 1
    code, out, err = _test("--format", "github", str(spec))
    assert code == 1 and err.startswith("failed: 1 failure in 2 promtool test groups")
    assert out.splitlines() == [
        f"::error file={spec.as_posix()},line={line},col=16,title=rlmgen error "
        "[judge/promtool-failed]::/metrics/1/examples/0/value: test 'shop:cart_value:gross: "
        "example 1': promtool computes 3.3000000000000003 for shop:cart_value:gross at 5m; "
        "the example expects 3.3 (hint: promtool compares values exactly and floating point "
        "arithmetic gives 3.3000000000000003: write value: 3.3000000000000003)"
    ]
    code, out, _ = _test("--format", "sarif", str(spec))
    [result] = Sarif.model_validate(json.loads(out)).runs[0].results or []
    assert (code, result.rule_id, result.locations[0].physical_location.region.start_line) == (
        1,
        "judge/promtool-failed",
        line,
    )
    code, out, err = _test("--format", "github", str(_spec(tmp_path, value="x")))
    assert code == 1 and out.startswith(f"::error file={spec.as_posix()},line={line},col=16,")
    assert err == "invalid: 1 error, 0 warnings in 1 spec; nothing tested\n"
    assert (_test("--format", "github", str(_spec(tmp_path)))[:2]) == (0, "")


def test_an_example_that_expects_no_alert_is_said_at_fires(tmp_path: Path) -> None:
    _tools()
    spec = _spec(tmp_path, fires="false")
    code, out, _ = _test(str(spec))
    line = SPEC.splitlines().index("            fires: FIRES") + 1
    assert out == (
        f"{spec.as_posix()}:{line}:20: /alertGroups/0/alerts/0/examples/0/fires: test "
        "'CartErrors: example 1': CartErrors fires at 10m (namespace=\"shop\", "
        'route="shop-slack", service="cart", severity="warning", team="shop"); the test '
        "expects it not to (hint: fix the example (its series, labels or value), or the alert) "
        "[judge/promtool-failed]\n"
    )
    assert code == 1


def test_an_example_that_fires_a_rule_of_the_same_name_says_which(tmp_path: Path) -> None:
    """The critical CartErrors (> 0.05, for 5m) fires on the warning example's series too;
    rlmgen cannot know it (the warning rule waits less), promtool says so."""
    _tools()
    spec = _spec(tmp_path)
    critical = (
        "      - name: CartErrors\n"
        "        expr: rate(shop_checkout_errors[5m]) > 0.05\n"
        "        for: 5m\n"
        "        severity: critical\n"
        "        summary: Checkout fails\n"
    )
    text = spec.read_text().replace("routing:\n", critical + "routing:\n", 1)
    spec.write_text(text)
    code, out, _ = _test(str(spec))
    line = text.splitlines().index("          - series:") + 1
    assert out == (
        f"{spec.as_posix()}:{line}:13: /alertGroups/0/alerts/0/examples/0: test "
        "'CartErrors: example 1': CartErrors fires 2 times at 10m; the test expects 1 (the "
        "critical rule of this name fires too) (hint: promtool checks every rule named "
        "CartErrors together: write the critical rule's condition so that it follows from "
        "this one's (the same expression compared with a number, a `for` no longer than this "
        "one's) and the test expects it, or give the example series that do not fire it) "
        "[judge/promtool-failed]\n"
    )
    assert code == 1


def test_a_configuration_the_installed_amtool_refuses_is_said_once(tmp_path: Path) -> None:
    """A webhook's url_file (Alertmanager 0.27) for a spec targeting 0.27, judged by an
    older amtool: one diagnostic naming the version gap, not one per alert."""
    tools = _tools()
    installed = run.tool_version(tools.amtool)
    if installed is None or installed >= (0, 27):
        pytest.skip(f"amtool {installed} reads url_file: nothing to refuse")
    spec = _spec(tmp_path)
    text = spec.read_text().replace(
        "apiVersion: rlmgen/v1\n", 'apiVersion: rlmgen/v1\ntargets: {alertmanager: "0.27"}\n'
    )
    text = text.replace(
        '      slack: {channel: "#shop", apiUrlFile: /etc/alertmanager/secrets/slack}\n',
        "      webhook: {urlFile: /etc/alertmanager/secrets/hook}\n",
    )
    spec.write_text(text)
    code, out, err = _test(str(spec))
    line = text.splitlines().index("routing:") + 2  # where its value starts
    [said] = out.splitlines()
    assert said.startswith(
        f"{spec.as_posix()}:{line}:3: /routing: amtool check-config refuses "
        "alertmanager/alertmanager.yaml: yaml: unmarshal errors:"
    )
    assert "field url_file not found" in said
    assert said.endswith(
        f"(hint: the installed amtool is {installed[0]}.{installed[1]}, older than "
        "targets.alertmanager 0.27: judge the output with amtool 0.27 or later) "
        "[judge/route-failed]"
    )
    assert code == 1
    assert err.startswith("failed: 1 failure in 2 promtool test groups and 1 amtool route ")


def test_a_route_amtool_disagrees_with_is_said_at_the_alert(tmp_path: Path) -> None:
    tools = _tools()
    spec = _spec(tmp_path)
    (result,) = compile_specs([spec], tmp_path / "out")
    # sabotage: Alertmanager sends warnings to the pager (what a broken emitter would do)
    config = result.files[ALERTMANAGER_PATH].decode()
    result.files[ALERTMANAGER_PATH] = config.replace(
        "receiver: shop-slack", "receiver: shop-pager"
    ).encode()
    (outcome,) = judge([result], tools)
    line = SPEC.splitlines().index("      - name: CartErrors") + 1
    assert [d.format() for d in outcome.diagnostics] == [
        f"{spec.as_posix()}:{line}:9: /alertGroups/0/alerts/0: amtool routes CartErrors "
        "(warning) to shop-pager; the spec sends it to shop-slack (hint: check the "
        "receivers' severities and match labels, and the alert's route) [judge/route-failed]"
    ]


def test_missing_tools_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    code, out, err = _test(str(_spec(tmp_path)))
    assert code == 2 and out == ""
    assert err == (
        "rlmgen: promtool is not installed (Debian/Ubuntu: apt-get install prometheus; "
        "or set RLMGEN_PROMTOOL to its path)\n"
    )


def test_promtools_failure_output_is_read() -> None:
    output = """Unit Testing:  t.yaml
  FAILED:
    name: A warning: > 1,
    alertname: A, time: 15m,
        exp:[
            0:
              Labels:{alertname="A", quote="say \\"hi\\""}
              Annotations:{summary="x"}
            ],
        got:[]

    expr: "r{a=\\"b\\"}", time: 5m,
        exp: {__name__="r"} 9E-01
        got: {__name__="r"} 8.999999999999999E-01
"""
    alert, expr = promtool.failures(output)
    assert alert.alertname == "A" and alert.time == "15m"
    assert alert.expected_alerts[0].labels == {"alertname": "A", "quote": 'say "hi"'}
    assert alert.got_alerts == ()
    assert expr.expr == 'r{a="b"}'
    assert expr.expected_samples == (({"__name__": "r"}, 0.9),)
    assert expr.got_samples == (({"__name__": "r"}, 0.8999999999999999),)


def test_a_judge_older_than_the_target_is_named_in_the_hint(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(run._versions, "/opt/promtool", (2, 42))
    assert run._judge_version_hint("promtool", "/opt/promtool", (3, 1), "prometheus") == (
        "the installed promtool is 2.42, older than targets.prometheus 3.1: judge the "
        "output with promtool 3.1 or later"
    )
    assert run._judge_version_hint("promtool", "/opt/promtool", (2, 42), "prometheus") == ""
    monkeypatch.setitem(run._versions, "/opt/unknown", None)
    assert run._judge_version_hint("promtool", "/opt/unknown", (3, 1), "prometheus") == ""


def test_a_sample_with_the_right_value_and_other_labels_is_said_as_labels() -> None:
    from rlmgen.judge.explain import explain
    from rlmgen.lang.promtool import TestGroup

    failure = promtool.Failure(
        time="10m",
        expr="service:ranker:p99",
        expected_samples=(({"__name__": "service:ranker:p99", "model": "bert"}, 0.4),),
        got_samples=(({"__name__": "service:ranker:p99", "model": "bm25"}, 0.4),),
    )
    group = TestGroup(
        "service:ranker:p99: example 1", "/metrics/0/examples/0", {}, "recording example"
    )
    assert explain(group, failure) == (
        'promtool computes service:ranker:p99 at 10m with labels {model="bm25"}; the example '
        'expects {model="bert"}',
        "an example's labels are those of the series the expression gives: name each, and "
        "give the input series the labels that make it",
    )
