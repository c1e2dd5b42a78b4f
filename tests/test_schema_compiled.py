"""The compiled schema check (rlmgen.spec.schema_fast) and jsonschema give the same
verdict on every document: the shipped specs, every valid and invalid case, a synthetic
platform's specs, and thousands of mutations of them (a key removed or added, a value of
another type, a string a pattern refuses, a list emptied or doubled). A document the
compiled check calls valid must have no jsonschema error (else diagnostics would be
lost); one it calls invalid must have one (else the fast path would be for nothing)."""

from __future__ import annotations

import copy
import random
import sys
from typing import Any

import pytest

from rlmgen.spec import schema_check, schema_fast
from rlmgen.spec.loader import SpecLoadError, load_file
from rlmgen.spec.schema import validation_schema
from rlmgen.spec.schema_compiler import TARGET, compile_schema
from tests.conftest import REPO

sys.path.insert(0, str(REPO / "benchmarks"))
import synth

CORPUS = sorted(
    [
        *(REPO / "specs").rglob("*.yaml"),
        *(REPO / "tests" / "cases").rglob("*.yaml"),
    ]
)


def _documents() -> list[tuple[str, Any]]:
    found = []
    for path in CORPUS:
        try:
            found.append((path.relative_to(REPO).as_posix(), load_file(path).data))
        except SpecLoadError:
            continue  # not YAML a schema could see
    found.append(("synth 60", synth.spec(60)))
    return found


DOCUMENTS = _documents()


def _jsonschema_valid(data: Any) -> bool:
    return not any(True for _ in schema_check._validator().iter_errors(data))


def _same_verdict(name: str, data: Any) -> bool:
    fast, reference = schema_fast.valid(data), _jsonschema_valid(data)
    if fast != reference:
        verdict = "valid" if fast else "invalid"
        pytest.fail(f"{name}: compiled check says {verdict}, jsonschema the opposite")
    return reference


def test_the_shipped_module_is_the_compilers_output() -> None:
    assert TARGET.read_text(encoding="utf-8") == compile_schema(validation_schema()), (
        "the validation schema changed: run `python -m rlmgen.spec.schema_compiler`"
    )


def test_the_corpus_gets_the_same_verdicts() -> None:
    verdicts = [_same_verdict(name, data) for name, data in DOCUMENTS]
    assert sum(verdicts) >= 100  # both kinds are there in numbers
    assert len(verdicts) - sum(verdicts) >= 25


# Values that break a schema in the ways people do: another type, an empty or odd string.
_REPLACEMENTS: list[Any] = [
    None,
    True,
    0,
    1,
    -1,
    2.5,
    1e9,
    "",
    "x",
    "X Y",
    " a",
    "a\n",
    "5m",
    "> 90%",
    "UPPER",
    "sum(rate(x[5m]))",
    [],
    ["x"],
    {},
    {"unknown": 1},
]


def _nodes(data: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path]
    if isinstance(data, dict):
        for key, value in data.items():
            found += _nodes(value, (*path, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            found += _nodes(value, (*path, index))
    return found


def _mutate(data: Any, rng: random.Random) -> Any:
    mutated = copy.deepcopy(data)
    path = rng.choice(_nodes(mutated)[1:] or [()])
    if not path:
        return rng.choice(_REPLACEMENTS)
    parent = mutated
    for token in path[:-1]:
        parent = parent[token]
    last = path[-1]
    value = parent[last]
    action = rng.choice(["replace", "replace", "remove", "add", "double", "empty", "case"])
    if action == "remove":
        del parent[last]
    elif action == "add" and isinstance(value, dict):
        value[rng.choice(["extra", "nmae", "labels", "for"])] = rng.choice(_REPLACEMENTS)
    elif action == "double" and isinstance(value, list) and value:
        value.append(copy.deepcopy(value[0]))
    elif action == "empty" and isinstance(value, list | dict | str):
        parent[last] = type(value)()
    elif action == "case" and isinstance(value, str):
        parent[last] = value.upper() if value != value.upper() else value + " "
    else:
        parent[last] = rng.choice(_REPLACEMENTS)
    return mutated


@pytest.mark.parametrize("seed", range(4))
def test_mutations_get_the_same_verdicts(seed: int) -> None:
    rng = random.Random(20261202 + seed)
    small = [(name, data) for name, data in DOCUMENTS if len(str(data)) < 20_000]
    verdicts = []
    for _ in range(1500):
        name, data = rng.choice(small)
        for _depth in range(rng.randint(1, 2)):
            data = _mutate(data, rng)
        verdicts.append(_same_verdict(f"a mutation of {name}", data))
    assert 0 < sum(verdicts) < len(verdicts)  # mutations that stay valid and ones that do not
