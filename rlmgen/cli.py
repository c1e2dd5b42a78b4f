"""The `rlmgen` command line. Exit codes: 0 ok, 1 invalid spec or drift, 2 usage error,
3 an error inside rlmgen (a bug: a spec that validates always builds), 130 interrupted."""

from __future__ import annotations

import atexit
import gc
import inspect
import json
import os
import re
import signal
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from rlmgen import __version__

if TYPE_CHECKING:
    from rlmgen.model import types as m
    from rlmgen.pipeline import Compiled
    from rlmgen.progress import Progress
    from rlmgen.spec.diagnostics import Diagnostic

EXIT_OK, EXIT_INVALID, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3
# RLMGEN_TRACEBACK=1 shows the traceback of an error inside rlmgen instead of one line.
TRACEBACK_ENV = "RLMGEN_TRACEBACK"
DEFAULT_SPECS = Path("specs")
DEFAULT_OUT = Path("out")

_spec_args = click.argument(
    "specs", nargs=-1, type=click.Path(exists=True, dir_okay=True, path_type=Path)
)
_out_option = click.option(
    "-o",
    "--out",
    "out_dir",
    default=DEFAULT_OUT,
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Output directory.",
)


def _finite_or_forever(_ctx: click.Context, _param: click.Parameter, value: float) -> float:
    if value != value:  # NaN: a deadline never reached and never passed
        raise click.BadParameter("give a number of seconds (inf waits forever)")
    return value


_lock_timeout_option = click.option(
    "--lock-timeout",
    type=click.FloatRange(min=0),
    callback=_finite_or_forever,
    default=120,
    show_default=True,
    envvar="RLMGEN_LOCK_TIMEOUT",
    help="Seconds to wait for another rlmgen build of the same OUT (0: fail at once).",
)


JOBS = "rlmgen.jobs"  # in the root context's meta: processes compiling specs at once


def _remember_jobs(ctx: click.Context, _param: click.Parameter, value: int | None) -> int | None:
    ctx.find_root().meta[JOBS] = value
    return value


_jobs_option = click.option(
    "-j",
    "--jobs",
    type=click.IntRange(min=1),
    envvar="RLMGEN_JOBS",
    callback=_remember_jobs,
    expose_value=False,
    help="Spec files compiled at once, each in its own process (default: the CPU count; "
    "the output is the same).",
)


def _jobs() -> int | None:
    context = click.get_current_context(silent=True)
    value = context.find_root().meta.get(JOBS) if context else None
    return int(value) if value is not None else None


def _waiting(out_dir: Path) -> Callable[[], None]:
    from rlmgen.output.writer import printable

    return lambda: _info(
        f"rlmgen: waiting for another build of {printable(out_dir.as_posix())}/ to finish"
    )


def _format_option(*choices: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(choices),
        default="text",
        show_default=True,
        help="Output format.",
    )


def _resolve_specs(specs: Sequence[Path]) -> tuple[list[Path], bool]:
    """The spec files to work on, and whether they are the whole default set."""
    from rlmgen.pipeline import discover

    if not specs:
        if not DEFAULT_SPECS.is_dir():
            raise click.UsageError("no SPEC given and no specs/ directory here")
        found = discover(DEFAULT_SPECS)
        if not found:
            raise click.UsageError("specs/ holds no .yaml spec")
        return found, True
    files: dict[Path, Path] = {}  # a file named twice (or by its directory too) is one spec
    for spec in specs:
        found = discover(spec) if spec.is_dir() else [spec]
        if not found:
            raise click.UsageError(f"{spec.as_posix()} holds no .yaml spec")
        for path in found:
            files.setdefault(path.resolve(), path)
    return list(files.values()), False


VERBOSITY = "rlmgen.verbosity"  # in the root context's meta: -1 quiet, 0, 1 verbose


def _verbosity() -> int:
    context = click.get_current_context(silent=True)
    return int(context.find_root().meta.get(VERBOSITY, 0)) if context else 0


def _info(text: str) -> None:
    """A progress or summary line on stderr; not with --quiet."""
    if _verbosity() >= 0:
        click.echo(text, err=True)


def _warn(text: str) -> None:
    """A warning about what a command did (not a spec's): always shown."""
    click.echo(f"rlmgen: warning: {text}", err=True)


def _detail(text: str) -> None:
    """A line only --verbose shows."""
    if _verbosity() > 0:
        click.echo(text, err=True)


_SEVERITY_COLOUR = {"error": "red", "warning": "yellow"}


