"""The compiler end to end for one or more specs: load, validate, build the model,
generate, render. No printing and no writing: the CLI and library callers decide."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from pathlib import Path

from rlmgen.model.validate import validate
from rlmgen.spec.diagnostics import Diagnostic
from rlmgen.spec.loader import LoadedSpec, SpecLoadError, load_file

SPEC_SUFFIXES = (".yaml", ".yml")


@dataclasses.dataclass
class Compiled:
    path: Path
    display: str
    service: str | None = None
    spec: LoadedSpec | None = None
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
    root = out_dir.resolve().parent
    return Path(os.path.relpath(path.resolve(), root)).as_posix()


def discover(directory: Path) -> list[Path]:
    return sorted(p for p in directory.iterdir() if p.suffix in SPEC_SUFFIXES and p.is_file())


def check_spec(path: Path, *, strict: bool = False) -> tuple[LoadedSpec | None, list[Diagnostic]]:
    try:
        spec = load_file(path, display_path(path))
    except SpecLoadError as exc:
        return None, exc.diagnostics
    return spec, validate(spec, strict=strict)


def compile_specs(
    paths: Sequence[Path], out_dir: Path, *, generate: bool = True, strict: bool = False
) -> list[Compiled]:
    """Validate every spec; when all are valid and `generate`, render their files."""
    results = []
    for path in paths:
        spec, diagnostics = check_spec(path, strict=strict)
        result = Compiled(path, display_path(path), spec=spec, diagnostics=diagnostics)
        if spec is not None and isinstance(spec.data, dict):
            service = spec.data.get("service")
            if isinstance(service, dict) and isinstance(service.get("name"), str):
                result.service = service["name"]
        results.append(result)
    _check_services_unique(results)
    if generate and not any(r.errors for r in results):
        from rlmgen.emit import generate as run_generators
        from rlmgen.model.build import build_model
        from rlmgen.output.writer import render

        for result in results:
            assert result.spec is not None  # no errors means it loaded
            source = header_source(result.path, out_dir)
            model = build_model(result.spec.data, source)
            result.files = render(run_generators(model), source)
    return results


def _check_services_unique(results: list[Compiled]) -> None:
    first: dict[str, Compiled] = {}
    for result in results:
        if result.service is None or result.errors:
            continue
        if result.service in first:
            assert result.spec is not None
            spec = result.spec
            other = first[result.service].display
            result.diagnostics.append(
                spec.diagnostic(
                    "/service/name",
                    f"service '{result.service}' is also defined by {other}",
                    "each service compiles into out/<service>: give every spec its own name",
                )
            )
        else:
            first[result.service] = result
