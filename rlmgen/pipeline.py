"""The compiler end to end, the one orchestrator every command uses: load each spec,
compile it (JSON Schema, then the compile walk), derive its rules, emit its artifacts and
render their bytes. No printing and no writing: the CLI and library callers decide.

    spec file --load--> document + source map --compile--> model | diagnostics
              --derive--> rules --emit--> {path: text} --render--> {path: bytes}
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import os
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rlmgen.compiled_dataclasses import dataclass
from rlmgen.model import types as m
from rlmgen.model.compile import compile_spec
from rlmgen.model.compile.walk import STRICT_ONLY_CHECKS
from rlmgen.model.conventions import CLUSTER_DIR
from rlmgen.output.digest import MANIFEST, files_digest
from rlmgen.spec.checks import CHECKS
from rlmgen.spec.compose import Reader, compose, included_path
from rlmgen.spec.diagnostics import Diagnostic, join_pointer, sort_key
from rlmgen.spec.loader import LoadedSpec, SpecLoadError, load_file, load_text
from rlmgen.spec.suggest import did_you_mean
from rlmgen.spec.suppressions import Suppressor

SPEC_SUFFIXES = (".yaml", ".yml")
ClusterParts = dict[str, Any]  # rlmgen.emit.ClusterParts (not imported: validate needs no emit)


@dataclass(frozen=True)
class Shared:
    """What the checks across the specs of an environment compare of a valid unit."""

    dashboard_uids: tuple[str, ...]
    platform: tuple[object, ...]  # the settings of _SHARED_PLATFORM, in its order

    @classmethod
    def of(cls, model: m.Spec) -> Shared:
        return cls(
            tuple(board.uid for board in model.dashboards),
            tuple(setting(model.platform) for _, setting in _SHARED_PLATFORM),
        )


@dataclass
class Compiled:
    """One unit's outcome (a spec, or one environment of a spec with environments): its
    diagnostics, its model when it has no error, and its files when they were asked for."""

    path: Path
    display: str
    service: str | None = None
    # (default factories: a plain default would be a class attribute, which a unit that
    # defers these two would find instead of reading them: see __getattr__)
    spec: LoadedSpec | None = dataclasses.field(default_factory=lambda: None)
    model: m.Spec | None = dataclasses.field(default_factory=lambda: None)
    diagnostics: list[Diagnostic] = dataclasses.field(default_factory=list)
    files: dict[str, bytes] = dataclasses.field(default_factory=dict)
    digest: str = ""  # of `files` (rlmgen.output.digest.files_digest), made with them
    # (which spec file of the run, which of its units): where a cached run finds its files
    position: tuple[int, int] = (-1, -1)
    environment: str | None = None
    # the fragments the spec includes (display paths): they are not specs themselves
    included: frozenset[str] = frozenset()
    # overlays its fragments hold for environments the spec does not declare
    elsewhere: dict[str, tuple[LoadedSpec, str]] = dataclasses.field(default_factory=dict)
    # what the checks across specs and the cluster-level files need of a valid unit, kept
    # apart from its model so that a rebuild need not read the models it did not compile
    shared: Shared | None = None
    cluster: ClusterParts | None = None
    # a unit read from the cache has its spec and model read only when first used
    model_deferred: bool = False
    _deferred: Callable[[], tuple[LoadedSpec | None, m.Spec | None]] | None = dataclasses.field(
        default=None, repr=False, compare=False
    )

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]

    @property
    def has_model(self) -> bool:
        """Whether the unit compiled, without reading a deferred model."""
        if "model" in self.__dict__:
            return self.__dict__["model"] is not None
        return self.model_deferred

    def without_model(self) -> tuple[Compiled, tuple[LoadedSpec | None, m.Spec | None]]:
        """The unit without its files, spec and model (what every rebuild reads), and its
        spec and model (what few read): see deferring."""
        light = copy.copy(self)
        light.files = {}
        light.model_deferred = self.model is not None
        del light.spec, light.model
        return light, (self.spec, self.model)

    def deferring(self, read: Callable[[], tuple[LoadedSpec | None, m.Spec | None]]) -> None:
        """A unit of without_model reads its spec and model with `read` when first used."""
        self._deferred = read

    if not TYPE_CHECKING:

        def __getattr__(self, name: str) -> Any:  # only called for a missing attribute
            read = self.__dict__.get("_deferred")
            if name not in ("spec", "model") or read is None:
                raise AttributeError(name)
            spec, model = read()
            self._deferred = None
            self.__dict__.setdefault("spec", spec)  # unless a check invalidated it since
            self.__dict__.setdefault("model", model)
            self.model_deferred = False
            return self.__dict__[name]

    @property
    def unit(self) -> str:
        """Its directory under out/: `<service>`, or `<environment>/<service>`."""
        service = self.service or "?"
        return f"{self.environment}/{service}" if self.environment else service


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


def read_file(shown: str) -> LoadedSpec:
    """An included file, by its display path (relative to the working directory)."""
    path = Path(shown)
    if not path.exists() and not path.is_symlink():
        raise FileNotFoundError(shown)
    return load_file(path, shown)


def compile_loaded(
    loaded: LoadedSpec, path: Path, source: str, *, strict: bool, read: Reader = read_file
) -> list[Compiled]:
    """The units of one spec: the spec itself, or one per environment it declares. A
    problem every environment has is reported once, as it is; one that only some have is
    reported for each of them, named by environment."""
    composed = compose(loaded, read)
    if composed.errors:  # what the spec is cannot be known: checking it says nothing true
        failed = Compiled(path, loaded.path, spec=composed.base)
        failed.diagnostics = sorted(composed.diagnostics, key=sort_key)
        failed.included = composed.included
        return [failed]
    if not composed.environments:
        base = _compile_document(composed.base, path, source, strict)
        base.diagnostics = sorted({*composed.diagnostics, *base.diagnostics}, key=sort_key)
        base.included = composed.included
        base.elsewhere = composed.elsewhere
        return [base]
    alike = _alike_environments(loaded, list(composed.environments))
    units = []
    # an environment's queries are checked against the namespace its base declares
    declared = composed.base.data if isinstance(composed.base.data, dict) else {}
    service = declared.get("service")
    namespace = service.get("namespace") if isinstance(service, dict) else None
    for name, document in composed.environments.items():
        unit = _compile_document(
            document, path, source, strict, namespace if isinstance(namespace, str) else None
        )
        unit.environment = name
        if unit.model is not None:
            unit.model = dataclasses.replace(unit.model, environment=name)
        unit.included = composed.included
        unit.elsewhere = composed.elsewhere
        units.append((unit, document))
    everywhere = set.intersection(*(set(unit.diagnostics) for unit, _ in units))
    # a problem some environments share, as the same words, is said once, naming them
    # all, by the first of them (a base line an environment's overlay changes is fine there)
    said: dict[tuple[Diagnostic, str], tuple[Compiled, list[str]]] = {}
    for unit, document in units:
        removed = composed.removals.get(unit.environment or "", [])
        for diagnostic in unit.diagnostics:
            if diagnostic in everywhere:
                continue
            hint = in_environment(diagnostic, unit.environment or "", document, removed).hint
            owner, names = said.setdefault((diagnostic, hint), (unit, []))
            names.append(unit.environment or "")
        unit.diagnostics = []
    for (diagnostic, hint), (owner, names) in said.items():
        owner.diagnostics.append(
            dataclasses.replace(
                diagnostic, message=_environment_names(names) + diagnostic.message, hint=hint
            )
        )
    first = units[0][0]
    first.diagnostics = [
        *sorted({*composed.diagnostics, *everywhere, *alike}, key=sort_key),
        *first.diagnostics,
    ]
    return [unit for unit, _ in units]


def in_environment(
    diagnostic: Diagnostic,
    environment: str,
    document: LoadedSpec,
    removed: Sequence[tuple[str, LoadedSpec, str]] = (),
) -> Diagnostic:
    """A diagnostic only one environment has, saying so; when it is located outside the
    environment's overlay (a level the overlay's new level now contradicts, a list the
    overlay emptied), the hint points at what the overlay changed nearest to it."""
    hint = diagnostic.hint
    overlay = f"/environments/{environment}/"
    if not diagnostic.pointer.startswith(overlay) and diagnostic.subject:
        changed = None
        for list_pointer, doc, there in removed:  # an item it removed, first
            named = _removed_name(doc, there)
            if named is not None and f"'{named}'" in diagnostic.message:
                # what the diagnostic misses is what the overlay switched off
                line, col = doc.source_map.value(there)
                hint = (
                    f"{environment} switches '{named}' off at {doc.path}:{line}:{col}: switch "
                    "off what uses it in that environment too, or keep it"
                )
                break
            if diagnostic.subject == list_pointer or diagnostic.subject.startswith(
                list_pointer + "/"
            ):
                line, col = doc.source_map.value(there)
                changed = f"{environment} removes {there} at {doc.path}:{line}:{col}"
                break
        said = changed or hint != diagnostic.hint  # the overlay's part is said already
        nearest = None if said else _nearest_change(document, diagnostic.subject, overlay)
        if nearest is not None:
            doc, there = document.origin(nearest)
            line, col = doc.source_map.value(there)
            changed = f"{environment} changes {nearest} at {doc.path}:{line}:{col}"
        if changed:
            hint = f"{hint}; {changed}" if hint else changed
    return dataclasses.replace(
        diagnostic, message=f"in environment '{environment}': {diagnostic.message}", hint=hint
    )


def _alike_environments(spec: LoadedSpec, names: list[str]) -> list[Diagnostic]:
    """Environments of one spec named alike (`canary` and `canari`): a misspelt overlay
    is an environment of its own, built with the base's settings where it says nothing,
    and the environment it meant never gets what it says. Alike: the same but for a '-',
    or one slip of a letter in a part longer than three letters; names
    apart on purpose (`us-east`, `us-west`; `prod1`, `prod2`; `prd-weu`, `prd-neu`) are not."""
    found = []
    written = [n for n in names if spec.has(join_pointer("/environments", n))]
    written.sort(key=lambda n: spec.source_map.key(join_pointer("/environments", n)))
    for index, name in enumerate(written):  # the later of two is the one reported
        pointer = join_pointer("/environments", name)
        for other in written[:index]:
            if not _alike(name, other):
                continue
            line, _ = spec.source_map.key(join_pointer("/environments", other))
            found.append(
                spec.diagnostic(
                    pointer,
                    f"environment '{name}' is named like '{other}' (line {line}): a "
                    f"misspelt overlay builds an environment of its own, with the base's "
                    f"settings where it says nothing, and '{other}' never gets what it says",
                    "give the two overlays one name, or name them further apart",
                    at_key=True,
                    severity="warning",
                    check="environment/alike",
                )
            )
            break
    return found


def _alike(one: str, other: str) -> bool:
    """Environment names (lowercase letters, digits and '-') one slip apart."""
    if one.replace("-", "") == other.replace("-", ""):
        return True  # `prod-eu`, `prodeu`
    parts, others = one.split("-"), other.split("-")
    if len(parts) != len(others):
        return False
    differing = [(a, b) for a, b in zip(parts, others, strict=True) if a != b]
    return (
        len(differing) == 1
        and min(len(differing[0][0]), len(differing[0][1])) > 3
        and _one_letter_slip(*differing[0])
    )


def _one_letter_slip(one: str, other: str) -> bool:
    """Whether the words differ by one letter changed, added or dropped, or two letters
    swapped (`canary`, `canari`; `staging`, `stagign`), not by a digit (`prod1`)."""
    if len(one) < len(other):
        one, other = other, one
    start = next(
        (i for i, (a, b) in enumerate(zip(one, other, strict=False)) if a != b), len(other)
    )
    if len(one) == len(other) + 1:  # one letter more
        return one[start].isalpha() and one[start + 1 :] == other[start:]
    if len(one) != len(other) or start == len(one):
        return False
    if one[start + 1 :] == other[start + 1 :]:  # one letter changed
        return one[start].isalpha() and other[start].isalpha()
    swapped = one[start : start + 2] == other[start : start + 2][::-1]
    return swapped and one[start + 2 :] == other[start + 2 :]


def _removed_name(doc: LoadedSpec, there: str) -> str | None:
    """The name of the item an overlay switches off at `there` (`- name: x` with
    disabled: true), by which other parts of the spec refer to it."""
    value: Any = doc.data
    for token in there.split("/")[1:]:
        token = token.replace("~1", "/").replace("~0", "~")
        if isinstance(value, dict):
            value = value.get(token)
        elif isinstance(value, list) and token.isdigit() and int(token) < len(value):
            value = value[int(token)]
        else:
            return None
    if not isinstance(value, dict):
        return None
    return next((v for k in ("name", "id", "uid") if isinstance(v := value.get(k), str)), None)


def _nearest_change(document: LoadedSpec, subject: str, overlay: str) -> str | None:
    """The value the overlay set that shares the longest part of `subject`'s pointer (at
    least the item of a list: /metrics/3)."""
    best, best_depth = None, 2
    tokens = subject.split("/")
    for pointer in sorted(document.origins or {}):
        if not document.origin(pointer)[1].startswith(overlay):
            continue
        depth = 0
        for mine, theirs in zip(tokens, pointer.split("/"), strict=False):
            if mine != theirs:
                break
            depth += 1
        if depth > best_depth:
            best, best_depth = pointer, depth
    return best


def _compile_document(
    loaded: LoadedSpec, path: Path, source: str, strict: bool, base_namespace: str | None = None
) -> Compiled:
    compilation = compile_spec(loaded, source, strict=strict, base_namespace=base_namespace)
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


def compile_file(path: Path, *, strict: bool = False, source: str | None = None) -> list[Compiled]:
    """Load and compile one spec file into its units (no artifacts)."""
    shown = display_path(path)
    try:
        loaded = load_file(path, shown)
    except SpecLoadError as exc:
        failed = Compiled(path, shown, diagnostics=exc.diagnostics)
        failed.included = _includes_written(path, shown)
        return [failed]
    return compile_loaded(loaded, path, source or shown, strict=strict)


# A top-level `include:` as most specs write it, a flow list or a block list after it.
_INCLUDE_LINE = re.compile(
    r"^include:[ \t]*(?:\[(?P<flow>[^\]\n]*)\]|(?P<block>(?:\n[ \t]+-[^\n]*)+))", re.M
)


def _includes_written(path: Path, shown: str) -> frozenset[str]:
    """The files a spec that YAML cannot read includes, read from its text line by line:
    they are fragments still, not specs of their own to report as such."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return frozenset()
    match = _INCLUDE_LINE.search(text)
    if match is None:
        return frozenset()
    listed = match["flow"].split(",") if match["flow"] is not None else match["block"].split("\n")
    names = [item.split("#", 1)[0].strip().lstrip("-").strip().strip("'\"") for item in listed]
    return frozenset(included_path(shown, name) for name in names if name)