def _say(diagnostic: Diagnostic, *, err: bool = False) -> None:
    """One diagnostic; its severity coloured at a terminal (click drops colour when the
    output is not one), never when NO_COLOR is set (https://no-color.org)."""
    text = diagnostic.format()
    if os.environ.get("NO_COLOR", "") == "":
        location, _, rest = text.partition(": ")
        colour = _SEVERITY_COLOUR.get(diagnostic.severity)
        text = f"{click.style(location, bold=True)}: {click.style(rest, fg=colour)}"
    click.echo(text, err=err)


def _unsuppressed(units: Sequence[Compiled], found: Iterable[Diagnostic]) -> list[Diagnostic]:
    """Diagnostics of a live check, once each, without the warnings the specs' suppression
    comments silence (unused ones are the compile's to report)."""
    from rlmgen.pipeline import read_spec_text
    from rlmgen.spec.suppressions import Suppressor

    files = {f for u in units for f in (u.display, *u.included)}
    return Suppressor(read_spec_text, files).filter(dict.fromkeys(found))


def _reported(results: Sequence[Compiled]) -> list[Diagnostic]:
    """Every diagnostic once: a mistake in a fragment that several specs include is
    found by each of them, and shown once."""
    return list(dict.fromkeys(d for r in results for d in r.diagnostics))


def _note_partial(environments: Sequence[str | None], everything: bool) -> None:
    """Cluster outputs are made of every service of an environment: not from a few."""
    if not everything and any(environments):
        _info(
            "rlmgen: SPECs given: out/<environment>/_cluster/ is left as it is (it is built "
            "from every spec; run without SPEC to update it)"
        )


def _spec_count(results: Sequence[Compiled]) -> int:
    """Spec files (a spec with environments compiles into several units)."""
    return len({r.display for r in results})


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _summary(errors: int, warnings: int, specs: int) -> str:
    return f"{_plural(errors, 'error')}, {_plural(warnings, 'warning')} in {_plural(specs, 'spec')}"


class _Command(click.Command):
    """A command whose summary in `rlmgen --help` is its whole first paragraph (click
    would cut it at 45 characters, mid-sentence)."""

    def get_short_help_str(self, limit: int = 45) -> str:
        if self.short_help:
            return self.short_help
        first = inspect.cleandoc(self.help or "").split("\n\n")[0]
        return " ".join(first.split())


class _Group(click.Group):
    command_class = _Command

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        """`rlmgen build -q` as `rlmgen -q build`: the verbosity flags are rlmgen's,
        wherever they are written before a `--`."""
        end = args.index("--") if "--" in args else len(args)
        flags = [a for a in args[:end] if a in _VERBOSITY_FLAGS]
        rest = [a for a in args[:end] if a not in _VERBOSITY_FLAGS] + args[end:]
        return super().parse_args(ctx, flags + rest)


_VERBOSITY_FLAGS = frozenset({"-q", "--quiet", "-v", "--verbose"})


@click.group(
    cls=_Group,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="rlmgen")
@click.option(
    "-q",
    "--quiet",
    is_flag=True,
    help="Only problems and asked-for output: no progress or summary.",
)
@click.option(
    "-v",
    "--verbose",
    is_flag=True,
    help="Also each spec checked, each file written, and the time taken.",
)
@click.pass_context
def cli(ctx: click.Context, quiet: bool, verbose: bool) -> None:
    """Compile monitoring specs into Prometheus rules, Grafana dashboards, autoscaling
    manifests, Alertmanager routing, promtool tests and runbooks.

    Each command works on the SPEC files or directories given, or on every spec in
    ./specs when none is given.

    Exit codes: 0 success; 1 an invalid spec, drift, a failed test or an unhealthy
    service (each command says which); 2 a usage error (or Prometheus unreachable);
    3 an error inside rlmgen (a bug); 130 interrupted.
    """
    if quiet and verbose:
        raise click.UsageError("give --quiet or --verbose, not both")
    ctx.meta[VERBOSITY] = -1 if quiet else 1 if verbose else 0
    if verbose:
        started = time.monotonic()
        ctx.call_on_close(
            lambda: click.echo(f"rlmgen: {time.monotonic() - started:.2f} s", err=True)
        )


