"""`rlmgen diff`: compile two sets of specs (paths, or a git revision read without a
checkout) through the pipeline and report their semantic difference as Markdown or JSON."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rlmgen.compiled_dataclasses import dataclass
from rlmgen.model import types as m
from rlmgen.output.templating import environment
from rlmgen.pipeline import compile_texts, discover, display_path
from rlmgen.review.changes import Change, diff, risky
from rlmgen.spec.diagnostics import Diagnostic
from rlmgen.spec.loader import SpecLoadError, decode_spec, read_spec_bytes


class ReviewError(Exception):
    def __init__(self, message: str, diagnostics: list[Diagnostic] | None = None):
        super().__init__(message)
        self.diagnostics = diagnostics or []


@dataclass
class Specs:
    """Spec texts by display path, and how to read a file they include that is not
    among them (a fragment beside a spec given by name)."""

    texts: dict[str, str]
    read_text: Callable[[str], str] | None = None


@dataclass
class Side:
    """The units of one side of a comparison: each valid unit's model (by `<service>`, or
    `<environment>/<service>`), the invalid ones (by unit, or by file when its service is
    unknown), and the invalid units' errors."""

    models: dict[str, m.Spec]
    invalid: set[str]
    errors: list[Diagnostic]


def _compile(specs: Specs) -> Side:
    results = compile_texts(specs.texts, specs.read_text)
    errors = [d for r in results for d in r.errors]
    invalid = {r.unit if r.service else r.display for r in results if r.errors}
    # a spec with an error anywhere has no model in any unit: each is invalid
    invalid |= {r.unit for r in results if r.service and r.model is None}
    models = {r.unit: r.model for r in results if r.model is not None and r.unit not in invalid}
    return Side(models, invalid, errors)


def compare_environments(specs: Specs, old: str, new: str) -> dict[str, list[Change]]:
    """What environment `new` changes against environment `old`, service by service."""
    compiled = _compile(specs)
    if compiled.errors:  # two environments of invalid specs: nothing to compare
        raise ReviewError("a spec to compare is invalid", compiled.errors)
    units = compiled.models
    known = {unit.split("/", 1)[0] for unit in units if "/" in unit}
    for name in (old, new):
        if name not in known:
            declared = ", ".join(sorted(known)) or "none"
            raise ReviewError(f"no spec declares environment '{name}' (declared: {declared})")

    def services(name: str) -> dict[str, m.Spec]:
        prefix = f"{name}/"
        return {u[len(prefix) :]: s for u, s in units.items() if u.startswith(prefix)}

    return _report(Side(services(old), set(), []), Side(services(new), set(), []))


def _read_disk(shown: str) -> str:
    path = Path(shown)
    if not path.exists():
        raise FileNotFoundError(shown)
    return decode_spec(read_spec_bytes(path, shown), shown)


def read_paths(path: Path) -> Specs:
    """The text of each spec file under `path`, read with the loader's limits."""
    files = discover(path) if path.is_dir() else [path]
    texts, problems = {}, []
    for file in files:
        shown = display_path(file)
        try:
            texts[shown] = decode_spec(read_spec_bytes(file, shown), shown)
        except SpecLoadError as exc:
            problems.extend(exc.diagnostics)
    if problems:
        raise ReviewError("a spec to compare cannot be read", problems)
    return Specs(texts, _read_disk)


def read_revision(revision: str, path: Path) -> Specs:
    """The specs under `path` as they are at a git revision, without a checkout."""

    def git(*args: str) -> str:
        result = subprocess.run(["git", *args], capture_output=True, text=True)
        if result.returncode != 0:
            raise ReviewError(f"git {' '.join(args)}: {result.stderr.strip()}")
        return result.stdout

    prefix = git("rev-parse", "--show-prefix").strip()
    relative = (prefix + path.as_posix()).rstrip("/") if path.as_posix() != "." else prefix
    listed = git("ls-tree", "-r", "-z", "--name-only", revision, "--", relative).split("\0")
    texts = {}
    for name in listed:  # as discover() reads a directory: sub-directories, not hidden ones
        inside = name[len(relative) :].strip("/").split("/")
        if name.endswith((".yaml", ".yml")) and not any(p.startswith(".") for p in inside):
            texts[f"{revision}:{name}"] = git("show", f"{revision}:{name}")

    def read_text(shown: str) -> str:  # a fragment outside PATH, at the same revision
        prefix = f"{revision}:"
        if not shown.startswith(prefix):
            raise FileNotFoundError(shown)
        result = subprocess.run(
            ["git", "show", f"{revision}:{shown[len(prefix) :]}"], capture_output=True, text=True
        )
        if result.returncode != 0:
            raise FileNotFoundError(shown)
        return result.stdout

    return Specs(texts, read_text)


def compare(base: Specs, head: Specs) -> tuple[dict[str, list[Change]], list[Diagnostic]]:
    """The report, and the errors of the invalid units it could not compare (a unit invalid
    in HEAD is a risky change; one invalid in BASE is compared with nothing)."""
    old, new = _compile(base), _compile(head)
    return _report(old, new), old.errors + new.errors


def _report(old_side: Side, new_side: Side) -> dict[str, list[Change]]:
    old, new = old_side.models, new_side.models
    report = {}
    for name in sorted(old.keys() | new.keys() | new_side.invalid):
        if name in new_side.invalid:
            report[name] = [
                Change(
                    "service",
                    name,
                    "changed",
                    ["not compared: the spec is invalid here (rlmgen validate says why)"],
                    risks=["the spec does not compile: nothing of it would be built"],
                )
            ]
        elif name in new and name in old_side.invalid:
            report[name] = [
                Change("service", name, "added", ["the base's spec was invalid: all is new"])
            ]
        elif name not in new:
            report[name] = [
                Change("service", name, "removed", risks=["the service's monitoring is removed"])
            ]
        elif name not in old:
            report[name] = [Change("service", name, "added")]
        else:
            report[name] = diff(old[name], new[name])
    return report


def markdown(
    report: dict[str, list[Change]], title: str | None = None, max_length: int | None = None
) -> str:
    """The Markdown report; at most `max_length` characters (a pull-request comment holds
    65,536): the tables then keep each service's risky changes and say how many others
    are left out."""
    template = environment().get_template("review.md.j2")

    def render(brief: bool) -> str:
        """The report; `brief`: each table with its risky changes only, the rest counted."""
        services = []
        for name, changes in report.items():
            shown = [c for c in changes if c.risks] if brief else changes
            if changes:
                services.append(
                    {
                        "name": name,
                        "changes": shown,
                        "risky": risky(changes),
                        "omitted": len(changes) - len(shown),
                    }
                )
        text: str = template.render(services=services, title=title)
        return text

    text = render(brief=False)
    if max_length is None or len(text) <= max_length:
        return text
    text = render(brief=True)
    if len(text) <= max_length:
        return text
    note = "\n\n… the report goes on: it is longer than `--max-length`.\n"
    cut = text.rfind("\n", 0, max(0, max_length - len(note)))
    return text[: max(cut, 0)] + note


def as_json(report: dict[str, list[Change]]) -> str:
    data: dict[str, Any] = {
        "risky": sum(len(risky(c)) for c in report.values()),
        "services": {name: [c.as_json() for c in changes] for name, changes in report.items()},
    }
    return json.dumps(data, indent=2, sort_keys=True) + "\n"