def check_spec(path: Path, *, strict: bool = False, source: str | None = None) -> Compiled:
    """Load and compile one spec file; for a spec with environments, the first unit
    (which carries the diagnostics of the base)."""
    return compile_file(path, strict=strict, source=source)[0]


def _silent(_step: str) -> None:
    pass


def compile_specs(
    paths: Sequence[Path],
    out_dir: Path,
    *,
    generate: bool = True,
    strict: bool = False,
    on_step: Callable[[str], None] = _silent,
    jobs: int | None = None,
) -> list[Compiled]:
    """Compile every spec into its units; when all are valid and `generate`, render
    their files. A file another spec includes is a fragment, not a spec of its own.
    `on_step` hears what is being done (a progress display). Spec files are compiled by
    `jobs` processes (default: one per CPU), with the same result as one."""
    from rlmgen import cache
    from rlmgen import jobs as pieces

    work = [(path, header_source(path, out_dir), strict, generate) for path in paths]
    with cache.collecting_nothing():
        compiled: list[list[Compiled] | None] = [
            cache.load(path, args[1:]) if cache.enabled() else None
            for path, args in zip(paths, work, strict=True)
        ]
    todo = [index for index, units in enumerate(compiled) if units is None]
    # each piece stores its own entry: in parallel, and into the directory of this process
    # (a worker's environment is its fork server's)
    store_in = str(cache.directory()) if cache.enabled() else None

    def started(position: int) -> None:
        path = paths[todo[position]]
        on_step(f"compiling {display_path(path)} ({position + 1}/{len(todo)})")

    fresh = pieces.run_ordered(
        compile_and_generate,
        [(*work[index], store_in, len(todo) > 1) for index in todo],
        jobs if jobs is not None else pieces.default_jobs(),
        started,
        preload=[__name__],
    )
    for index, units in zip(todo, fresh, strict=True):
        compiled[index] = units
    for index, found in enumerate(compiled):
        for place, unit in enumerate(found or ()):
            unit.position = (index, place)
    results = _without_fragments([unit for units in compiled if units for unit in units])
    check_services_unique(results)
    check_environments(results)
    check_overlays_apply(results)
    check_environment_names(results)
    apply_suppressions(results, strict=strict, read_text=read_spec_text)
    if any(r.errors for r in results):  # nothing is built when any spec is invalid
        for result in results:
            result.files = {}
    return results