@cli.command()
@_spec_args
@_format_option("text", "json", "github", "sarif")
@_jobs_option
@click.option(
    "--strict",
    is_flag=True,
    help="Fail on warnings too, and warn about alerts and recording rules no test proves.",
)
def validate(specs: tuple[Path, ...], fmt: str, strict: bool) -> None:
    """Check specs and report every problem, located as file:line:col.

    Exit 0 valid, 1 invalid (or, with --strict, any warning).
    """
    from rlmgen.pipeline import compile_specs

    files, _ = _resolve_specs(specs)
    with _progress() as progress:
        results = compile_specs(
            files,
            DEFAULT_OUT,
            generate=False,
            strict=strict,
            on_step=progress.update,
            jobs=_jobs(),
        )
    diagnostics = _reported(results)
    errors = sum(d.severity == "error" for d in diagnostics)
    warnings = len(diagnostics) - errors
    failed = errors > 0 or (strict and warnings > 0)
    if fmt == "json":
        click.echo(
            json.dumps(
                {
                    "valid": not failed,
                    "specs": [
                        {
                            "file": r.display,
                            "service": r.service,
                            "diagnostics": [d.as_json() for d in r.diagnostics],
                        }
                        for r in results
                    ],
                    "errors": errors,
                    "warnings": warnings,
                },
                indent=2,
            )
        )
    elif fmt in ("github", "sarif"):
        click.echo(_machine_report(fmt, diagnostics), nl=False)
    else:
        for diagnostic in diagnostics:
            _say(diagnostic)
        for result in results:
            name = (
                f"{result.display} ({result.environment})" if result.environment else result.display
            )
            found = len(result.diagnostics)
            _detail(f"checked {name}: {found} problem{'' if found == 1 else 's'} of its own")
        _info(
            ("invalid: " if failed else "ok: ") + _summary(errors, warnings, _spec_count(results))
        )
    sys.exit(EXIT_INVALID if failed else EXIT_OK)


def _progress() -> Progress:
    """The progress line of a long command: at a terminal, and not with --quiet."""
    from rlmgen import progress

    stream = sys.stderr
    return progress.Progress(stream, enabled=_verbosity() >= 0 and stream.isatty())


def _compile_or_exit(
    files: list[Path],
    out_dir: Path,
    progress: Progress | None = None,
    *,
    then: str = "nothing written",
    fmt: str = "text",
) -> list[tuple[str, Compiled]]:
    """(service, result) of every spec, or exit 1 with every problem when one is invalid
    (`then`: what the command did not do). Without `progress`, a progress line of its own
    shows the compile. `fmt` github or sarif: the problems of an invalid spec are that
    report on stdout, and a valid spec's warnings are left to the caller's."""
    from rlmgen.pipeline import compile_specs

    if progress is None:
        with _progress() as own:
            results = compile_specs(files, out_dir, on_step=own.update, jobs=_jobs())
    else:
        results = compile_specs(files, out_dir, on_step=progress.update, jobs=_jobs())
        progress.pause()
    diagnostics = _reported(results)
    errors = sum(d.severity == "error" for d in diagnostics)
    if fmt != "text":
        if errors:
            click.echo(_machine_report(fmt, diagnostics), nl=False)
    else:
        for diagnostic in diagnostics:
            _say(diagnostic, err=True)
    if errors:
        _info(
            f"invalid: {_summary(errors, len(diagnostics) - errors, _spec_count(results))}; {then}"
        )
        sys.exit(EXIT_INVALID)
    return [(r.unit, r) for r in results if r.has_model]


def _machine_report(fmt: str, diagnostics: Sequence[Diagnostic]) -> str:
    """GitHub Actions annotations or a SARIF log of `diagnostics`."""
    from rlmgen.spec import reports

    return str(getattr(reports, fmt)(diagnostics))


