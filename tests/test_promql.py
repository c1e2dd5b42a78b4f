from __future__ import annotations

import pytest

from rlmgen.lang import promql


@pytest.mark.parametrize(
    ("expr", "message", "fragment", "hint"),
    [
        (
            "count_unique(rlm_user_active)",
            "unknown PromQL function 'count_unique'",
            "count_unique",
            "did you mean 'count'?",
        ),
        (
            "histogram(rlm_api_latency)",
            "unknown PromQL function 'histogram'",
            "histogram",
            "did you mean 'histogram_quantile'?",
        ),
        (
            "forecast_linear(x[7d], 86400)",
            "unknown PromQL function 'forecast_linear'",
            "forecast_linear",
            "did you mean 'predict_linear'?",
        ),
        ("sum(ratex(x[5m]))", "unknown PromQL function 'ratex'", "ratex", "did you mean 'rate'?"),
        (
            "rate(rlm_errors[5m]) by (endpoint)",
            "'by' must follow an aggregation such as sum, but here it follows the function 'rate'",
            "by",
            "aggregate the result: sum by (endpoint) (rate(rlm_errors[5m]))",
        ),
        (
            "abs(delta(count(u[1h])))",
            "'count' aggregates instant vectors, but it is given a range vector",
            "count",
            "to aggregate over time use count_over_time(v[1h])",
        ),
        (
            "rate(x)",
            "'rate' needs a range vector, it is given an instant vector",
            "rate",
            "give it a range: rate(v[5m])",
        ),
        ("sum(rate(x[5m])", "unclosed '(' in PromQL", "(", "add the missing ')'"),
        (
            "predict_linear(x[7d], 30d)",
            "duration '30d' used as a number; Prometheus 2.42 rejects it (from 3.0 it may be)",
            "30d",
            "write the number of seconds: 2592000",
        ),
        ("foo bar", "invalid PromQL: syntax error", "foo", "check operators"),
    ],
)
def test_problems_are_explained_and_located(
    expr: str, message: str, fragment: str, hint: str
) -> None:
    problem = promql.check(expr)
    assert problem is not None
    assert problem.message == message
    assert expr[problem.offset :].startswith(fragment) and problem.fragment == fragment
    assert problem.hint.startswith(hint)


@pytest.mark.parametrize(
    "expr",
    [
        "histogram_quantile(0.99, sum by (le) (rate(rlm_api_latency_bucket[5m])))",
        "count(rlm_user_active) < 0.5 * count(rlm_user_active offset 1h)",
        "predict_linear(rlm_active_agents[7d], 2592000)",
        'sum by (endpoint) (rate(rlm_errors{code=~"5.."}[5m]))',
        "rlm_daily_cost > 1.5 * avg_over_time(rlm_daily_cost[7d])",
        'x{a="count_unique(y)"}',
    ],
)
def test_valid_expressions(expr: str) -> None:
    assert promql.check(expr) is None


def test_series_names_in_order_of_use() -> None:
    expr = 'sum by (le) (rate(a_bucket[5m])) / on() group_left b + {__name__="c"} + a_bucket'
    query = promql.analyse(expr)
    assert isinstance(query, promql.Query)
    assert query.series == ("a_bucket", "b", "c")


@pytest.mark.parametrize(
    ("expr", "grouping", "comparison", "plain"),
    [
        ("sum by (le) (rate(x_bucket[5m]))", ("le",), None, False),
        ("sum(rate(x[5m])) by (a, b)", ("a", "b"), None, False),
        ("sum without (a) (x)", None, None, False),
        ("rate(x[5m]) / rate(y[5m]) > 0.05", None, (">", 0.05), False),
        ("x <= 3", None, ("<=", 3.0), False),
        # a number written as arithmetic, as Prometheus computes it
        ("time() - x > 26 * 3600", None, (">", 93600.0), False),
        ("x < (100 - 1) / 2", None, ("<", 49.5), False),
        ("x > -(5)", None, (">", -5.0), False),
        ("x > y * 2", None, None, False),
        ("x > bool 3", None, None, False),  # every series, 0 or 1: no threshold
        ("x == 0", None, None, False),
        ('x{a="b"}', None, None, True),
        ("x offset 5m", None, None, False),
        ('x{a=~"b"}', None, None, False),
    ],
)
def test_what_rlmgen_reads_of_a_query(
    expr: str, grouping: tuple[str, ...] | None, comparison: tuple[str, float] | None, plain: bool
) -> None:
    query = promql.analyse(expr)
    assert isinstance(query, promql.Query)
    assert promql.grouping(query.ast) == grouping
    assert promql.comparison(query.ast) == comparison
    assert promql.is_plain_selector(query.ast) is plain


