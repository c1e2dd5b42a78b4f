"""routing.routeLabel: series that carry a `route` label (an HTTP route) keep it when
rlmgen names each alert's receiver in another label. Without it the spec is refused
(tests/cases/invalid/route-label-carried.yaml): promtool shows why, and that with the
label renamed every route's alert fires and reaches its receiver."""

from __future__ import annotations

import subprocess
from pathlib import Path

from rlmgen.judge.run import Tools, judge
from rlmgen.pipeline import compile_specs
from tests.conftest import REPO, require_tool

CASE = REPO / "tests" / "cases" / "invalid" / "route-label-carried.yaml"
RENAMED = CASE.read_text(encoding="utf-8").replace(
    "routing:\n", "routing:\n  routeLabel: receiver\n"
)

# Two routes past the critical level at once, /cart and /pay.
TWO_ROUTES = """\
rule_files: [rules.yaml]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'route:http_requests:error_ratio_rate5m{route="/cart"}'
        values: "0.5x10"
      - series: 'route:http_requests:error_ratio_rate5m{route="/pay"}'
        values: "0.5x10"
    alert_rule_test:
      - eval_time: 5m
        alertname: ShopRouteErrorRatioHigh
        exp_alerts:
"""


LEVELS = {"critical": "10%", "warning": "2%"}


def _expected(severity: str, receiver: str, route: str) -> str:
    return (
        f"          - exp_labels: {{severity: {severity}, receiver: {receiver}, "
        f"route: '{route}', namespace: shop, service: shop-api, team: shop-sre}}\n"
        f"            exp_annotations: {{summary: {route} fails 50% of requests, runbook_url: "
        "'https://runbooks.example.com/shop-api#shoprouteerrorratiohigh', description: "
        f"'shop_route_error_ratio is 50% ({severity} level: > {LEVELS[severity]}).'}}\n"
    )


def test_a_renamed_route_label_keeps_the_series_route(tmp_path: Path) -> None:
    promtool = require_tool("promtool")
    spec = tmp_path / "shop.yaml"
    spec.write_text(RENAMED)
    [result] = compile_specs([spec], tmp_path / "out")
    assert not result.errors, [d.format() for d in result.errors]
    rules = tmp_path / "rules.yaml"
    rules.write_bytes(result.files["prometheus/rules.yaml"])
    tests = tmp_path / "two-routes.yaml"
    tests.write_text(
        TWO_ROUTES
        + "".join(
            _expected(severity, receiver, route)
            for route in ("/cart", "/pay")
            for severity, receiver in (("critical", "shop-pager"), ("warning", "shop-slack"))
        )
    )

    def promtool_test() -> subprocess.CompletedProcess[str]:
        command = [promtool, "test", "rules", str(tests)]
        return subprocess.run(command, capture_output=True, text=True, cwd=tmp_path)

    run = promtool_test()
    assert run.returncode == 0, run.stdout + run.stderr
    # rlmgen's label under the series' name, as before routeLabel: Prometheus fails it
    rules.write_text(rules.read_text().replace("receiver: shop-", "route: shop-"))
    run = promtool_test()
    assert run.returncode == 1
    assert "vector contains metrics with the same labelset after applying alert labels" in (
        run.stdout + run.stderr
    )
    # the generated tests and amtool's routing of every alert by the renamed label
    [outcome] = judge([result], Tools(promtool, require_tool("amtool")), 1)
    assert (outcome.diagnostics, outcome.routes) == ((), 7)
