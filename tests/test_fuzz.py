"""Mutations of the real spec never crash rlmgen: every outcome is either a valid
build or clean, located, one-line diagnostics."""

from __future__ import annotations

import copy
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rlmgen.pipeline import artifacts, compile_texts
from tests.conftest import SEED_TEXT

SEED = yaml.safe_load(SEED_TEXT)


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    found = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            found.extend(_paths(value, (*prefix, key)))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found.extend(_paths(value, (*prefix, index)))
    return found


PATHS = _paths(SEED)[1:]
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=False),
    st.text(max_size=30),
    st.sampled_from(
        [
            "",
            "> 5",
            "5m",
            "rate(",
            "{{ $value }}",
            "-1",
            "1e309",
            "99.9%",
            "40-60%",
            "drop > 50%",
            "sum by (le) (x)",
        ]
    ),
)
garbage = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=12,
)


def _deep(depth: int) -> Any:
    value: Any = "x"
    for level in range(depth):
        value = [value] if level % 2 else {"k": value}
    return value


mutation = st.one_of(
    st.tuples(st.just("delete"), st.sampled_from(PATHS), st.none()),
    st.tuples(st.just("replace"), st.sampled_from(PATHS), garbage),
    st.tuples(st.just("replace"), st.sampled_from(PATHS), st.integers(1, 120).map(_deep)),
    st.tuples(st.just("duplicate"), st.sampled_from(PATHS), st.none()),
)


def _apply(doc: Any, kind: str, path: tuple, value: Any) -> Any:
    parent = doc
    for token in path[:-1]:
        parent = parent[token]
    last = path[-1]
    if kind == "delete":
        del parent[last]
    elif kind == "replace":
        parent[last] = value
    elif isinstance(parent, list):
        parent.append(copy.deepcopy(parent[last]))
    return doc


def _assert_clean(text: str) -> None:
    [result] = compile_texts({"spec.yaml": text})
    if result.model is not None:
        artifacts(result.model)
    for diagnostic in result.diagnostics:
        line = diagnostic.format()
        assert "\n" not in line and line.startswith("spec.yaml:")
        assert diagnostic.line >= 1 and diagnostic.col >= 1


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(mutation, min_size=1, max_size=4))
def test_structural_mutations_give_clean_diagnostics(mutations) -> None:
    doc = copy.deepcopy(SEED)
    for kind, path, value in mutations:
        try:
            doc = _apply(doc, kind, path, value)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation removed or reshaped this path
    _assert_clean(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False))


@settings(max_examples=200, deadline=None)
@given(
    st.integers(0, len(SEED_TEXT)),
    st.integers(0, 40),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=12),
)
def test_text_edits_give_clean_diagnostics(position: int, cut: int, insert: str) -> None:
    _assert_clean(SEED_TEXT[:position] + insert + SEED_TEXT[position + cut :])