@pytest.mark.parametrize(
    ("expr", "target", "problem"),
    [
        ("holt_winters(x[1h], 0.5, 0.5)", (2, 42), None),  # promql-parser knows it as 3.0's
        ("holt_winters(x[1h], 0.5, 0.5)", (3, 0), "'holt_winters' was renamed"),
        ("double_exponential_smoothing(x[1h], 0.5, 0.5)", (2, 42), "needs Prometheus 3.0"),
        ("mad_over_time(x[1h])", (2, 42), "'mad_over_time' needs Prometheus 2.49"),
        ("mad_over_time(x[1h])", (2, 49), None),
        ('sort_by_label(x, "a")', (2, 42), "needs Prometheus 2.49"),
        ("limitk(2, x)", (2, 53), "needs Prometheus 2.54"),
        ("rate(x[300])", (2, 42), "a range of '300' without a unit"),
        ("rate(x[300])", (3, 0), None),
        ("time() - 5m", (2, 42), "duration '5m' used as a number"),
        ("time() - 5m", (3, 0), None),
        ('{"my.metric"}', (2, 42), "the quoted name"),
        ('{"my.metric"}', (3, 0), None),
        ('label_replace(x, "a", "$1", "b", "(.*)")', (2, 42), None),
        ("x > 1e309", (3, 14), "the number '1e309' is out of range"),
    ],
)
def test_what_each_target_version_accepts(
    expr: str, target: tuple[int, int], problem: str | None
) -> None:
    found = promql.check(expr, target)
    if problem is None:
        assert found is None, found
    else:
        assert found is not None and problem in found.message, found


def test_promtool_2_42_agrees_on_holt_winters(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import subprocess

    from tests.conftest import require_tool

    promtool = require_tool("promtool")
    assert promql.check("holt_winters(x[1h], 0.5, 0.5) > 1", (2, 42)) is None
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "groups: [{name: g, rules: [{alert: A, expr: 'holt_winters(x[1h], 0.5, 0.5) > 1'}]}]\n"
    )
    run = subprocess.run([promtool, "check", "rules", str(rules)], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr


def test_a_dashboard_query_may_use_grafanas_macros_and_variables() -> None:
    for expr in (
        "sum(rate(x[$__rate_interval]))",
        "rate(x[${__interval}]) * $__range_s",
        'topk($n, rate(x{job="$job"}[$window]))',
    ):
        assert promql.check(promql.for_dashboards(expr)) is None, expr


def test_an_equal_text_is_parsed_once_per_target(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every environment of a spec compiles the same expressions: one parse each, and a
    target version of its own for another Prometheus."""
    import promql_parser

    parsed: list[str] = []
    parse = promql_parser.parse

    def counting(expr: str):  # type: ignore[no-untyped-def]
        parsed.append(expr)
        return parse(expr)

    monkeypatch.setattr(promql_parser, "parse", counting)
    expr = "sum by (job) (rate(cache_test_requests_total[5m]))"
    first = promql.analyse(expr)
    assert promql.analyse(expr) is first
    assert promql.analyse(expr, (2, 30)) is not first
    assert parsed == [expr, expr]
    problem = "sum(rate(cache_test_requests_total[5m])"
    assert isinstance(promql.analyse(problem), promql.PromQLProblem)
    assert promql.analyse(problem) == promql.analyse(problem)


def test_equality_values_are_the_equal_matchers_of_a_label_anywhere() -> None:
    query = promql.analyse(
        'sum(rate(a{namespace="one", job!="x"}[5m])) / on() group_left '
        'sum(b{namespace!="two"}) + c{namespace=~"three"} + d{namespace="four"} offset 5m '
        '+ max_over_time(e{namespace="five"}[1h:5m]) + f{namespace="one"}'
    )
    assert isinstance(query, promql.Query)
    assert promql.equality_values(query.ast, "namespace") == ("one", "four", "five")
    assert promql.equality_values(query.ast, "job") == ()


@pytest.mark.parametrize(
    ("expr", "yields"),
    [
        ("time() - (max(x) or vector(0))", True),
        ("max(x) or vector(0)", True),
        ("(x or vector(0)) * 100", True),
        ("absent(x)", True),
        ('label_replace(vector(1), "a", "b", "", "")', True),
        ("time() - x", False),
        ("rate(x[5m])", False),
        ("histogram_quantile(0.9, sum by (le) (rate(x_bucket[5m])))", False),
        ("x unless vector(1)", False),
        ("x and vector(1)", False),
        ("sum(rate(x[5m])) / sum(rate(y[5m]))", False),
    ],
)
def test_what_gives_a_sample_with_no_input_series(expr: str, yields: bool) -> None:
    query = promql.analyse(expr)
    assert isinstance(query, promql.Query)
    assert promql.yields_without_inputs(query.ast) is yields