@dataclass(frozen=True)
class Built:
    """What a build writes and says, without the models: a build with every input as the
    last complete build had them is this record, read back."""

    diagnostics: list[Diagnostic]
    rows: list[tuple[str, str, int, str | None]]  # display, unit, files, environment
    units: dict[str, dict[str, bytes]]
    digests: dict[str, str]


def run_key(paths: Sequence[Path], out_dir: Path, cluster: bool) -> str | None:
    """The inputs of a build of `paths` into `out_dir`, when every spec has a valid cache
    entry (None otherwise): the entries' own keys name the specs, their includes and
    rlmgen."""
    from rlmgen import cache

    keys = []
    for path in paths:
        key = cache.header_key(path, (header_source(path, out_dir), False, True))
        if key is None:
            return None
        keys.append((str(path), key))
    return hashlib.sha256(repr((str(out_dir), cluster, keys)).encode()).hexdigest()


def cached_build(paths: Sequence[Path], out_dir: Path, cluster: bool) -> Built | None:
    """The last complete build's record, when nothing it was made from changed: its
    diagnostics (warnings), and its files read from the specs' cache entries."""
    from rlmgen import cache

    key = run_key(paths, out_dir, cluster)
    record = cache.load_run(out_dir, key) if key is not None else None
    if record is None:
        return None
    diagnostics, rows, order, cluster_units = record
    with cache.collecting_nothing():
        entries = [
            cache.load_files(path, (header_source(path, out_dir), False, True)) for path in paths
        ]
    units: dict[str, dict[str, bytes]] = {}
    digests: dict[str, str] = {}
    for unit, (index, place) in order:
        entry = entries[index]
        if entry is None:
            return None  # replaced since the key was read: build as usual
        units[unit], digests[unit] = entry[1][place]
    for unit, (files, digest) in cluster_units.items():
        units[unit], digests[unit] = files, digest
    return Built(diagnostics, rows, units, digests)


