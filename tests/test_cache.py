"""The build cache never changes what a build writes or says: after any sequence of edits
(levels, an included fragment, a broken spec and its fix, a file that did not change), a
cached build's out/ and diagnostics are a clean build's."""

from __future__ import annotations

import pickle
import random
import shutil
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from rlmgen import cache
from rlmgen.cli import cli
from tests.conftest import REPO

sys.path.insert(0, str(REPO / "benchmarks"))
import synth_platform

FRAGMENT = "specs/shared/receivers.yaml"


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def _build(out: str, *, cached: bool, monkeypatch: pytest.MonkeyPatch) -> tuple[int, str]:
    monkeypatch.setenv(cache.SWITCH_ENV, "1" if cached else "0")
    result = CliRunner().invoke(cli, ["-q", "build", "-j", "1", "-o", out])
    return result.exit_code, result.output


def _edit(root: Path, rng: random.Random) -> str:
    """One random edit of the kind commits make; says which."""
    specs = sorted((root / "specs").glob("svc-*.yaml"))
    spec = rng.choice(specs)
    text = spec.read_text()
    kind = rng.choice(["level", "fragment", "break", "fix", "touch", "remove-metric"])
    if kind == "level":
        old = rng.choice([v for v in ("> 90%", "> 95%", "> 80%") if v in text] or ["x"])
        text = text.replace(old, f"> {rng.randint(81, 99)}%", 1) if old != "x" else text
    elif kind == "fragment":
        fragment = root / FRAGMENT
        fragment.write_text(fragment.read_text().replace("#", f"#c{rng.randint(0, 9)}", 1))
        return kind
    elif kind == "break":
        text = text.replace("rate(", "rat(", 1)
    elif kind == "fix":
        for spec in specs:
            spec.write_text(spec.read_text().replace("rat(", "rate("))
        return kind
    elif kind == "remove-metric":
        start = text.find("\n- name:", text.find("metrics:"))
        end = text.find("\n- name:", start + 1)
        if start > 0 and end > 0 and "levels" in text[start:end]:
            text = text[:start] + text[end:]
    spec.write_text(text)  # "touch" writes the same bytes
    return kind