@cli.command()
@_spec_args
@_out_option
@_lock_timeout_option
@_jobs_option
def build(specs: tuple[Path, ...], out_dir: Path, lock_timeout: float) -> None:
    """Compile specs into OUT/<service>/, replacing what was there atomically.

    With environments: OUT/<environment>/<service>/ and, when no SPEC is given,
    OUT/<environment>/_cluster/. Nothing is written when any spec is invalid.
    Exit 0 written, 1 invalid spec, a file-system fault or the lock not obtained.
    """
    from rlmgen import cache
    from rlmgen.model.conventions import CLUSTER_DIR
    from rlmgen.output.digest import files_digest
    from rlmgen.output.writer import WriteError, printable, write_services
    from rlmgen.pipeline import cached_build, outputs, record_build

    files, everything = _resolve_specs(specs)
    with _progress() as progress:
        # nothing changed since the last complete build: its record, no model loaded
        built = cached_build(files, out_dir, everything) if cache.enabled() else None
        if built is not None:
            for diagnostic in built.diagnostics:
                _say(diagnostic, err=True)
            units, digests, rows = built.units, built.digests, built.rows
        else:
            results = _compile_or_exit(files, out_dir, progress)
            units = outputs([r for _, r in results], cluster=everything)
            digests = {r.unit: r.digest for _, r in results if r.digest}
            digests.update(
                {unit: files_digest(data) for unit, data in units.items() if unit not in digests}
            )
            rows = [(r.display, r.unit, len(r.files), r.environment) for _, r in results]
        progress.update(f"writing {printable(out_dir.as_posix())}/")
        stamps = cache.load_stamps(out_dir) if cache.enabled() else None
        try:
            removed = write_services(
                out_dir,
                units,
                remove_stale=everything,
                lock_timeout=lock_timeout,
                on_wait=_waiting(out_dir),
                stamps=stamps,
                digests=digests,
            )
        except WriteError as exc:
            click.echo(f"rlmgen: {exc}", err=True)
            sys.exit(EXIT_INVALID)
        if stamps is not None:
            cache.save_stamps(out_dir, {unit: stamps[unit] for unit in units if unit in stamps})
            if built is None:
                record_build(files, out_dir, everything, [r for _, r in results], units, digests)
    _note_partial([row[3] for row in rows], everything)
    shown = printable(out_dir.as_posix())
    for unit, written in units.items():
        for path in written:
            _detail(f"  {shown}/{unit}/{path}")
    for display, unit, count, _ in rows:
        _info(f"{printable(display)} -> {shown}/{unit}/ ({count} files)")
    for unit, written in units.items():
        if unit.endswith(f"/{CLUSTER_DIR}"):
            environment = unit.split("/")[0]
            _info(f"environment {environment} -> {shown}/{unit}/ ({len(written)} files)")
    for name in removed:
        _info(f"removed {printable(out_dir.as_posix())}/{name}/ (no spec produces it any more)")


@cli.command()
@_spec_args
@_out_option
@_lock_timeout_option
@_jobs_option
@_format_option("text", "json")
def check(specs: tuple[Path, ...], out_dir: Path, lock_timeout: float, fmt: str) -> None:
    """Exit 1 with a diff when OUT differs from what the specs compile to.

    Exit 0 OUT matches, 1 drift (or an invalid spec).
    """
    from rlmgen import cache
    from rlmgen.output.writer import (
        WriteError,
        drift,
        exclusive,
        printable,
        refuse_foreign,
        stale_services,
        stamped,
    )
    from rlmgen.pipeline import cached_build, outputs

    files, everything = _resolve_specs(specs)
    # nothing changed since the last complete build: its record, and the directories its
    # stamps show untouched are not read back
    built = cached_build(files, out_dir, everything) if cache.enabled() else None
    if built is not None:
        for diagnostic in built.diagnostics:
            _say(diagnostic, err=True)
        units, digests = built.units, built.digests
        environments = [row[3] for row in built.rows]
        checked = len({row[0] for row in built.rows})
        stamps = cache.load_stamps(out_dir)
    else:
        results = _compile_or_exit(files, out_dir, then=f"{out_dir.as_posix()}/ not checked")
        units = outputs([r for _, r in results], cluster=everything)
        environments = [r.environment for _, r in results]
        checked = len({r.display for _, r in results})
        digests, stamps = {}, {}
    _note_partial(environments, everything)
    shown = printable(out_dir.as_posix().rstrip("/"))
    try:
        # under the build lock, after recovering what an interrupted build left
        with (
            exclusive(out_dir, lock_timeout, _waiting(out_dir))
            if out_dir.is_dir()
            else nullcontext()
        ):
            refuse_foreign(out_dir, units)  # as build would
            diffs = {
                unit: []
                if stamped(out_dir / unit, digests.get(unit), stamps.get(unit)) is not None
                else drift(out_dir, unit, written, shown)
                for unit, written in units.items()
            }
            stale = stale_services(out_dir, set(units)) if everything else []
    except WriteError as exc:
        click.echo(f"rlmgen: {exc}", err=True)
        sys.exit(EXIT_INVALID)
    drifted = any(diffs.values()) or bool(stale)
    if fmt == "json":
        click.echo(
            json.dumps(
                {
                    "drift": drifted,
                    "services": [{"service": s, "diff": "".join(d)} for s, d in diffs.items()],
                    "stale": stale,
                },
                indent=2,
            )
        )
    else:
        for lines in diffs.values():
            click.echo("".join(lines), nl=False)
        for name in stale:
            click.echo(f"{shown}/{name}/ was generated from a spec that no longer exists")
        if drifted:
            _info(f"drift: {shown}/ is not what the specs compile to; run `rlmgen build`")
        else:
            _info(f"ok: {shown}/ matches {_plural(checked, 'spec')}")
    sys.exit(EXIT_INVALID if drifted else EXIT_OK)