def record_build(
    paths: Sequence[Path],
    out_dir: Path,
    cluster: bool,
    results: Sequence[Compiled],
    units: Mapping[str, Mapping[str, bytes]],
    digests: Mapping[str, str],
) -> None:
    """Keep what a complete build wrote and said, for the next one to reuse."""
    from rlmgen import cache

    key = run_key(paths, out_dir, cluster)
    if key is None:
        return
    diagnostics = list(dict.fromkeys(d for r in results for d in r.diagnostics))
    valid = [r for r in results if r.has_model]
    rows = [(r.display, r.unit, len(r.files), r.environment) for r in valid]
    order = [(r.unit, r.position) for r in valid]
    cluster_units = {
        unit: (dict(files), digests[unit])
        for unit, files in units.items()
        if unit not in {r.unit for r in valid}
    }
    cache.store_run(out_dir, key, (diagnostics, rows, order, cluster_units))


def compile_and_generate(
    path: Path,
    source: str,
    strict: bool,
    generate: bool,
    store_in: str | None = None,
    among_many: bool = False,
) -> list[Compiled]:
    """One spec file's units, with their files when `generate` and the unit is valid
    (another spec's error can still keep them from being written), kept in the cache
    directory `store_in` when given; `among_many`: one of many spec files this process
    compiles. One piece of work of a parallel build: a top-level function, so that a
    worker process can run it."""
    from rlmgen import cache

    compiled_hash = cache.spec_hash(path) if store_in is not None else None
    units = compile_file(path, strict=strict, source=source)
    for unit in units:
        if unit.model is not None:
            unit.shared = Shared.of(unit.model)
    made = [
        (unit, unit.model)
        for unit in units
        if unit.model is not None and generate and not unit.errors
    ]
    if made:
        from rlmgen.emit import cluster_parts

        def parts() -> None:  # the parent's, while the child makes the tests
            for unit, model in made:
                unit.cluster = cluster_parts(model)

        produced = artifacts_of([model for _, model in made], parts, among_many=among_many)
        for (unit, _), files in zip(made, produced, strict=True):
            unit.files = files
            unit.digest = files_digest(files)
    if store_in is not None:
        included = {name for unit in units for name in unit.included}
        variant = (source, strict, generate)
        cache.store(path, variant, compiled_hash, included, units, directory=Path(store_in))
    return units


