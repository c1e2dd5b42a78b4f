"""The build cache: a spec file's compiled units (diagnostics, model and files), kept
until one of its inputs changes, so that a rebuild compiles only the specs that did.

An entry is found by the spec's path and how it is compiled (header source, strict,
generate), and used only when its inputs are byte-identical: the spec, every file it
includes, and rlmgen itself (its code, templates and schema, the Python and the
versions of the libraries that shape the output). Anything else is a miss, so a cached
build is a clean build's bytes. Entries live in `.rlmgen-cache/` of the working
directory (RLMGEN_CACHE_DIR elsewhere; RLMGEN_CACHE=0 turns the cache off); deleting
the directory is always safe.

An entry is its header (what it was made from), then each unit's files, then the units
without their specs and models (what the checks across specs and the cluster-level files
need is kept on the unit), then the specs and models, unpickled only when first used: a
rebuild with one spec changed reads no other spec's model."""

from __future__ import annotations

import contextlib
import functools
import gc
import hashlib
import json
import os
import pickle
import re
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

DIRECTORY_ENV = "RLMGEN_CACHE_DIR"
SWITCH_ENV = "RLMGEN_CACHE"
DEFAULT_DIRECTORY = Path(".rlmgen-cache")
# The libraries whose versions change what rlmgen writes or reports (tzdata: which
# locations are zones).
_SHAPING = ("pyyaml", "jinja2", "jsonschema", "promql-parser", "grafana-foundation-sdk", "tzdata")
_FORMAT = 4  # of an entry; bump when its layout changes


def enabled() -> bool:
    return os.environ.get(SWITCH_ENV, "1") not in ("0", "off", "no", "false")


def directory() -> Path:
    return Path(os.environ.get(DIRECTORY_ENV) or DEFAULT_DIRECTORY)


@functools.cache
def fingerprint() -> str:
    """rlmgen as it runs: every file of the package and its templates, the Python
    version and the libraries that shape output."""
    import rlmgen
    from rlmgen.output import template_directory

    digest = hashlib.sha256(f"{_FORMAT} {sys.version}".encode())
    for library in _SHAPING:
        version = library_version(library)
        digest.update(
            f"{library}={version}\n".encode() if version else f"{library} missing\n".encode()
        )
    for root in (Path(rlmgen.__file__).parent, Path(template_directory())):
        for path in sorted(root.rglob("*")):
            if path.is_file() and path.suffix in (".py", ".j2", ".json", ".yaml", ".yml"):
                digest.update(path.relative_to(root).as_posix().encode() + b"\0")
                digest.update(path.read_bytes())
    return digest.hexdigest()


def library_version(distribution: str) -> str | None:
    """The installed version of `distribution` as importlib.metadata finds it (the first
    `.dist-info` on sys.path), read from the directory's name: importing importlib.metadata
    costs 20-40 ms, a seventh of a `validate`. Any other layout (an egg, a dist-info without
    its version in its name) is asked of importlib.metadata itself."""
    wanted = _normalised(distribution)
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        for name in names:
            if not name.endswith((".dist-info", ".egg-info")):
                continue
            project, _, version = name.rpartition(".")[0].partition("-")
            if _normalised(project) != wanted:
                continue
            if name.endswith(".dist-info") and version and "-" not in version:
                return version
            return _version_from_metadata(distribution)
    return _version_from_metadata(distribution)


