"""The committed out/ is exactly what specs/ compiles to.

The golden lists the files each spec produces in each of its environments (so adding or
dropping an artifact is reviewed here); the bytes are compared with out/ itself, the
project's golden record, cluster-level outputs included. Regenerate with
`rlmgen build && pytest --update-goldens`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from rlmgen.output.writer import MANIFEST
from rlmgen.pipeline import compile_specs, discover, outputs
from tests.conftest import REPO


@pytest.mark.golden_test("goldens/build/*.yml")
def test_committed_out_matches_the_compiled_spec(golden, in_repo: Path) -> None:
    spec = Path(golden["spec"])
    out_dir = Path("out")
    results = compile_specs([spec], out_dir)
    assert [d for r in results for d in r.diagnostics] == []
    assert {r.unit: list(r.files) for r in results} == golden.out["units"]
    for result in results:
        unit_dir = REPO / out_dir / result.unit
        committed = sorted(
            p.relative_to(unit_dir).as_posix() for p in unit_dir.rglob("*") if p.is_file()
        )
        assert committed == sorted(result.files), "out/ holds files the spec does not produce"
        for relative, data in result.files.items():
            assert (unit_dir / relative).read_bytes() == data, f"out/{result.unit}/{relative}"


def test_committed_out_is_the_whole_build(in_repo: Path) -> None:
    """Every file under out/, cluster-level outputs too, is what a build of specs/ writes."""
    built = outputs(compile_specs(discover(Path("specs")), Path("out")))
    expected = {
        f"{unit}/{path}": data for unit, files in built.items() for path, data in files.items()
    }
    out = REPO / "out"
    on_disk = {
        p.relative_to(out).as_posix(): p.read_bytes()
        for p in out.rglob("*")
        if p.is_file() and not p.name.startswith(".rlmgen-lock")
    }
    assert sorted(on_disk) == sorted(expected)
    assert [path for path in expected if on_disk[path] != expected[path]] == []
    assert {unit.split("/")[-1] for unit in built if unit.endswith("_cluster")} == {"_cluster"}
    assert all(f"{unit}/{MANIFEST}" in expected for unit in built)


def test_every_spec_has_a_build_golden() -> None:
    results = compile_specs(discover(REPO / "specs"), REPO / "out", generate=False)
    specs = {Path(r.display).stem for r in results}
    goldens = {p.stem for p in (REPO / "tests" / "goldens" / "build").glob("*.yml")}
    assert specs == goldens == {"rlm-hypervisor", "checkout-api"}