def read_spec_text(shown: str) -> str | None:
    try:
        return Path(shown).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return None  # reported by the load already


def apply_suppressions(
    results: list[Compiled], *, strict: bool, read_text: Callable[[str], str | None]
) -> None:
    """Drop the warnings that `# rlmgen: disable=` comments silence, and report the
    comments that silence nothing (not those for checks only --strict makes, without it)."""
    files = {r.display for r in results} | {f for r in results for f in r.included}
    suppressor = Suppressor(read_text, files)
    if not suppressor.suppressions:
        return
    for result in results:
        result.diagnostics = suppressor.filter(result.diagnostics)
    unfinished = {f for r in results if r.errors for f in (r.display, *r.included)}
    leftovers = suppressor.leftovers(
        quiet_checks=_LIVE_CHECKS | (frozenset() if strict else STRICT_ONLY_CHECKS),
        unfinished=unfinished,
        pointer_at=lambda file, line: _pointer_at(read_text(file) or "", file, line),
    )
    for diagnostic in leftovers:
        owner = next(
            (r for r in results if diagnostic.file in (r.display, *r.included)), results[0]
        )
        owner.diagnostics.append(diagnostic)


# Checks `rlmgen verify` and `rlmgen test` make, never a compile: their suppressions are
# theirs to use.
_LIVE_CHECKS = frozenset(c for c in CHECKS if c.startswith(("verify/", "judge/")))