def _count_compiles(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the spec files compiled from now on (the cache's misses)."""
    import rlmgen.pipeline

    compiled: list[str] = []
    original = rlmgen.pipeline.compile_and_generate

    def counted(path: Path, *args: object) -> object:
        compiled.append(path.name)
        return original(path, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(rlmgen.pipeline, "compile_and_generate", counted)
    return compiled


@pytest.fixture
def platform(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    synth_platform.write(tmp_path, services=4, metrics=6)
    (tmp_path / "specs" / "shared").mkdir()
    (tmp_path / FRAGMENT).write_text(
        "routing:\n  receivers:\n    - name: audit\n      severities: [info]\n"
        "      continue: true\n"
        '      webhook: {url: "https://audit.example.com/#hook"}\n'
    )
    for spec in sorted((tmp_path / "specs").glob("svc-*.yaml")):
        spec.write_text("include: [shared/receivers.yaml]\n" + spec.read_text())
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(cache.DIRECTORY_ENV, str(tmp_path / "cache"))
    return tmp_path


def test_cached_builds_are_clean_builds_after_random_edits(
    platform: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = random.Random(20261201)
    kinds = []
    for _ in range(12):
        kinds.append(_edit(platform, rng))
        cached = _build("out-cached", cached=True, monkeypatch=monkeypatch)
        clean = _build("out-clean", cached=False, monkeypatch=monkeypatch)
        assert cached == clean, kinds
        assert _tree(platform / "out-cached") == _tree(platform / "out-clean"), kinds
    assert {"level", "fragment", "break", "fix"} <= set(kinds)
    assert any((platform / "cache").iterdir())


def test_an_unchanged_spec_is_not_compiled_again(
    platform: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _build("out", cached=True, monkeypatch=monkeypatch)[0] == 0
    compiled = _count_compiles(monkeypatch)
    assert _build("out", cached=True, monkeypatch=monkeypatch)[0] == 0
    assert compiled == []
    spec = platform / "specs" / "svc-002.yaml"
    spec.write_text(spec.read_text() + "# a comment changes its bytes, so it is compiled\n")
    assert _build("out", cached=True, monkeypatch=monkeypatch)[0] == 0
    assert compiled == ["svc-002.yaml"]
    (platform / FRAGMENT).write_text((platform / FRAGMENT).read_text() + "\n")
    compiled.clear()
    assert _build("out", cached=True, monkeypatch=monkeypatch)[0] == 0
    # the fragment itself, and every spec that includes it
    assert sorted(compiled) == ["receivers.yaml", *(f"svc-00{i}.yaml" for i in range(4))]


def test_a_rebuild_reads_only_the_models_it_uses(
    platform: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The specs and models of cached units are read when first used, and then are what a
    compile makes; a rebuild with one spec changed reads none of the others' (the checks
    across specs and the cluster files use what each unit shares)."""
    from rlmgen.pipeline import compile_specs, discover, outputs

    monkeypatch.setenv(cache.SWITCH_ENV, "1")
    paths = discover(Path("specs"))
    compile_specs(paths, Path("out"), jobs=1)
    spec = platform / "specs" / "svc-002.yaml"
    spec.write_text(spec.read_text() + "# changed\n")
    results = compile_specs(paths, Path("out"), jobs=1)
    built = outputs(results)
    deferred = [r.unit for r in results if "model" not in r.__dict__]
    assert sorted(deferred) == sorted(
        f"{env}/svc-00{i}" for env in ("production", "staging") for i in (0, 1, 3)
    )
    monkeypatch.setenv(cache.SWITCH_ENV, "0")
    fresh = {r.unit: r for r in compile_specs(paths, Path("out"), jobs=1)}
    assert outputs(list(fresh.values())) == built
    for result in results:
        assert result.has_model
        assert result.model == fresh[result.unit].model
        assert result.spec is not None and result.spec.data == fresh[result.unit].spec.data  # type: ignore[union-attr]


def test_a_damaged_or_deleted_cache_is_a_miss(
    platform: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rlmgen.pipeline import compile_specs, discover

    code, output = _build("out", cached=True, monkeypatch=monkeypatch)
    assert code == 0, output
    before = _tree(platform / "out")
    for entry in (platform / "cache").iterdir():
        entry.write_bytes(entry.read_bytes()[:100])
    assert _build("out", cached=True, monkeypatch=monkeypatch)[0] == 0
    assert _tree(platform / "out") == before
    for entry in (platform / "cache").iterdir():  # cut in the deferred specs and models
        if not entry.name.startswith(("run-", "stamps-")):
            entry.write_bytes(entry.read_bytes()[:-100])
    with monkeypatch.context() as patched:
        compiled = _count_compiles(patched)
        results = compile_specs(discover(Path("specs")), Path("out"), jobs=1)
    assert len(compiled) == 5  # every spec and the fragment: no entry was used
    assert all(r.model is not None for r in results)
    for entry in (platform / "cache").iterdir():  # entries of another layout
        entry.write_bytes(pickle.dumps({"an": "older rlmgen's entry"}) * 3)
    assert _build("out", cached=True, monkeypatch=monkeypatch)[0] == 0
    assert _tree(platform / "out") == before
    for entry in (platform / "cache").iterdir():
        entry.unlink()
    (platform / "cache").rmdir()
    assert _build("out", cached=True, monkeypatch=monkeypatch)[0] == 0
    assert _tree(platform / "out") == before


def test_another_rlmgen_does_not_use_the_entries(
    platform: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An entry made by other rlmgen code (or another Python or library version) is a
    miss: its fingerprint differs."""
    assert _build("out", cached=True, monkeypatch=monkeypatch)[0] == 0
    compiled = _count_compiles(monkeypatch)
    monkeypatch.setattr(cache, "fingerprint", lambda: "another rlmgen")
    assert _build("out", cached=True, monkeypatch=monkeypatch)[0] == 0
    assert len(compiled) == 5  # every spec and the fragment, compiled again


def test_hand_edits_of_out_are_undone_by_a_cached_build(
    platform: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A unit the stamps say is unchanged is not read back; one edited, extended or cut
    by hand since is rebuilt, as a clean build would."""
    assert _build("out", cached=True, monkeypatch=monkeypatch)[0] == 0
    assert _build("out", cached=True, monkeypatch=monkeypatch)[0] == 0  # stamps taken
    clean = _tree(platform / "out")
    unit = platform / "out" / "production" / "svc-001"
    runbook = next(unit.rglob("README.md"))
    runbook.write_bytes(runbook.read_bytes().replace(b"Service", b"Servic", 1))
    (unit / "notes.txt").write_text("mine\n")
    next(unit.rglob("*.json")).unlink()
    assert _build("out", cached=True, monkeypatch=monkeypatch)[0] == 0
    assert _tree(platform / "out") == clean


def test_check_takes_the_fast_path_and_still_sees_drift(
    platform: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import rlmgen.pipeline

    assert _build("out", cached=True, monkeypatch=monkeypatch)[0] == 0
    assert _build("out", cached=True, monkeypatch=monkeypatch)[0] == 0
    monkeypatch.setenv(cache.SWITCH_ENV, "0")
    clean = CliRunner().invoke(cli, ["check", "-o", "out"])
    assert (clean.exit_code, clean.stderr) == (0, "ok: out/ matches 4 specs\n")
    monkeypatch.setenv(cache.SWITCH_ENV, "1")
    monkeypatch.setattr(rlmgen.pipeline, "compile_and_generate", None)  # must not be needed
    result = CliRunner().invoke(cli, ["check", "-o", "out"])
    assert (result.exit_code, result.output) == (clean.exit_code, clean.output)
    runbook = next((platform / "out" / "staging" / "svc-003").rglob("README.md"))
    runbook.write_bytes(runbook.read_bytes() + b"\n")
    result = CliRunner().invoke(cli, ["check", "-o", "out"])
    assert result.exit_code == 1
    assert "out/staging/svc-003/runbook/README.md" in result.stdout


def test_a_cache_that_cannot_be_written_or_read_is_no_error(
    platform: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cache directory that is a file (nothing can be stored), then compiled templates
    that are garbage: builds succeed with a clean build's bytes."""
    from rlmgen.output import templating

    def build(out: str, *, cached: bool) -> tuple[int, str]:
        templating.environment.cache_clear()  # as in a new process
        return _build(out, cached=cached, monkeypatch=monkeypatch)

    clean = build("out-clean", cached=False)
    blocked = platform / "blocked"
    blocked.write_text("not a directory\n")
    monkeypatch.setenv(cache.DIRECTORY_ENV, str(blocked))
    assert build("out", cached=True) == clean
    assert _tree(platform / "out") == _tree(platform / "out-clean")
    monkeypatch.setenv(cache.DIRECTORY_ENV, str(platform / "cache"))
    assert build("out", cached=True) == clean
    templates = list((platform / "cache").glob("jinja-*/*"))
    assert templates  # the runbook's template, compiled once
    for compiled in templates:
        compiled.write_bytes(b"garbage")
    for entry in (platform / "cache").glob("*.pickle"):  # so that runbooks are rendered
        entry.unlink()
    shutil.rmtree(platform / "out")
    assert build("out", cached=True) == clean
    assert _tree(platform / "out") == _tree(platform / "out-clean")


def test_library_versions_are_what_importlib_metadata_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fingerprint reads versions from .dist-info names (no importlib.metadata import):
    the same answers, the first on sys.path winning, eggs asked of importlib.metadata."""
    from importlib import metadata

    def reference(name: str) -> str | None:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return None

    first, second = tmp_path / "first", tmp_path / "second"
    for where, version in ((first, "1.2.3"), (second, "9.9")):
        info = where / f"Shaping.Lib-{version}.dist-info"
        info.mkdir(parents=True)
        (info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: shaping-lib\nVersion: {version}\n"
        )
    egg = tmp_path / "first" / "egged_lib-0.0.egg-info"  # an egg-info name can be stale
    egg.mkdir()
    (egg / "PKG-INFO").write_text("Metadata-Version: 2.1\nName: egged-lib\nVersion: 4.5\n")
    monkeypatch.setattr(sys, "path", [str(first), str(second), *sys.path])
    names = [*cache._SHAPING, "click", "shaping-lib", "shaping_lib", "egged-lib", "not-installed"]
    assert {name: cache.library_version(name) for name in names} == {
        name: reference(name) for name in names
    }
    assert cache.library_version("shaping-lib") == "1.2.3"
    assert cache.library_version("egged-lib") == "4.5"