def _normalised(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def _version_from_metadata(distribution: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


@contextlib.contextmanager
def collecting_nothing() -> Iterator[None]:
    """Unpickling entries makes a million objects and no garbage: the collector would
    scan them again and again (40% of a no-change rebuild). Collect after, and leave
    what was loaded out of later collections (it lives until the process ends)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
        gc.freeze()


def _hash_file(path: str) -> str | None:
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return None


def _entry_path(spec: Path, variant: tuple[Any, ...], where: Path | None = None) -> Path:
    name = hashlib.sha256(repr((str(spec), variant)).encode()).hexdigest()[:32]
    return (where or directory()) / f"{name}.pickle"


# What reading an entry of another layout, or a damaged one, raises: a miss, never an error.
_DAMAGED = (
    OSError,
    EOFError,
    pickle.UnpicklingError,
    AttributeError,
    KeyError,
    TypeError,
    ValueError,
    IndexError,
    OverflowError,
    MemoryError,
)
_MAX_HEADER = 1 << 24  # bytes: a header lists a spec's includes, never this many


def _open_valid(spec: Path, variant: tuple[Any, ...]) -> tuple[Any, str] | None:
    """The entry's file, positioned after its header, and the header's digest (what the
    entry was made from), when all its inputs are as they were."""
    try:
        handle = open(_entry_path(spec, variant), "rb")  # noqa: SIM115 - returned open
    except OSError:
        return None
    try:
        size = int.from_bytes(handle.read(8), "big")
        if size > _MAX_HEADER:  # not an entry of this layout
            raise ValueError(size)
        raw = handle.read(size)
        header = pickle.loads(raw)
        valid = (
            header.get("rlmgen") == fingerprint()
            and header.get("spec") == spec_hash(spec)
            and all(_hash_file(name) == known for name, known in header["included"].items())
        )
    except _DAMAGED:
        valid = False
    if not valid:
        handle.close()
        return None
    return handle, hashlib.sha256(raw).hexdigest()


def load(spec: Path, variant: tuple[Any, ...]) -> Any | None:
    """The units cached for `spec` compiled as `variant`, when all its inputs are as
    they were; else None."""
    opened = _open_valid(spec, variant)
    if opened is None:
        return None
    handle, _ = opened
    with handle:
        try:
            files = pickle.load(handle)
            units = pickle.load(handle)
            # their specs and models, after their length (a truncated entry is a miss
            # here, not an error later): unpickled when first used
            length = int.from_bytes(handle.read(8), "big")
            deferred = handle.read(length)
            if len(deferred) != length or handle.read(1):
                raise EOFError("cut or extended")
        except _DAMAGED:
            return None  # damaged: compile instead
    read = functools.cache(lambda: pickle.loads(deferred))
    for place, (unit, (unit_files, digest)) in enumerate(zip(units, files, strict=True)):
        unit.files, unit.digest = unit_files, digest
        unit.deferring(lambda place=place: read()[place])
    return units


def header_key(spec: Path, variant: tuple[Any, ...]) -> str | None:
    """What the valid entry of `spec` was made from (None: no valid entry)."""
    opened = _open_valid(spec, variant)
    if opened is None:
        return None
    opened[0].close()
    return opened[1]


def load_files(spec: Path, variant: tuple[Any, ...]) -> tuple[str, list[Any]] | None:
    """The header key and each unit's (files, digest) of a valid entry, without
    unpickling its models."""
    opened = _open_valid(spec, variant)
    if opened is None:
        return None
    handle, key = opened
    with handle:
        try:
            return key, pickle.load(handle)
        except _DAMAGED:
            return None


def spec_hash(spec: Path) -> str | None:
    """The spec's hash, taken before it is compiled (an edit during the compile is then a
    miss next time, never units filed under the new text)."""
    return _hash_file(str(spec))


def store(
    spec: Path,
    variant: tuple[Any, ...],
    compiled_hash: str | None,
    included: Iterable[str],
    units: Any,
    *,
    directory: Path | None = None,
) -> None:
    """Keep `units` for `spec`, compiled from the text of `compiled_hash`. A cache that
    cannot be written is no error: the next build compiles again."""
    if compiled_hash is None:
        return
    header = {
        "rlmgen": fingerprint(),
        "spec": compiled_hash,
        "included": {name: _hash_file(name) for name in sorted(included)},
    }
    raw = pickle.dumps(header, protocol=pickle.HIGHEST_PROTOCOL)
    files = [(unit.files, unit.digest) for unit in units]
    light, heavy = zip(*(unit.without_model() for unit in units), strict=True)

    def write(handle: BinaryIO) -> None:
        handle.write(len(raw).to_bytes(8, "big") + raw)
        pickle.dump(files, handle, protocol=pickle.HIGHEST_PROTOCOL)
        pickle.dump(list(light), handle, protocol=pickle.HIGHEST_PROTOCOL)
        # pickled straight into the file (a 30,000-metric spec's model is 100 MB of
        # pickle), its length filled in after
        start = handle.tell()
        handle.write(bytes(8))
        pickle.dump(list(heavy), handle, protocol=pickle.HIGHEST_PROTOCOL)
        end = handle.tell()
        handle.seek(start)
        handle.write((end - start - 8).to_bytes(8, "big"))
        handle.seek(end)

    _replace(_entry_path(spec, variant, directory), write)


def _replace(target: Path, write: Callable[[BinaryIO], object]) -> None:
    """Write `target` whole or not at all: readers see the old file or the new one. A
    cache that cannot be written is no error (the next build computes again)."""
    staged = target.with_name(f".{target.name}.{os.getpid()}")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(staged, "wb") as handle:
            write(handle)
        os.replace(staged, target)
    except OSError:
        with contextlib.suppress(OSError):
            staged.unlink()


def _per_out_dir(out_dir: Path, kind: str, suffix: str) -> Path:
    """The cache file of `kind` for the output directory `out_dir`."""
    name = hashlib.sha256(str(out_dir.resolve()).encode()).hexdigest()[:32]
    return directory() / f"{kind}-{name}{suffix}"


def _stamps_path(out_dir: Path) -> Path:
    return _per_out_dir(out_dir, "stamps", ".json")


def load_stamps(out_dir: Path) -> dict[str, Any]:
    """What each service directory of `out_dir` held when rlmgen last wrote it."""
    try:
        found = json.loads(_stamps_path(out_dir).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def save_stamps(out_dir: Path, stamps: dict[str, Any]) -> None:
    text = json.dumps(stamps, sort_keys=True).encode("utf-8")
    _replace(_stamps_path(out_dir), lambda handle: handle.write(text))


def _run_path(out_dir: Path) -> Path:
    return _per_out_dir(out_dir, "run", ".pickle")


def load_run(out_dir: Path, key: str) -> Any | None:
    """What the last complete build into `out_dir` recorded, when it was made from the
    inputs `key` names."""
    try:
        with open(_run_path(out_dir), "rb") as handle:
            stored_key, record = pickle.load(handle)
    except _DAMAGED:
        return None
    return record if stored_key == key else None


def store_run(out_dir: Path, key: str, record: Any) -> None:
    _replace(
        _run_path(out_dir),
        lambda handle: pickle.dump((key, record), handle, protocol=pickle.HIGHEST_PROTOCOL),
    )