def _pointer_at(text: str, shown: str, line: int) -> str:
    """The deepest value or key that starts on `line` of a spec file ("" when none)."""
    try:
        source_map = load_text(text, shown).source_map
    except SpecLoadError:
        return ""
    starts = [*source_map.keys.items(), *source_map.values.items()]
    found = [pointer for pointer, (at, _) in starts if at == line]
    return max(found, key=lambda p: p.count("/"), default="")


def outputs(results: Sequence[Compiled], *, cluster: bool = True) -> dict[str, dict[str, bytes]]:
    """Every directory a build writes, with its files: each unit's, and (with `cluster`:
    a build of every spec, since they are made of all of an environment's services) each
    environment's cluster-level outputs (`<environment>/_cluster`)."""
    from rlmgen.emit import emit_cluster_parts
    from rlmgen.output.writer import render

    found = {r.unit: r.files for r in results if r.has_model}
    for environment, members in sorted(environments(results).items() if cluster else ()):
        files = emit_cluster_parts([(r.service or "", _cluster(r)) for r in members if r.has_model])
        if files:
            found[f"{environment}/{CLUSTER_DIR}"] = render(
                files, f"every spec of environment {environment}"
            )
    return found


def _cluster(result: Compiled) -> ClusterParts:
    """The unit's parts of the cluster-level files (made here for a unit that was not
    generated by compile_and_generate)."""
    from rlmgen.emit import cluster_parts

    if result.cluster is None:
        assert result.model is not None
        result.cluster = cluster_parts(result.model)
    return result.cluster


def environments(results: Sequence[Compiled]) -> dict[str, list[Compiled]]:
    grouped: dict[str, list[Compiled]] = {}
    for result in results:
        if result.environment is not None:
            grouped.setdefault(result.environment, []).append(result)
    return grouped


# What every spec of one environment must agree on: the cluster runs one of each.
_SHARED_PLATFORM: tuple[tuple[str, Callable[[m.Platform], object]], ...] = (
    ("/platform/prometheusAdapter/namespace", lambda p: p.adapter_namespace),
    ("/platform/prometheusAdapter/configMap", lambda p: p.adapter_config_map),
    ("/platform/grafana/dashboardsPath", lambda p: p.dashboards_path),
    ("/platform/grafana/sidecar", lambda p: p.sidecar),
)


def check_environments(results: list[Compiled]) -> None:
    """The specs of one environment share a Grafana (dashboard uids unique) and the
    platform settings of its cluster (a spec that differs from most is reported). A
    clash every environment has is one diagnostic, without naming them."""
    grouped = environments(results)
    clashes: dict[tuple[str, str, str], list[str]] = {}  # (pointer, message, hint) -> envs
    owners: dict[tuple[str, str, str], list[Compiled]] = {}
    for environment, members in sorted(grouped.items()):
        for result, pointer, message, hint in _clashes(members):
            key = (pointer, message, hint)
            clashes.setdefault(key, []).append(environment)
            owners.setdefault(key, []).append(result)
    for (pointer, message, hint), names in clashes.items():
        where = "" if len(names) == len(grouped) else _environment_names(names)
        reported = owners[(pointer, message, hint)]
        for result in reported:
            result.model = None
        spec = reported[0].spec
        if spec is not None:
            check = (
                "dashboards/duplicate-uid"
                if pointer.startswith("/dashboards/")
                else ("platform/mismatch")
            )
            reported[0].diagnostics.append(
                spec.diagnostic(pointer, where + message, hint, check=check)
            )
    # specs without environments may well be shown by one Grafana too, where one of two
    # dashboards of a uid hides the other: said, as a warning (rlmgen cannot know)
    plain = [r for r in results if r.environment is None and r.has_model]
    for result, pointer, message, _ in _clashes(plain):
        if pointer.startswith("/dashboards/") and result.spec is not None:
            result.diagnostics.append(
                result.spec.diagnostic(
                    pointer,
                    message,
                    "a Grafana that shows both keeps one of them: give each dashboard a uid of "
                    "its own (prefix it with the service)",
                    severity="warning",
                    check="dashboards/duplicate-uid",
                )
            )


