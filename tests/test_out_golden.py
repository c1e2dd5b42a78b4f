"""The committed out/ is exactly what specs/ compiles to.

The golden lists the files each spec produces (so adding or dropping an artifact is
reviewed here); the bytes are compared with out/ itself, the project's golden record.
Regenerate with `rlmgen build && pytest --update-goldens`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from rlmgen.pipeline import compile_specs
from tests.conftest import REPO


@pytest.mark.golden_test("goldens/build/*.yml")
def test_committed_out_matches_the_compiled_spec(golden, in_repo: Path) -> None:
    spec = Path(golden["spec"])
    out_dir = Path("out")
    [result] = compile_specs([spec], out_dir)
    assert result.diagnostics == []
    assert list(result.files) == golden.out["files"]
    service_dir = REPO / out_dir / result.service
    committed = sorted(
        p.relative_to(service_dir).as_posix() for p in service_dir.rglob("*") if p.is_file()
    )
    assert committed == sorted(result.files), "out/ holds files the spec does not produce"
    for relative, data in result.files.items():
        assert (service_dir / relative).read_bytes() == data, f"out/{result.service}/{relative}"


def test_every_spec_has_a_build_golden() -> None:
    specs = {p.stem for p in (REPO / "specs").glob("*.yaml")}
    goldens = {p.stem for p in (REPO / "tests" / "goldens" / "build").glob("*.yml")}
    assert specs == goldens
