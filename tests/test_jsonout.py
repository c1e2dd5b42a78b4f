"""The dashboards' JSON writer writes exactly what json.dumps writes."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from rlmgen.derive.rules import derive_rules
from rlmgen.emit import grafana
from rlmgen.output import jsonout
from tests.conftest import seed_model


def _reference(document: Any) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False)


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=8),
)
documents = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.lists(children, max_size=3).map(tuple),
        st.dictionaries(st.text(max_size=4), children, max_size=4),
    ),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(documents)
def test_same_text_as_json_dumps(document: Any) -> None:
    assert jsonout.dumps(document) == _reference(document)


def test_what_it_does_not_mirror_goes_to_json_dumps() -> None:
    import enum

    class Colour(enum.StrEnum):
        RED = "red"

    for document in ({1: "a", 2: {3.5: None}}, {"c": Colour.RED}, [True, 1.5, {"x": (1, 2)}]):
        assert jsonout.dumps(document) == _reference(document)


def test_every_seed_dashboard() -> None:
    model = seed_model()
    derive_rules(model)
    boards = grafana.boards(model)
    assert boards
    for board in boards:
        document = grafana.dashboard_json(model, board)
        assert jsonout.dumps(document) == _reference(document)