def _environment_names(names: list[str]) -> str:
    quoted = ", ".join(f"'{name}'" for name in names)
    return f"in environment{'s' if len(names) > 1 else ''} {quoted}: "


def _clashes(members: list[Compiled]) -> list[tuple[Compiled, str, str, str]]:
    """(the spec, pointer, message, hint) of each clash within one environment."""
    found = []
    valid = [r for r in members if r.has_model]
    shared = [_shared(r) for r in valid]
    uids: dict[str, Compiled] = {}
    for result, summary in zip(valid, shared, strict=True):
        for index, uid in enumerate(summary.dashboard_uids):
            other = uids.setdefault(uid, result)
            if other is not result:
                found.append(
                    (
                        result,
                        f"/dashboards/{index}/uid",
                        f"dashboard uid '{uid}' is also used by {other.display}",
                        "one Grafana shows every service of an environment: give each "
                        "dashboard a uid of its own (prefix it with the service)",
                    )
                )
    for place, (pointer, _) in enumerate(_SHARED_PLATFORM):
        values = [summary.platform[place] for summary in shared]
        common = max(values, key=values.count, default=None)  # ties: the first spec's
        reference = next((r for r, v in zip(valid, values, strict=True) if v == common), None)
        for result, value in zip(valid, values, strict=True):
            if value == common or reference is None:
                continue
            found.append(
                (
                    result,
                    pointer,
                    f"{_shown(value)} here, {_shown(common)} in {reference.display}; the "
                    "cluster of an environment runs one of it",
                    "give every spec of the environment the same settings (include one "
                    "shared fragment)",
                )
            )
    return found


def _shared(result: Compiled) -> Shared:
    if result.shared is None:  # a unit compiled without compile_and_generate
        assert result.model is not None
        result.shared = Shared.of(result.model)
    return result.shared


def _shown(value: object) -> str:
    if value is None:
        return "none"
    if dataclasses.is_dataclass(value):
        return "{" + ", ".join(f"{k}: {v}" for k, v in dataclasses.asdict(value).items()) + "}"  # type: ignore[arg-type]
    return f"'{value}'"


def check_overlays_apply(results: list[Compiled]) -> None:
    """An overlay a fragment holds for an environment no spec declares applies nowhere:
    most often a misspelt environment, whose cluster then runs the base's settings."""
    declared = {r.environment for r in results if r.environment}
    reported: set[tuple[str, str]] = set()
    for result in results:
        for name, (doc, pointer) in sorted(result.elsewhere.items()):
            if name in declared or (doc.path, pointer) in reported:
                continue
            reported.add((doc.path, pointer))
            result.diagnostics.append(
                doc.diagnostic(
                    pointer,
                    f"no spec declares environment '{name}': this overlay applies nowhere",
                    did_you_mean(name, declared)
                    or "declare the environment in a spec's environments, or remove this",
                    at_key=True,
                    severity="warning",
                    check="environment/unused-overlay",
                )
            )


def check_environment_names(results: list[Compiled]) -> None:
    """An environment only one spec file declares, named like one the others declare
    (`stagign` beside `staging`): most often a misspelling, which takes the service out of
    its environment's cluster files and makes a cluster of its own."""
    files: dict[str, set[str]] = {}  # environment: the spec files declaring it
    for result in results:
        if result.environment is not None:
            files.setdefault(result.environment, set()).add(result.display)
    for result in results:
        name = result.environment
        if name is None or files[name] != {result.display} or len(files) < 2:
            continue
        others = sorted(n for n, declaring in files.items() if n != name and len(declaring) > 1)
        suggestion = did_you_mean(name, others)
        if not suggestion:
            continue
        try:
            spec = load_file(result.path, result.display)
        except SpecLoadError:
            continue
        pointer = join_pointer("/environments", name)
        if not spec.has(pointer):
            continue
        result.diagnostics.append(
            spec.diagnostic(
                pointer,
                f"environment '{name}' is declared by this spec only; the others declare "
                f"{', '.join(repr(o) for o in others)}",
                suggestion,
                at_key=True,
                severity="warning",
                check="environment/lonely",
            )
        )


