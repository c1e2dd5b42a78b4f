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
            "duration '30d' used as a number; Prometheus 2.x rejects it",
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
    assert promql.series_names(expr) == ["a_bucket", "b", "c"]


def test_parse_is_cached_per_expression() -> None:
    assert promql.parse("sum(up)") is promql.parse("sum(up)")
