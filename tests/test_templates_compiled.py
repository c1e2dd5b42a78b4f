"""The templates rlmgen ships compiled (rlmgen/output/compiled/) are what Jinja compiles
from templates/; a build renders from them without compiling, and any template they were
not compiled from (an edited source, another Jinja) compiles as Jinja compiles it."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jinja2
import pytest

from rlmgen.derive.rules import derive_rules
from rlmgen.emit.runbook import context
from rlmgen.output import TEMPLATE_NAMES
from rlmgen.output.precompile import TARGET, compiled_module
from rlmgen.output.templating import COMPILED_PACKAGE, environment, module_name
from tests.conftest import seed_model

RUNBOOK = "runbook.md.j2"
MODULE = f"{COMPILED_PACKAGE}.{module_name(RUNBOOK)}"


def test_the_shipped_modules_are_what_jinja_compiles() -> None:
    for name in TEMPLATE_NAMES:
        shipped = (TARGET / f"{module_name(name)}.py").read_text(encoding="utf-8")
        assert shipped == compiled_module(environment(), name), (
            f"templates/{name} changed: run `python -m rlmgen.output.precompile`"
        )


@pytest.fixture
def compiles(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The names of the templates Jinja compiles from here on; the shipped runbook module
    imported afresh (the process's own environment may hold the one imported before)."""
    monkeypatch.delitem(sys.modules, MODULE, raising=False)
    compiled: list[str] = []
    original = jinja2.Environment.compile

    def recording(self: Any, source: Any, name: Any = None, *args: Any, **kw: Any) -> Any:
        compiled.append(name)
        return original(self, source, name, *args, **kw)

    monkeypatch.setattr(jinja2.Environment, "compile", recording)
    yield compiled


def _render(env: Any) -> str:
    model = seed_model()
    return str(env.get_template(RUNBOOK).render(context(model, derive_rules(model))))


def _compiled_by_jinja() -> str:
    env = environment.__wrapped__()
    source, _, _ = env.loader.get_source(env, RUNBOOK)
    template = env.from_string(source)  # compiled here, whatever is shipped
    model = seed_model()
    return str(template.render(context(model, derive_rules(model))))


def test_the_runbook_renders_from_the_shipped_module(compiles: list[str]) -> None:
    env = environment.__wrapped__()
    rendered = _render(env)
    assert compiles == []
    assert Path(env.get_template(RUNBOOK).filename) == Path(env.loader.searchpath[0]) / RUNBOOK
    assert rendered == _compiled_by_jinja()


@pytest.mark.parametrize(
    ("attribute", "value"),
    [("SOURCE_SHA256", "0" * 64), ("JINJA_VERSION", "2.11.3")],
    ids=["an edited template", "another Jinja"],
)
def test_a_module_compiled_from_something_else_is_not_used(
    compiles: list[str], monkeypatch: pytest.MonkeyPatch, attribute: str, value: str
) -> None:
    import importlib

    monkeypatch.setattr(importlib.import_module(MODULE), attribute, value)
    rendered = _render(environment.__wrapped__())
    assert compiles == [RUNBOOK]
    assert rendered == _compiled_by_jinja()


def test_a_second_environment_compiles_its_own(compiles: list[str]) -> None:
    """A loaded module's functions read the environment it was loaded into: another
    environment in the same process does not take it over."""
    first, second = environment.__wrapped__(), environment.__wrapped__()
    first_text = _render(first)
    assert compiles == []
    assert _render(second) == first_text
    assert compiles == [RUNBOOK]
    assert first.get_template(RUNBOOK).environment is first
