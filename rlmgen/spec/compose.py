"""Composition of a spec from several YAML documents: `include`d fragments under it and,
per environment, an overlay over it. The result is one document whose every value still
knows the file and line it came from, so later checks locate problems in the file that
holds the mistake.

The merge, the same everywhere:
- mappings merge key by key; `null` removes the key;
- lists of named things (IDENTITY: metrics by name, dashboards by uid, panels by title,
  ...) merge item by item on that key, in the base's order; an item with
  `disabled: true` is removed;
- anything else (scalars, other lists) is replaced whole.
A fragment may add named items; an environment's overlay changes what the base has, so a
name it gives that the base lacks is an error, as is a change of kind (a mapping where
the base has text). A spec's environments are those it names itself: a fragment may hold
overlays for them, merged under the spec's own, but adds no environment.
"""

from __future__ import annotations

import dataclasses
import posixpath
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any

from rlmgen.compiled_dataclasses import dataclass
from rlmgen.spec.diagnostics import Diagnostic, join_pointer
from rlmgen.spec.loader import LoadedSpec, SpecLoadError
from rlmgen.spec.suggest import ask, closest, did_you_mean

INCLUDE_KEY = "include"
ENVIRONMENTS_KEY = "environments"
DISABLED_KEY = "disabled"
# The key that names the items of each list merged item by item (by the list's own key).
IDENTITY = {
    "metrics": "name",
    "alertGroups": "name",
    "alerts": "name",
    "slos": "name",
    "receivers": "name",
    "timeIntervals": "name",
    "dashboards": "uid",
    "rows": "title",
    "panels": "title",
    "variables": "name",
    "autoscaling": "name",
    "severityLevels": "name",
    "playbooks": "id",
    "commands": "description",
    "checklists": "title",
    "scheduledChecks": "id",
    "contacts": "label",
    "checks": "label",  # health.checks
}
_ENVIRONMENT_NAME = "lowercase letters, digits and '-'"


def _nearest_file(path: str, written: str) -> str:
    """`did you mean` the YAML file beside the missing one whose name is nearest."""
    folder = PurePosixPath(path).parent
    try:
        names = sorted(p.name for p in Path(folder).iterdir() if p.suffix in (".yaml", ".yml"))
    except OSError:  # not on disk (a review of a git revision): no guess
        return ""
    found = closest(PurePosixPath(path).name, names)
    if not found:
        return ""
    return ask([str(PurePosixPath(written).parent / found[0]).removeprefix("./")])


# How a path named by `include` is read: a display path in, a loaded document out (or
# SpecLoadError; FileNotFoundError when there is no such file).
Reader = Callable[[str], LoadedSpec]
Where = Callable[[str], tuple[LoadedSpec, str]]


@dataclass
class Composed:
    """A spec file with its includes applied (`base`), each environment's document, the
    files it included, and what went wrong composing them."""

    base: LoadedSpec
    environments: dict[str, LoadedSpec]
    included: frozenset[str]
    diagnostics: list[Diagnostic]
    # overlays fragments hold for environments this spec does not declare: where each is
    elsewhere: dict[str, tuple[LoadedSpec, str]] = dataclasses.field(default_factory=dict)
    # per environment, the items its overlay removed: (the list's pointer in the
    # environment's document, the file and pointer of the `disabled: true` item)
    removals: dict[str, list[tuple[str, LoadedSpec, str]]] = dataclasses.field(default_factory=dict)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]


def included_path(including: str, written: str) -> str:
    """An include's display path: relative to the directory of the file that names it."""
    return posixpath.normpath(posixpath.join(posixpath.dirname(including), written))


