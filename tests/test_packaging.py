"""Every package of the source tree is declared, so `pip install .` ships all of it."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
import zipfile
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


def test_a_built_wheel_compiles_the_seed_on_its_own(tmp_path: Path) -> None:
    """The wheel carries everything a build needs (templates, schema, every package):
    unpacked away from the checkout, it compiles the seed to the bytes of out/."""
    source = tmp_path / "source"  # built from a copy: no build/ left in the checkout
    for name in ("rlmgen", "templates"):
        shutil.copytree(REPO / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "-q", "-w", str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert built.returncode == 0, built.stderr
    [wheel] = tmp_path.glob("rlmgen-*.whl")
    unpacked = tmp_path / "unpacked"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(unpacked)
    program = f"""
import sys
sys.path.insert(0, {str(unpacked)!r})
from pathlib import Path
import rlmgen
from rlmgen.output.templating import template_directory
from rlmgen.pipeline import compile_specs
assert Path(rlmgen.__file__).is_relative_to({str(unpacked)!r}), rlmgen.__file__
assert Path(template_directory()).is_relative_to({str(unpacked)!r}), template_directory()
results = compile_specs([Path("specs/rlm-hypervisor.yaml")], Path("out"))
for result in results:
    for name, data in result.files.items():
        assert (Path("out") / result.unit / name).read_bytes() == data, name
from rlmgen.scaffold import files  # rlmgen init's templates are in the wheel too
assert len(files("shop", "rlmgen @ file:///x", "gitlab")) == 7
print(min(len(result.files) for result in results))
"""
    run = subprocess.run(
        [sys.executable, "-c", program], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr
    assert int(run.stdout) >= 15


def test_a_checkout_renders_its_own_templates() -> None:
    """Run from the sources (no install), the top-level templates/ is the one used."""
    from rlmgen.output.templating import template_directory

    assert Path(template_directory()) == REPO / "templates"
