"""`@frozen` classes are the dataclasses `dataclasses.dataclass(frozen=True)` makes, with
their methods compiled ahead (rlmgen/model/compiled_methods_311.py) from the same texts."""

from __future__ import annotations

import dataclasses
import importlib.util
import sys
import types
from collections.abc import Iterator
from typing import Any

import pytest

from rlmgen.model import frozen as frozen_module
from rlmgen.model import types as model_types
from rlmgen.model.frozen import TARGET, frozen, generated_module

# compiled ahead by (and for) one Python; another one's dataclasses compiles its own
ahead_here = pytest.mark.skipif(
    not TARGET.exists(),
    reason="no methods compiled ahead for Python {}.{}".format(*sys.version_info[:2]),
)
METHODS = ("__init__", "__repr__", "__eq__", "__hash__", "__setattr__", "__delattr__")


@ahead_here
def test_the_shipped_module_is_what_dataclasses_compiles() -> None:
    assert TARGET.read_text(encoding="utf-8") == generated_module(), (
        "rlmgen.model.types changed: run `python -m rlmgen.model.frozen`"
    )


def _fresh_types(name: str) -> types.ModuleType:
    """rlmgen.model.types executed again as another module: its classes made afresh."""
    spec = importlib.util.spec_from_file_location(name, model_types.__file__)
    assert spec is not None and spec.loader is not None
    module = sys.modules[name] = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[name]
    return module


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


def _classes(module: types.ModuleType) -> dict[str, type]:
    return {
        name: value
        for name, value in vars(module).items()
        if isinstance(value, type)
        and dataclasses.is_dataclass(value)
        and value.__module__ == module.__name__
    }


@ahead_here
def test_the_model_compiles_no_method_at_import(compiled_by_dataclasses: list[str]) -> None:
    classes = _classes(_fresh_types("_rlmgen_types_ahead"))
    assert len(classes) >= 45
    assert compiled_by_dataclasses == []


@ahead_here
def test_the_methods_are_those_dataclasses_compiles(
    compiled_by_dataclasses: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same code (instructions, constants, names, defaults, annotations) for every
    method of every class, compiled ahead or by dataclasses itself."""
    ahead = _classes(_fresh_types("_rlmgen_types_ahead"))
    monkeypatch.setattr(frozen_module, "_compiled_functions", lambda: None)
    plain = _classes(_fresh_types("_rlmgen_types_plain"))
    assert len(compiled_by_dataclasses) == len(METHODS) * len(plain)
    assert ahead.keys() == plain.keys()
    for name, cls in ahead.items():
        assert cls.__dataclass_params__.frozen  # type: ignore[attr-defined]
        for method in METHODS:
            mine, theirs = getattr(cls, method), getattr(plain[name], method)
            assert mine.__qualname__ == theirs.__qualname__ == f"{name}.{method}"
            # __repr__ is wrapped (against recursion): compare the functions compiled
            mine = getattr(mine, "__wrapped__", mine)
            theirs = getattr(theirs, "__wrapped__", theirs)
            for attribute in ("co_code", "co_consts", "co_names", "co_varnames"):
                assert getattr(mine.__code__, attribute) == getattr(theirs.__code__, attribute), (
                    f"{name}.{method}: {attribute}"
                )
            assert repr(mine.__defaults__) == repr(theirs.__defaults__)
            assert repr(mine.__annotations__) == repr(theirs.__annotations__)


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