def compose(loaded: LoadedSpec, read: Reader) -> Composed:
    """The spec `loaded` with its includes (recursively) and environments applied."""
    state = _State(read)
    data, where = state.layered(loaded, (loaded.path,))
    environments = None
    if isinstance(data, dict) and ENVIRONMENTS_KEY in data:
        environments = data[ENVIRONMENTS_KEY]
        data = {k: v for k, v in data.items() if k != ENVIRONMENTS_KEY}
    # the common case, one file and no environments, has nothing to trace
    plain = not state.composed and environments is None
    base = loaded if plain else _document(loaded, data, where)
    documents: dict[str, LoadedSpec] = {}
    # A spec deploys to the environments it names itself; a fragment may hold overlays for
    # them (applied under the spec's own), never add one.
    own = loaded.data.get(ENVIRONMENTS_KEY) if isinstance(loaded.data, dict) else None
    named = set(own) if isinstance(own, dict) else set()
    removals: dict[str, list[tuple[str, LoadedSpec, str]]] = {}
    elsewhere = {}
    if isinstance(environments, dict):
        elsewhere = {
            name: where(join_pointer(f"/{ENVIRONMENTS_KEY}", name))
            for name in environments
            if name not in named and isinstance(name, str)
        }
    if environments is not None and own is not None:
        for name, overlay in _environments(state, environments, where):
            if name not in named:
                continue
            state.environment, state.removed = name, []
            merged = state.merge(
                data, where, "", overlay, where, f"/{ENVIRONMENTS_KEY}/{name}", strict=True
            )
            documents[name] = _document(loaded, merged, state.last_origins)
            removals[name] = state.removed
            state.environment = None
    return Composed(
        base, documents, frozenset(state.included), state.diagnostics, elsewhere, removals
    )


def _document(loaded: LoadedSpec, data: Any, where: Where) -> LoadedSpec:
    origins: dict[str, tuple[LoadedSpec, str]] = {}
    _trace(data, "", where, origins)
    return LoadedSpec(loaded.path, loaded.text, data, loaded.source_map, origins)


def _trace(value: Any, pointer: str, where: Where, into: dict[str, tuple[LoadedSpec, str]]) -> None:
    into[pointer] = where(pointer)
    if isinstance(value, dict):
        for key, child in value.items():
            _trace(child, join_pointer(pointer, key), where, into)
    elif isinstance(value, list):
        for index, child in enumerate(value):
            _trace(child, f"{pointer}/{index}", where, into)


def _environments(
    state: _State, environments: Any, where: Where
) -> list[tuple[str, dict[str, Any]]]:
    pointer = f"/{ENVIRONMENTS_KEY}"
    if not isinstance(environments, dict):
        state.error(
            where,
            pointer,
            "environments is a mapping of environment name to overlay",
            check="environment/invalid",
        )
        return []
    found = []
    for name, overlay in environments.items():
        at = join_pointer(pointer, name)
        if not _is_identifier(name):
            state.error(
                where,
                at,
                f"environment name '{name}': use {_ENVIRONMENT_NAME}",
                at_key=True,
                check="environment/invalid",
            )
            continue
        if overlay is None:
            overlay = {}
        if not isinstance(overlay, dict):
            state.error(
                where,
                at,
                "an environment is a mapping: the parts of the spec that differ in it",
                "write {} for an environment that is the base as it is",
                check="environment/invalid",
            )
            continue
        if INCLUDE_KEY in overlay or ENVIRONMENTS_KEY in overlay:
            key = INCLUDE_KEY if INCLUDE_KEY in overlay else ENVIRONMENTS_KEY
            state.error(
                where,
                join_pointer(at, key),
                f"'{key}' belongs at the top of the spec, not in an environment",
                at_key=True,
                check="environment/invalid",
            )
            continue
        found.append((name, overlay))
    return sorted(found)


def _is_identifier(name: str) -> bool:
    return (
        0 < len(name) <= 63
        and name[0] != "-"
        and name[-1] != "-"
        and all(c.islower() or c.isdigit() or c == "-" for c in name)
        and name.isascii()
    )


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return "a value"


