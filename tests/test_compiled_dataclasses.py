"""rlmgen's dataclasses (`@dataclass`, `@frozen` of rlmgen.compiled_dataclasses) are the
classes `dataclasses.dataclass` makes, with their methods compiled ahead
(rlmgen/compiled_dataclasses_311.py) from the same texts."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from rlmgen.compiled_dataclasses import AHEAD_ENV, TARGET, dataclass, frozen, generated_module

# compiled ahead by (and for) one Python; another one's dataclasses compiles its own
ahead_here = pytest.mark.skipif(
    not TARGET.exists() or not hasattr(dataclasses, "_create_fn"),
    reason="no methods compiled ahead for Python {}.{}".format(*sys.version_info[:2]),
)
METHODS = ("__init__", "__repr__", "__eq__", "__hash__", "__setattr__", "__delattr__")


@ahead_here
def test_the_shipped_module_is_what_dataclasses_compiles() -> None:
    assert TARGET.read_text(encoding="utf-8") == generated_module(), (
        "a dataclass of rlmgen changed: run `python -m rlmgen.compiled_dataclasses`"
    )


# Imports every rlmgen module in a fresh process and prints, for each of rlmgen's
# dataclasses, the code of each method it has, and the methods dataclasses compiled itself.
_SURVEY = """
import dataclasses, importlib, json, sys
compiled = []
original = dataclasses._create_fn
def counting(name, *args, **kwargs):
    compiled.append(name)
    return original(name, *args, **kwargs)
dataclasses._create_fn = counting
from rlmgen.compiled_dataclasses import rlmgen_modules
classes = {}
for name in rlmgen_modules():
    module = importlib.import_module(name)
    for value in vars(module).values():
        if isinstance(value, type) and dataclasses.is_dataclass(value) and value.__module__ == name:
            classes[f"{name}.{value.__qualname__}"] = value
def code(function):
    if function is None:  # __hash__ of a mutable dataclass
        return None
    function = getattr(function, "__wrapped__", function)  # __repr__ guards recursion
    c = function.__code__
    return [function.__qualname__, c.co_code.hex(), repr(c.co_consts), c.co_names,
            c.co_varnames, repr(function.__defaults__), repr(function.__annotations__)]
methods = {
    name: {m: code(getattr(cls, m)) for m in %r if m in vars(cls)}
    for name, cls in classes.items()
}
print(json.dumps({"compiled": compiled, "methods": methods}))
"""


def _survey(ahead: bool) -> dict[str, Any]:
    run = subprocess.run(
        [sys.executable, "-c", _SURVEY % (METHODS,)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, AHEAD_ENV: "1" if ahead else "0"},
    )
    survey: dict[str, Any] = json.loads(run.stdout)
    return survey


@ahead_here
def test_every_dataclass_of_rlmgen_gets_the_methods_dataclasses_would_compile() -> None:
    """Compiled ahead, no method is compiled at import (bar the Grafana SDK's six); each
    method of each class has the same code (instructions, constants, names, defaults,
    annotations) as when dataclasses compiles them all itself."""
    ahead, plain = _survey(ahead=True), _survey(ahead=False)
    assert len(ahead["methods"]) >= 90
    assert len(plain["compiled"]) >= 500
    # the only classes of another package that rlmgen's modules import
    assert len(ahead["compiled"]) <= 6, ahead["compiled"]
    assert ahead["methods"] == plain["methods"]


@pytest.fixture
def compiled_by_dataclasses(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The names of the methods dataclasses compiles itself from here on."""
    if not hasattr(dataclasses, "_create_fn"):
        pytest.skip("this Python's dataclasses compiles a class's methods at once")
    compiled: list[str] = []
    original = dataclasses._create_fn  # type: ignore[attr-defined]

    def counting(name: str, *args: Any, **kwargs: Any) -> Any:
        compiled.append(name)
        return original(name, *args, **kwargs)

    monkeypatch.setattr(dataclasses, "_create_fn", counting)
    yield compiled


def test_a_class_compiled_ahead_of_nothing_is_still_a_frozen_dataclass(
    compiled_by_dataclasses: list[str],
) -> None:
    @frozen
    class Pair:
        first: int
        second: tuple[str, ...] = dataclasses.field(default_factory=tuple)

    assert sorted(compiled_by_dataclasses) == sorted(METHODS)  # none of its texts shipped
    pair = Pair(1)
    assert pair == Pair(1, ()) and hash(pair) == hash(Pair(1)) and pair != Pair(2)
    assert repr(pair).endswith("Pair(first=1, second=())")
    with pytest.raises(dataclasses.FrozenInstanceError):
        pair.first = 2  # type: ignore[misc]
    assert dataclasses.replace(pair, second=("x",)).second == ("x",)


def test_the_options_are_dataclasses_own() -> None:
    @dataclass
    class Mutable:
        value: int

    @dataclass(frozen=True, order=True)
    class Ordered:
        value: int

    @dataclass(frozen=True, eq=False)
    class Identity:
        value: int

    mutable = Mutable(1)
    mutable.value = 2
    assert mutable == Mutable(2)
    assert Ordered(1) < Ordered(2) and sorted([Ordered(3), Ordered(1)])[0] == Ordered(1)
    assert Identity(1) != Identity(1) and hash(Identity(1)) != hash(Identity(1))