@cli.command(name="diff")
@click.argument("base", required=False, type=click.Path(exists=True, path_type=Path))
@click.argument("head", required=False, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--git",
    "revision",
    metavar="REV",
    help="Compare the specs as they are at git revision REV with the working tree.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["markdown", "json"]),
    default="markdown",
    show_default=True,
    help="Output format.",
)
@click.option(
    "--fail-on",
    type=click.Choice(["risky", "never"]),
    default="never",
    show_default=True,
    help="Exit 1 when the change is risky.",
)
@click.option(
    "--max-length",
    type=click.IntRange(min=200),
    default=None,
    metavar="CHARS",
    help="Markdown of at most CHARS characters: risky changes kept, the rest counted "
    "(a GitHub comment holds 65536).",
)
@click.option(
    "--env",
    "envs",
    multiple=True,
    metavar="ENV",
    help="Twice: compare environment ENV with the second ENV (BASE, or specs/, names the specs).",
)
def diff_command(
    base: Path | None,
    head: Path | None,
    revision: str | None,
    fmt: str,
    fail_on: str,
    max_length: int | None,
    envs: tuple[str, ...],
) -> None:
    """Report what a spec change does to alerts, dashboards and scaling.

    BASE and HEAD are spec files or directories; with --git REV, BASE is read from the
    revision (BASE, or specs/, names the path) and HEAD is the working tree; with
    --env A --env B, what environment B changes against environment A.

    A spec invalid in HEAD is reported as a risky change (its errors go to stderr), one
    invalid in BASE as compared with nothing: the report is written either way.

    Exit 0, or 1 with --fail-on risky when a change is risky (or a spec is invalid).
    """
    from rlmgen.review import report as review

    errors: list[Diagnostic] = []
    try:
        if envs:
            if len(envs) != 2 or revision or head is not None:
                raise click.UsageError("give --env twice (--env staging --env production)")
            report = review.compare_environments(review.read_paths(base or DEFAULT_SPECS), *envs)
        else:
            if revision:
                path = base or DEFAULT_SPECS
                old_texts = review.read_revision(revision, path)
                new_texts = review.read_paths(head or path)
            else:
                if base is None or head is None:
                    raise click.UsageError("give BASE and HEAD, or --git REV")
                old_texts, new_texts = review.read_paths(base), review.read_paths(head)
            report, errors = review.compare(old_texts, new_texts)
    except review.ReviewError as exc:
        for diagnostic in exc.diagnostics:
            _say(diagnostic, err=True)
        click.echo(f"rlmgen: {exc}", err=True)
        # an invalid spec is 1 (as validate says); a revision git cannot read is usage
        sys.exit(EXIT_INVALID if exc.diagnostics else EXIT_USAGE)
    for diagnostic in errors:
        _say(diagnostic, err=True)
    title = f"what {envs[1]} changes against {envs[0]}" if envs else None
    click.echo(
        review.markdown(report, title, max_length) if fmt == "markdown" else review.as_json(report),
        nl=False,
    )
    if fail_on == "risky" and any(c.risks for changes in report.values() for c in changes):
        sys.exit(EXIT_INVALID)


_prometheus_option = click.option(
    "--prometheus",
    "prometheus_url",
    metavar="URL",
    envvar="RLMGEN_PROMETHEUS_URL",
    help="The Prometheus to ask (default: the specs' health.prometheusUrl).",
)
_env_option = click.option(
    "--env",
    "environment",
    metavar="ENV",
    help="The environment of specs that declare environments.",
)
_timeout_option = click.option(
    "--timeout",
    type=click.FloatRange(min=0.1),
    default=10.0,
    show_default=True,
    help="Seconds to wait for each answer (each request is tried 3 times).",
)


def _live_units(files: list[Path], environment: str | None) -> list[Compiled]:
    """Each spec compiled (of ENV for specs with environments); exit 1 with every
    problem when one is invalid."""
    from rlmgen.pipeline import compile_specs

    results = compile_specs(files, DEFAULT_OUT, generate=False)
    diagnostics = _reported(results)
    errors = [d for d in diagnostics if d.severity == "error"]
    if errors:
        for diagnostic in errors:
            _say(diagnostic, err=True)
        _info(f"invalid: {_summary(len(errors), 0, _spec_count(results))}")
        sys.exit(EXIT_INVALID)
    units: list[Compiled] = []
    for display in dict.fromkeys(r.display for r in results):
        mine = [r for r in results if r.display == display and r.model is not None]
        named = sorted(r.environment for r in mine if r.environment)
        if not named:
            if environment is not None and mine:
                raise click.UsageError(f"{display} declares no environments: drop --env")
            units.extend(mine)
        elif environment is None:
            raise click.UsageError(
                f"{display} has environments {', '.join(named)}: choose one with --env"
            )
        elif environment not in named:
            raise click.UsageError(
                f"{display} has no environment '{environment}' (it has {', '.join(named)})"
            )
        else:
            units.extend(r for r in mine if r.environment == environment)
    return units