class _State:
    def __init__(self, read: Reader):
        self.read = read
        self.diagnostics: list[Diagnostic] = []
        self.included: set[str] = set()
        # an include could not be read: the base lacks what it holds, so an overlay's item
        # that names nothing in the base may name something of it (not reported)
        self.incomplete = False
        self.composed = False
        self.last_origins: Where = _own
        self.environment: str | None = None  # the overlay being merged
        self.removed: list[tuple[str, LoadedSpec, str]] = []

    def error(
        self,
        where: Where,
        pointer: str,
        message: str,
        hint: str = "",
        *,
        check: str,
        at_key: bool = False,
    ) -> None:
        doc, there = where(pointer)
        line, col = doc.source_map.key(there) if at_key else doc.source_map.value(there)
        if self.environment is not None:
            message = f"in environment '{self.environment}': {message}"
        self.diagnostics.append(Diagnostic(doc.path, line, col, there, message, hint, check=check))

    # --- includes -----------------------------------------------------------------------

    def layered(self, loaded: LoadedSpec, stack: tuple[str, ...]) -> tuple[Any, Where]:
        """`loaded` over the fragments it includes (each over its own), and where each of
        the result's values came from."""
        own = _owner(loaded)
        data = loaded.data
        if not isinstance(data, dict) or INCLUDE_KEY not in data:
            return data, own
        self.composed = True
        data = dict(data)
        paths = data.pop(INCLUDE_KEY)
        if isinstance(paths, str):
            paths = [paths]
        if not isinstance(paths, list):
            self.error(
                own,
                f"/{INCLUDE_KEY}",
                "include is a list of relative paths",
                check="include/invalid",
            )
            return data, own
        acc: Any = None
        acc_where: Where = own
        for index, written in enumerate(paths):
            at = f"/{INCLUDE_KEY}/{index}"
            fragment = self._fragment(loaded, written, at, stack)
            if fragment is None:
                continue
            layer, layer_where = fragment
            if not isinstance(layer, dict):
                self.error(
                    own, at, "an included file is a mapping of spec keys", check="include/invalid"
                )
                continue
            if acc is None:
                acc, acc_where = layer, layer_where
            else:
                acc = self.merge(acc, acc_where, "", layer, layer_where, "", strict=False)
                acc_where = self.last_origins
        if acc is None:
            return data, own
        merged = self.merge(acc, acc_where, "", data, own, "", strict=False)
        return merged, self.last_origins

    def _fragment(
        self, loaded: LoadedSpec, written: Any, at: str, stack: tuple[str, ...]
    ) -> tuple[Any, Where] | None:
        own = _owner(loaded)
        if not isinstance(written, str) or not written.strip():
            self.error(
                own, at, "an include is a path relative to this file", check="include/invalid"
            )
            return None
        if written.startswith("/"):
            self.error(
                own,
                at,
                f"include '{written}' is an absolute path",
                "write it relative to this file, so the specs work in any checkout",
                check="include/invalid",
            )
            return None
        path = included_path(loaded.path, written)
        if path in stack:
            chain = " -> ".join((*stack[stack.index(path) :], path))
            self.error(
                own,
                at,
                f"include cycle: {chain}",
                "a file cannot include itself, directly or through others: remove one of "
                "these includes",
                check="include/invalid",
            )
            return None
        try:
            fragment = self.read(path)
        except FileNotFoundError:
            self.incomplete = True
            self.error(
                own,
                at,
                f"include '{written}': no such file ({path})",
                _nearest_file(path, written),
                check="include/invalid",
            )
            return None
        except SpecLoadError as exc:
            self.incomplete = True
            self.diagnostics.extend(exc.diagnostics)
            return None
        self.included.add(path)
        return self.layered(fragment, (*stack, path))

    # --- the merge ----------------------------------------------------------------------

    def merge(
        self,
        base: Any,
        base_where: Where,
        base_at: str,
        top: Any,
        top_where: Where,
        top_at: str,
        *,
        strict: bool,
    ) -> Any:
        """`top` merged over `base` (both at their pointers); afterwards `last_origins`
        says where each value of the result came from."""
        origins: dict[str, tuple[Where, str]] = {}
        merged = self._merge(
            base, base_where, base_at, top, top_where, top_at, "", origins, strict, ""
        )

        def where(pointer: str) -> tuple[LoadedSpec, str]:
            ancestor, suffix = pointer, ""
            while ancestor not in origins:
                if not ancestor:
                    return base_where(pointer)
                ancestor, last = ancestor.rsplit("/", 1)
                suffix = f"/{last}{suffix}"
            layer_where, there = origins[ancestor]
            return layer_where(there + suffix)

        self.last_origins = where
        return merged

    def _merge(
        self,
        base: Any,
        bw: Where,
        bp: str,
        top: Any,
        tw: Where,
        tp: str,
        mp: str,
        origins: dict[str, tuple[Where, str]],
        strict: bool,
        field: str,
    ) -> Any:
        if isinstance(base, dict) and isinstance(top, dict):
            origins[mp] = (bw, bp)
            result: dict[str, Any] = {}
            for key, value in base.items():
                if key not in top:
                    result[key] = value
                    origins[join_pointer(mp, key)] = (bw, join_pointer(bp, key))
                elif top[key] is not None:
                    result[key] = self._merge(
                        value,
                        bw,
                        join_pointer(bp, key),
                        top[key],
                        tw,
                        join_pointer(tp, key),
                        join_pointer(mp, key),
                        origins,
                        strict,
                        key,
                    )
            for key, value in top.items():
                if key in base:
                    continue
                if value is None:
                    if strict:
                        self.error(
                            tw,
                            join_pointer(tp, key),
                            f"'{key}: null' removes '{key}', which the base does not set",
                            at_key=True,
                            check="merge/conflict",
                        )
                    continue
                result[key] = value
                origins[join_pointer(mp, key)] = (tw, join_pointer(tp, key))
            return result
        if isinstance(base, list) and isinstance(top, list) and field in IDENTITY:
            return self._merge_named(base, bw, bp, top, tw, tp, mp, origins, strict, field)
        if base is not None and _kind(base) != _kind(top):
            self.error(
                tw,
                tp,
                f"the base has {_kind(base)} here, this has {_kind(top)}",
                "an overlay or include changes values but keeps their kind: "
                + (
                    "write only the keys that change"
                    if isinstance(base, dict)
                    else "write the whole list"
                    if isinstance(base, list)
                    else "write a single value"
                ),
                check="merge/conflict",
            )
            origins[mp] = (bw, bp)
            return base
        origins[mp] = (tw, tp)
        return top

    def _merge_named(
        self,
        base: list[Any],
        bw: Where,
        bp: str,
        top: list[Any],
        tw: Where,
        tp: str,
        mp: str,
        origins: dict[str, tuple[Where, str]],
        strict: bool,
        field: str,
    ) -> list[Any]:
        key = IDENTITY[field]
        positions: dict[str, list[int]] = {}
        for index, item in enumerate(base):
            if isinstance(item, dict) and isinstance(item.get(key), str):
                positions.setdefault(item[key], []).append(index)
        # (value source, its pointer, a top item merged over it or None)
        entries: list[tuple[Any, Where, str, Any, str] | None] = [
            (item, bw, f"{bp}/{index}", None, "") for index, item in enumerate(base)
        ]
        for index, item in enumerate(top):
            at = f"{tp}/{index}"
            if not isinstance(item, dict) or not isinstance(item.get(key), str):
                self.error(
                    tw,
                    at,
                    f"the items of {field} are matched by their {key}; this one has none",
                    check="merge/conflict",
                )
                continue
            name = item[key]
            disabled = item.get(DISABLED_KEY) is True
            changes = {k: v for k, v in item.items() if k != DISABLED_KEY}
            found = positions.get(name, [])
            if disabled and not strict and mp.startswith(f"/{ENVIRONMENTS_KEY}/"):
                # an overlay over another overlay (a spec's over its fragment's): switching
                # an item off is for the base the environment applies to, kept as written
                if len(found) == 1:
                    entries[found[0]] = (item, tw, at, None, "")
                else:
                    entries.append((item, tw, at, None, ""))
                continue
            if len(found) > 1:
                self.error(
                    tw,
                    f"{at}/{key}",
                    f"{len(found)} {field} of the base have the {key} '{name}'; "
                    "this cannot say which one it changes",
                    f"give them different {key}s",
                    check="merge/conflict",
                )
                continue
            if not found:
                if self.incomplete:
                    continue
                if strict or disabled:
                    self.error(
                        tw,
                        f"{at}/{key}",
                        f"{field}: '{name}' names nothing in the base",
                        did_you_mean(name, positions)
                        or f"an environment changes the base's {field}: declare it in the base "
                        f"and switch it off with {DISABLED_KEY}: true where it does not belong",
                        check="merge/conflict",
                    )
                    continue
                entries.append((changes, tw, at, None, ""))
                continue
            position = found[0]
            if disabled:
                entries[position] = None
                self.removed.append((mp, *tw(at)))
            elif entries[position] is not None:
                value, where, pointer, _, _ = entries[position]  # type: ignore[misc]
                entries[position] = (value, where, pointer, changes, at)
        result: list[Any] = []
        for entry in entries:
            if entry is None:
                continue
            value, where, pointer, changes, at = entry
            child = f"{mp}/{len(result)}"
            if changes is None:
                origins[child] = (where, pointer)
                result.append(value)
            else:
                result.append(
                    self._merge(value, where, pointer, changes, tw, at, child, origins, strict, "")
                )
        origins[mp] = (bw, bp)
        return result


def _own(pointer: str) -> tuple[LoadedSpec, str]:  # pragma: no cover - replaced before use
    raise AssertionError(pointer)


def _owner(loaded: LoadedSpec) -> Where:
    def where(pointer: str) -> tuple[LoadedSpec, str]:
        return loaded.origin(pointer)

    return where