def _without_fragments(results: list[Compiled]) -> list[Compiled]:
    included = {path for r in results for path in r.included}
    return [r for r in results if r.display not in included]


def compile_texts(
    texts: Mapping[str, str], read_text: Callable[[str], str] | None = None
) -> list[Compiled]:
    """Compile specs given as text (keyed by how diagnostics name them), for reviews of
    specs that are not on disk, such as a git revision's; includes are read from the
    same texts, else through `read_text` (FileNotFoundError when there is no such file)."""
    loaded_texts: dict[str, LoadedSpec] = {}

    def read(shown: str) -> LoadedSpec:
        if shown not in texts and read_text is not None and shown not in loaded_texts:
            loaded_texts[shown] = load_text(read_text(shown), shown)
        if shown not in texts and shown not in loaded_texts:
            raise FileNotFoundError(shown)
        if shown not in loaded_texts:
            loaded_texts[shown] = load_text(texts[shown], shown)
        return loaded_texts[shown]

    results = []
    for shown in sorted(texts):
        try:
            loaded = load_text(texts[shown], shown)
        except SpecLoadError as exc:
            results.append(Compiled(Path(shown), shown, diagnostics=exc.diagnostics))
            continue
        results.extend(compile_loaded(loaded, Path(shown), shown, strict=False, read=read))
    results = _without_fragments(results)
    check_services_unique(results)
    apply_suppressions(results, strict=False, read_text=lambda shown: texts.get(shown))
    return results


def artifacts(model: m.Spec) -> dict[str, bytes]:
    """The exact bytes of every file a compiled spec produces."""
    return artifacts_of([model])[0]


def artifacts_of(
    models: Sequence[m.Spec],
    meanwhile: Callable[[], object] = lambda: None,
    *,
    among_many: bool = False,
) -> list[dict[str, bytes]]:
    """artifacts() of each compiled spec (a spec file's environments), made together: the
    work that goes to a second process goes there once for all of them, and `meanwhile()`
    runs here while it does. `among_many`: this build makes many spec files one after the
    other (a fork is then worth it only for a large spec)."""
    from rlmgen import emit
    from rlmgen.derive.rules import derive_rules
    from rlmgen.output.writer import encode, with_manifest

    made = emit.emit_each(
        [(model, derive_rules(model)) for model in models],
        lambda model, texts: encode(texts, model.source),
        meanwhile,
        fork_from=emit.FORK_MIN_WORK_AMONG_MANY if among_many else emit.FORK_MIN_WORK,
    )
    return [with_manifest(files, model.source) for files, model in zip(made, models, strict=True)]


def check_services_unique(results: list[Compiled]) -> None:
    """One spec per service and environment, and no environment named like a service
    without environments (both would be out/<name>/)."""
    first: dict[tuple[str | None, str], Compiled] = {}
    plain = {r.service: r for r in results if r.environment is None and r.service}
    units: dict[str, int] = {}  # spec file: its units
    for result in results:
        units[result.display] = units.get(result.display, 0) + 1
    # (spec file, the other spec file): the units that clash, said once when all of them do
    clashes: dict[tuple[str, str], list[Compiled]] = {}
    for result in results:
        if result.service is None or result.errors:
            continue
        key = (result.environment, result.service)
        if key in first and first[key].display != result.display:
            clashes.setdefault((result.display, first[key].display), []).append(result)
            result.model = None
        else:
            first.setdefault(key, result)
        if result.environment in plain:
            result.diagnostics.append(
                _spec(result).diagnostic(
                    "/service/name",
                    f"environment '{result.environment}' has the name of the service of "
                    f"{plain[result.environment].display}; both would be out/{result.environment}/",
                    "rename the environment or the service",
                    check="service/duplicate",
                )
            )
            result.model = None
    for (display, other), clashing in clashes.items():
        everywhere = len(clashing) == units[display] and len(clashing) > 1
        for result in clashing[:1] if everywhere else clashing:
            where = (
                f" in environment '{result.environment}'"
                if result.environment and not everywhere
                else ""
            )
            result.diagnostics.append(
                _spec(result).diagnostic(
                    "/service/name",
                    f"service '{result.service}' is also defined by {other}{where}",
                    "each service compiles into out/<service>: give every spec its own name",
                    check="service/duplicate",
                )
            )


def _spec(result: Compiled) -> LoadedSpec:
    """The spec of a unit without errors (read from the cache only when reported)."""
    assert result.spec is not None
    return result.spec
