"""Every package of the source tree is declared, so `pip install .` ships all of it."""

from __future__ import annotations

import tomllib
from pathlib import Path

from tests.conftest import REPO


def test_every_package_is_listed_in_pyproject() -> None:
    declared = set(
        tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    )
    found = {
        ".".join(p.parent.relative_to(REPO).parts) for p in (REPO / "rlmgen").rglob("__init__.py")
    }
    assert declared == found | {"rlmgen.templates"}


def test_templates_are_found_from_a_checkout_and_when_installed() -> None:
    from rlmgen.output.templating import TEMPLATE_NAMES, template_directory

    directory = template_directory()
    for name in TEMPLATE_NAMES:
        assert (REPO / "templates" / name).is_file()
        assert (Path(directory) / name).is_file()
