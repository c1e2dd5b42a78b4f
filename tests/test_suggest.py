from __future__ import annotations

from rlmgen.spec.suggest import ask, closest, did_you_mean


def test_separators_and_case_first_then_the_closest_spelling() -> None:
    assert closest("alert_groups", ["alertGroups", "alerts"]) == ["alertGroups"]
    assert closest("metrcs", ["metrics", "routing"]) == ["metrics"]
    assert closest("zzz", ["metrics"]) == []


def test_the_question() -> None:
    assert did_you_mean("recieve", ["receiver", "routing"]) == "did you mean 'receiver'?"
    assert did_you_mean("sm", ["s", "ms", "m"], n=3) == "did you mean 's' or 'm'?"
    assert did_you_mean("zzz", ["metrics"]) is None
    assert ask(["a", "b"]) == "did you mean 'a' or 'b'?"
