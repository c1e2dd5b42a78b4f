"""The compiler end to end, the one orchestrator every command uses: load each spec,
compile it (JSON Schema, then the compile walk), derive its rules, emit its artifacts and
render their bytes. No printing and no writing: the CLI and library callers decide.

    spec file --load--> document + source map --compile--> model | diagnostics
              --derive--> rules --emit--> {path: text} --render--> {path: bytes}
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from rlmgen.model import types as m
from rlmgen.model.compile import compile_spec
from rlmgen.output.writer import MANIFEST
from rlmgen.spec.diagnostics import Diagnostic
from rlmgen.spec.loader import LoadedSpec, SpecLoadError, load_file, load_text

SPEC_SUFFIXES = (".yaml", ".yml")


@dataclasses.dataclass
class Compiled:
    """One spec's outcome: its diagnostics, its model when it has no error, and its files
    when they were asked for."""

    path: Path
    display: str
    service: str | None = None
    spec: LoadedSpec | None = None
    model: m.Spec | None = None
    diagnostics: list[Diagnostic] = dataclasses.field(default_factory=list)
    files: dict[str, bytes] = dataclasses.field(default_factory=dict)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]


def display_path(path: Path) -> str:
    """The path as diagnostics show it: relative to the working directory when inside it."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return str(path)


def header_source(path: Path, out_dir: Path) -> str:
    """The spec's path from the project root (the output directory's parent), so headers
    are the same whatever directory rlmgen runs from."""
    try:
        root = out_dir.resolve().parent
        return Path(os.path.relpath(path.resolve(), root)).as_posix()
    except (OSError, RuntimeError):  # a symlink loop: the writer reports the directory
        return display_path(path)


def discover(directory: Path) -> list[Path]:
    """The specs in a directory and its sub-directories, sorted: hidden ones aside, and
    rlmgen's own output (a directory holding its manifest) when -o pointed inside."""
    generated = {p.parent for p in directory.rglob(MANIFEST)}
    return sorted(
        p
        for p in directory.rglob("*")
        if p.suffix in SPEC_SUFFIXES
        and p.is_file()
        and not any(part.startswith(".") for part in p.relative_to(directory).parts)
        and not any(parent in generated for parent in p.parents)
    )


def compile_loaded(loaded: LoadedSpec, path: Path, source: str, *, strict: bool) -> Compiled:
    compilation = compile_spec(loaded, source, strict=strict)
    result = Compiled(
        path,
        loaded.path,
        spec=loaded,
        model=compilation.model,
        diagnostics=list(compilation.diagnostics),
    )
    service = loaded.data.get("service") if isinstance(loaded.data, dict) else None
    if isinstance(service, dict) and isinstance(service.get("name"), str):
        result.service = service["name"]
    return result


def check_spec(path: Path, *, strict: bool = False, source: str | None = None) -> Compiled:
    """Load and compile one spec file (no artifacts)."""
    shown = display_path(path)
    try:
        loaded = load_file(path, shown)
    except SpecLoadError as exc:
        return Compiled(path, shown, diagnostics=exc.diagnostics)
    return compile_loaded(loaded, path, source or shown, strict=strict)


def compile_specs(
    paths: Sequence[Path], out_dir: Path, *, generate: bool = True, strict: bool = False
) -> list[Compiled]:
    """Compile every spec; when all are valid and `generate`, render their files."""
    results = [
        check_spec(path, strict=strict, source=header_source(path, out_dir)) for path in paths
    ]
    check_services_unique(results)
    if generate and not any(r.errors for r in results):
        for result in results:
            if result.model is not None:
                result.files = artifacts(result.model)
    return results


def compile_texts(texts: Mapping[str, str]) -> list[Compiled]:
    """Compile specs given as text (keyed by how diagnostics name them), for reviews of
    specs that are not on disk, such as a git revision's."""
    results = []
    for shown, text in sorted(texts.items()):
        try:
            loaded = load_text(text, shown)
        except SpecLoadError as exc:
            results.append(Compiled(Path(shown), shown, diagnostics=exc.diagnostics))
            continue
        results.append(compile_loaded(loaded, Path(shown), shown, strict=False))
    check_services_unique(results)
    return results


def artifacts(model: m.Spec) -> dict[str, bytes]:
    """The exact bytes of every file a compiled spec produces."""
    from rlmgen.derive.rules import derive_rules
    from rlmgen.emit import emit_all
    from rlmgen.output.writer import render

    return render(emit_all(model, derive_rules(model)), model.source)


def check_services_unique(results: list[Compiled]) -> None:
    first: dict[str, Compiled] = {}
    for result in results:
        if result.service is None or result.errors or result.spec is None:
            continue
        if result.service in first:
            other = first[result.service].display
            result.diagnostics.append(
                result.spec.diagnostic(
                    "/service/name",
                    f"service '{result.service}' is also defined by {other}",
                    "each service compiles into out/<service>: give every spec its own name",
                )
            )
            result.model = None
        else:
            first[result.service] = result