def _prometheus_url(given: str | None, models: Sequence[m.Spec]) -> str:
    if given:
        if not given.startswith(("http://", "https://")):
            raise click.BadParameter(
                f"{given!r}: give the URL with its scheme, e.g. http://{given}",
                param_hint="--prometheus",
            )
        return given
    urls = sorted({s.health.prometheus_url for s in models if s.health.prometheus_url})
    if len(urls) == 1:
        return urls[0]
    if urls:
        raise click.UsageError(
            f"the specs name several Prometheus servers ({', '.join(urls)}): give --prometheus"
        )
    raise click.UsageError(
        "give --prometheus URL (or RLMGEN_PROMETHEUS_URL, or health.prometheusUrl in the spec)"
    )


@cli.command()
@_spec_args
@_prometheus_option
@_env_option
@_timeout_option
@_format_option("text", "json")
def health(
    specs: tuple[Path, ...],
    prometheus_url: str | None,
    environment: str | None,
    timeout: float,
    fmt: str,
) -> None:
    """Read each spec's health checks from a live Prometheus and judge them.

    One line per check (the spec's health.checks, else every metric with levels): the
    value in the unit its levels are written in, against the target, warning and
    critical levels; then the service's firing alerts. Exit 0 healthy (info at most),
    1 a warning, a critical value or alert, or no data, 2 Prometheus unreachable.
    """
    from rlmgen.live.health import check_health
    from rlmgen.live.prometheus import Prometheus, Unreachable

    files, _ = _resolve_specs(specs)
    models = [r.model for r in _live_units(files, environment) if r.model is not None]
    url = _prometheus_url(prometheus_url, models)
    try:
        report = check_health(Prometheus(url, timeout=timeout), models)
    except Unreachable as exc:
        click.echo(f"rlmgen: Prometheus unreachable: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    click.echo(report.as_json() if fmt == "json" else report.text(), nl=fmt != "text")
    sys.exit(EXIT_OK if report.healthy else EXIT_INVALID)


@cli.command()
@_spec_args
@_prometheus_option
@_env_option
@_timeout_option
@_format_option("text", "json")
def verify(
    specs: tuple[Path, ...],
    prometheus_url: str | None,
    environment: str | None,
    timeout: float,
    fmt: str,
) -> None:
    """Look up every series the specs declare in a live Prometheus.

    Each declared metric (and each series this spec's recording rules make) must have
    had samples in the last hour, carrying the labels the spec declares and those its
    queries match on or group by; declared metrics nothing reads are listed as warnings.
    Exit 0 all found, 1 something missing, 2 Prometheus unreachable.
    """
    from rlmgen.live.prometheus import Prometheus, Unreachable
    from rlmgen.live.verify import verify as look_up

    files, _ = _resolve_specs(specs)
    units = _live_units(files, environment)
    url = _prometheus_url(prometheus_url, [r.model for r in units if r.model is not None])
    try:
        verified = look_up(Prometheus(url, timeout=timeout), units)
    except Unreachable as exc:
        click.echo(f"rlmgen: Prometheus unreachable: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    diagnostics = _unsuppressed(units, (d for v in verified for d in v.diagnostics))
    errors = sum(d.severity == "error" for d in diagnostics)
    if fmt == "json":
        click.echo(
            json.dumps(
                {
                    "prometheus": url,
                    "ok": errors == 0,
                    "series": sum(v.series for v in verified),
                    "diagnostics": [d.as_json() for d in diagnostics],
                },
                indent=2,
            )
        )
    else:
        for diagnostic in diagnostics:
            _say(diagnostic)
        series = sum(v.series for v in verified)
        warnings = len(diagnostics) - errors
        said = f"{series} series of {_plural(_spec_count(units), 'spec')} looked up in {url}"
        found = f"{_plural(errors, 'problem')}, {_plural(warnings, 'warning')}"
        _info(f"{'missing' if errors else 'ok'}: {said}: {found}")
    sys.exit(EXIT_INVALID if errors else EXIT_OK)


@cli.command(name="test")
@_spec_args
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(min=1),
    envvar="RLMGEN_JOBS",
    callback=_remember_jobs,
    help="Spec files compiled, and judges run, at once (default: the CPU count).",
)
@_format_option("text", "github", "sarif")
def test_command(specs: tuple[Path, ...], jobs: int | None, fmt: str) -> None:
    """Run the generated tests with their real judges, failures located in the spec.

    Builds to a temporary directory, runs `promtool test rules` on every test file and
    `amtool config routes test` for every alert, and reports each failure at the spec
    line that produced the test (an example, a level, an alert); `--format github` or
    `sarif` as `validate` does, with the specs' warnings. Exit 0 all pass, 1 a test fails
    or a spec is invalid, 2 promtool or amtool missing.
    """
    from rlmgen.judge.run import ToolMissing, Tools, judge

    files, _ = _resolve_specs(specs)
    results = [r for _, r in _compile_or_exit(files, DEFAULT_OUT, then="nothing tested", fmt=fmt)]
    try:
        tools = Tools.find()
    except ToolMissing as exc:
        click.echo(f"rlmgen: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    outcomes = judge(results, tools, jobs)
    failures = _judged(outcomes)
    if fmt == "text":
        for diagnostic in failures:
            _say(diagnostic)
    else:
        click.echo(_machine_report(fmt, [*_reported(results), *failures]), nl=False)
    groups = sum(o.test_groups for o in outcomes)
    routes = sum(o.routes for o in outcomes)
    counts = (
        f"{_plural(groups, 'promtool test group')} and {_plural(routes, 'amtool route')} of "
        f"{_plural(_spec_count(results), 'spec')}"
    )
    if failures:
        _info(f"failed: {_plural(len(failures), 'failure')} in {counts}")
        sys.exit(EXIT_INVALID)
    _info(f"ok: {counts} pass")


def _judged(outcomes: Sequence[Any]) -> list[Diagnostic]:
    """Every failure once: one every environment of a spec has is said once, one only
    some environments have is said for each, named."""
    import dataclasses

    from rlmgen.spec.diagnostics import sort_key

    by_spec: dict[str, list[Any]] = {}
    for outcome in outcomes:
        by_spec.setdefault(outcome.result.display, []).append(outcome)
    found: list[Diagnostic] = []
    for units in by_spec.values():
        everywhere = set.intersection(*(set(u.diagnostics) for u in units))
        found.extend(sorted(everywhere, key=sort_key))
        for unit in units:
            environment = unit.result.environment
            for diagnostic in unit.diagnostics:
                if diagnostic in everywhere:
                    continue
                if environment:
                    diagnostic = dataclasses.replace(
                        diagnostic,
                        message=f"in environment '{environment}': {diagnostic.message}",
                    )
                found.append(diagnostic)
    return found


@cli.command()
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write it to this file (as `rlmgen init` placed it) instead of printing it.",
)
def schema(output: Path | None) -> None:
    """Print the spec language's JSON Schema (for editors and other tools).

    After an upgrade, `rlmgen schema --output specs/spec-v1.schema.json` refreshes the
    copy your specs' modeline names. Exit 0, 1 when the file cannot be written.
    """
    from rlmgen.spec.schema import schema_text

    if output is None:
        click.echo(schema_text(), nl=False)
        return
    try:
        output.write_text(schema_text(), encoding="utf-8")
    except OSError as exc:
        click.echo(f"rlmgen: cannot write {output.as_posix()}: {exc.strerror}", err=True)
        sys.exit(EXIT_INVALID)
    _info(f"wrote {output.as_posix()}")


@cli.command()
@click.argument(
    "directory", required=False, default=".", type=click.Path(file_okay=False, path_type=Path)
)
@click.option(
    "--service",
    help="The service the first spec describes (default: the directory's name).",
)
@click.option(
    "--ci",
    type=click.Choice(["github", "gitlab", "none"]),
    default="github",
    show_default=True,
    help="The CI workflow to write.",
)
@click.option(
    "--requirement",
    help="The pip requirement CI installs rlmgen with, such as "
    "'rlmgen @ git+https://git.example.com/tools/rlmgen@v0.1.0' (default: how this rlmgen "
    "was installed).",
)
@click.option("--no-build", is_flag=True, help="Do not compile the new spec into out/.")
@click.pass_context
def init(
    ctx: click.Context,
    directory: Path,
    service: str | None,
    ci: str,
    requirement: str | None,
    no_build: bool,
) -> None:
    """Start a repository of specs in DIRECTORY (default: here).

    Writes specs/<service>.yaml (a small, commented, valid spec), the schema beside it for
    editors, .pre-commit-config.yaml, a CI workflow (GitHub Actions or GitLab CI),
    requirements-rlmgen.txt (how CI installs rlmgen), .gitignore and .gitattributes, then
    builds out/. Never overwrites a file: rlmgen's lines are added to an existing
    .gitignore, .gitattributes or .pre-commit-config.yaml. Exit 0 written, 1 a file
    exists or cannot be written, 2 bad usage.
    """
    from rlmgen import scaffold

    name = service or _service_from(directory)
    requirement = requirement or scaffold.installed_requirement()
    if requirement is None:
        raise click.UsageError(
            "this rlmgen was installed from a package index, so CI cannot install it the same "
            "way: give --requirement (a git URL, a path or a wheel)"
        )
    try:
        planned = scaffold.files(name, requirement, ci)
        directory.mkdir(parents=True, exist_ok=True)
        written = scaffold.write(directory, planned)
    except scaffold.ScaffoldError as exc:
        click.echo(f"rlmgen: {exc}", err=True)
        sys.exit(EXIT_INVALID)
    except OSError as exc:
        click.echo(f"rlmgen: cannot write in {directory.as_posix()}: {exc.strerror}", err=True)
        sys.exit(EXIT_INVALID)
    for path in written:
        _info(f"wrote {(directory / path).as_posix()}")
    gitignore = directory / ".gitignore"
    for line, pattern, needed in scaffold.ignored_by(gitignore.read_text(encoding="utf-8")):
        why = "rlmgen check compares it" if needed == "out/" else "editors read it"
        _warn(
            f"{gitignore.as_posix()}:{line}: '{pattern}' ignores {needed}, which must be "
            f"committed ({why}): remove that line"
        )
    if scaffold.local_requirement(requirement):
        source = requirement.split("@", 1)[-1].strip()
        _warn(
            f"{scaffold.REQUIREMENTS_FILE} installs rlmgen from '{source}' on this machine, "
            "which CI cannot reach: put a git URL with a tag there "
            "(rlmgen @ git+https://<git-host>/<org>/rlmgen@<tag>) or rerun with --requirement"
        )
    if not no_build:
        here = Path.cwd()
        os.chdir(directory)  # out/'s headers name specs/ as `rlmgen check` there will
        try:
            ctx.invoke(build, specs=(), out_dir=DEFAULT_OUT, lock_timeout=120.0)
        finally:
            os.chdir(here)
    _info(
        f"next: edit specs/{name}.yaml, `rlmgen build`, commit everything (out/ included); "
        "`pre-commit install` runs validate and check on each commit"
    )


def _service_from(directory: Path) -> str:
    """A service name from a directory name: `Payments_API` -> `payments-api`."""
    name = re.sub(r"[^a-z0-9]+", "-", directory.resolve().name.lower()).strip("-")[:63]
    return name.strip("-") or "my-service"


def tune_garbage_collector() -> None:
    """A compile allocates millions of long-lived objects and almost no cycles; CPython's
    default thresholds rescan them over and over (a third of a 10,000-metric build).
    This process is short-lived: collect rarely."""
    gc.set_threshold(100_000, 50, 100)


EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report an interrupted command


def _interrupted(_signum: int, _frame: object) -> None:
    """Ctrl-C: one line and the shell's code; SystemExit unwinds through the writer's
    cleanup (staged trees removed, the lock released), leaving out/ as it was."""
    click.echo("rlmgen: interrupted", err=True)
    raise SystemExit(EXIT_INTERRUPTED)


def main() -> NoReturn:
    """The `rlmgen` command: `run`, then the process ends as SystemExit would end it but
    without the interpreter's teardown (a last full garbage collection and freeing every
    object one by one: half a second after a 10,000-metric build, some 40 ms after the
    seed's). Exit handlers still run and output is flushed."""
    try:
        run()
    except SystemExit as done:
        _end_process(done.code)
    _end_process(0)


def _end_process(code: object) -> NoReturn:
    if code is None or isinstance(code, int):
        status = code or 0
    else:  # as the interpreter does with SystemExit("message")
        print(code, file=sys.stderr)
        status = 1
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe: the interpreter's own exit status
            status = status or 120
    os._exit(status)


def run() -> None:
    """The command line in this process; raises SystemExit with the exit code (tests and
    benchmarks call it, and carry on)."""
    tune_garbage_collector()
    signal.signal(signal.SIGINT, _interrupted)
    try:
        cli(prog_name="rlmgen", standalone_mode=True)
    except OSError as exc:  # the disk or the system, not rlmgen: say what it said
        click.echo(f"rlmgen: {exc}", err=True)
        sys.exit(EXIT_INVALID)
    except Exception as exc:  # a bug in rlmgen, not in the spec: one line, and how to report
        if os.environ.get(TRACEBACK_ENV) == "1":
            raise
        click.echo(
            f"rlmgen: internal error: {type(exc).__name__}: {exc} (this is a bug in rlmgen; "
            f"please report it with the spec; {TRACEBACK_ENV}=1 shows the traceback)",
            err=True,
        )
        sys.exit(EXIT_INTERNAL)
