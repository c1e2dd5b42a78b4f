"""Compile speed and memory, from one spec to ten thousand metrics.

    python benchmarks/run.py --sizes 10,100,1000,10000

For each size: the wall time of each stage in process (load, schema validation,
semantic validation, model, each generator, write), the whole `rlmgen build` process
(cold: no cache) and its peak RSS, the output bytes, and the floor (benchmarks/floor.py:
reading the spec with rlmgen's YAML loader class, then encoding and writing the bytes the
build wrote, as a fresh process, with rlmgen's garbage-collector policy and with
CPython's default). Also whole-process times of `rlmgen --help`, `validate` and `build`
of the RLM Hypervisor spec (cold and with nothing changed), against
`python -c "import click"`. Prints a table and writes benchmarks/results.json.

    python benchmarks/run.py --startup-only   # only the start-up comparison
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(HERE))

import synth  # noqa: E402

from rlmgen.cli import tune_garbage_collector  # noqa: E402
from rlmgen.derive.rules import derive_rules  # noqa: E402
from rlmgen.emit import EMITTERS  # noqa: E402
from rlmgen.model.compile import compile_spec  # noqa: E402
from rlmgen.output.writer import render, write_services  # noqa: E402
from rlmgen.spec.loader import load_file  # noqa: E402
from rlmgen.spec.schema_check import schema_diagnostics  # noqa: E402


def _timed(function, *args):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    result = function(*args)
    return result, time.perf_counter() - start


def _process(
    command: list[str], cwd: Path | None = None, env: dict[str, str] | None = None
) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB) of one whole process."""
    start = time.perf_counter()
    child = subprocess.Popen(
        command,
        cwd=cwd,
        env={**_environment(), **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _, status, usage = os.wait4(child.pid, 0)
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(command)} failed")
    return elapsed, usage.ru_maxrss


def _rlmgen() -> list[str]:
    """The console script installed beside this interpreter: a `rlmgen` found on PATH
    may be a wrapper (pyenv's shims add ~0.1 s to every start)."""
    beside = Path(sys.executable).parent / "rlmgen"
    return [str(beside)] if beside.is_file() else [sys.executable, "-m", "rlmgen"]


def _floor(spec_path: Path, out_dir: Path, *flags: str) -> float:
    """benchmarks/floor.py in a fresh process: nothing of this one's heap to slow it."""
    command = [sys.executable, str(HERE / "floor.py"), str(spec_path), str(out_dir)]
    return float(subprocess.run([*command, *flags], check=True, capture_output=True).stdout)


def _environment() -> dict[str, str]:
    """As users run rlmgen: Python may keep compiled modules (a CI image that sets
    PYTHONDONTWRITEBYTECODE compiles every module at every start)."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def measure(size: int, workdir: Path, repeat: int) -> dict[str, Any]:
    spec_path = workdir / f"spec-{size}.yaml"
    spec_path.write_text(synth.text(size))
    stages: dict[str, float] = {}
    spec, stages["load"] = _timed(load_file, spec_path)
    # compile_spec runs the schema pass again: its time minus the schema pass's is the walk
    problems, stages["schema validation"] = _timed(schema_diagnostics, spec)
    assert not problems, problems[:3]
    compilation, compile_seconds = _timed(compile_spec, spec, f"specs/spec-{size}.yaml")
    stages["compile walk"] = compile_seconds - stages["schema validation"]
    assert compilation.model is not None, compilation.diagnostics[:3]
    model = compilation.model
    rules, stages["derive rules"] = _timed(derive_rules, model)
    artifacts: dict[str, str] = {}
    for name, emitter in EMITTERS:
        produced, stages[f"emit {name}"] = _timed(emitter, model, rules)
        artifacts.update(produced)
    out = workdir / f"out-{size}"
    start = time.perf_counter()
    files = render(artifacts, f"specs/spec-{size}.yaml")
    write_services(out, {model.service.name: files})
    stages["write"] = time.perf_counter() - start
    output_bytes = sum(len(data) for data in files.values())
    # This machine's speed drifts by a quarter between runs: the process and the floor
    # are each timed `repeat` times, interleaved, and the best of each is compared. The
    # build runs without the cache (a cold build), as one job, into an empty directory
    # (into the last run's files it would read them back and write nothing).
    cli_out = workdir / f"cli-out-{size}"
    command = [*_rlmgen(), "-q", "build", str(spec_path), "-o", str(cli_out), "-j", "1"]
    runs, floors, plain_floors = [], [], []
    for _ in range(repeat):
        shutil.rmtree(cli_out, ignore_errors=True)
        runs.append(_process(command, env={"RLMGEN_CACHE": "0"}))
        floors.append(_floor(spec_path, cli_out))
        plain_floors.append(_floor(spec_path, cli_out, "--plain-gc"))
    process_seconds = min(seconds for seconds, _ in runs)
    peak_kib = max(kib for _, kib in runs)
    floor, plain_floor = min(floors), min(plain_floors)
    return {
        "size": size,
        "stages": stages,
        "in_process_seconds": sum(stages.values()),
        "process_seconds": process_seconds,
        "peak_rss_mib": peak_kib / 1024,
        "output_bytes": output_bytes,
        "floor_seconds": floor,
        "floor_ratio": process_seconds / floor,
        "floor_plain_gc_seconds": plain_floor,
        "plain_gc_floor_ratio": process_seconds / plain_floor,
    }


def startup(repeat: int = 5) -> dict[str, float]:
    """Whole processes against `python -c "import click"`, best of `repeat`, after one
    unmeasured run of each (Python's compiled modules written). The seed's build is timed
    cold (no cache) and again with nothing changed (its cache entry and out/ current)."""
    seed = REPO / "specs" / "rlm-hypervisor.yaml"
    with tempfile.TemporaryDirectory() as scratch:
        cold = {"RLMGEN_CACHE": "0"}
        commands = {
            "import click": ([sys.executable, "-c", "import click"], None),
            "rlmgen --help": ([*_rlmgen(), "--help"], None),
            "rlmgen validate (RLM Hypervisor)": ([*_rlmgen(), "-q", "validate", str(seed)], cold),
            "rlmgen build (RLM Hypervisor), cold": (
                [*_rlmgen(), "-q", "build", str(seed), "-o", f"{scratch}/cold"],
                cold,
            ),
            "rlmgen build (RLM Hypervisor), no change": (
                [*_rlmgen(), "-q", "build", str(seed), "-o", f"{scratch}/cached"],
                {"RLMGEN_CACHE_DIR": f"{scratch}/cache"},
            ),
        }
        best = {}
        for name, (command, env) in commands.items():
            _process(command, cwd=Path(scratch), env=env)  # compiled modules, cache, out/
            best[name] = min(
                _process(command, cwd=Path(scratch), env=env)[0] for _ in range(repeat)
            )
    click = best["import click"]
    return {
        **best,
        "help / click": best["rlmgen --help"] / click,
        "validate / click": best["rlmgen validate (RLM Hypervisor)"] / click,
        "cold build / click": best["rlmgen build (RLM Hypervisor), cold"] / click,
        "no-change build / click": best["rlmgen build (RLM Hypervisor), no change"] / click,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,100,1000,10000")
    parser.add_argument("--startup-only", action="store_true")
    parser.add_argument("--output", type=Path, default=HERE / "results.json")
    parser.add_argument(
        "--repeat", type=int, default=3, help="timings per size; the best one counts"
    )
    arguments = parser.parse_args()
    sizes = [int(s) for s in arguments.sizes.split(",")]
    tune_garbage_collector()  # as `rlmgen` itself does, so stages add up to the process
    with tempfile.TemporaryDirectory() as scratch:
        results = [
            measure(size, Path(scratch), arguments.repeat)
            for size in ([] if arguments.startup_only else sizes)
        ]
    report = {"sizes": results, "startup": startup(), "cpus": os.cpu_count()}
    print(
        f"{'metrics':>8} {'in-process s':>13} {'process s':>10} {'floor s':>8} "
        f"{'x floor':>8} {'plain s':>8} {'x plain':>8} {'RSS MiB':>8} {'out MiB':>8}"
    )
    for r in results:
        print(
            f"{r['size']:>8} {r['in_process_seconds']:>13.2f} {r['process_seconds']:>10.2f} "
            f"{r['floor_seconds']:>8.3f} {r['floor_ratio']:>8.1f} "
            f"{r['floor_plain_gc_seconds']:>8.3f} {r['plain_gc_floor_ratio']:>8.1f} "
            f"{r['peak_rss_mib']:>8.0f} {r['output_bytes'] / 2**20:>8.1f}"
        )
    if results:
        slowest = max(results, key=lambda r: r["size"])
        print("stages at", slowest["size"], "metrics:")
        for stage, seconds in sorted(slowest["stages"].items(), key=lambda kv: -kv[1]):
            print(f"  {stage:<32} {seconds:8.3f} s")
    for name, value in report["startup"].items():
        print(f"{name:<42} {value:8.3f}")
    if arguments.output.exists():  # what synth_platform.py keeps there
        kept = json.loads(arguments.output.read_text())
        report = {**{k: v for k, v in kept.items() if k == "platform"}, **report}
        if arguments.startup_only:
            report["sizes"] = kept.get("sizes", [])
    arguments.output.write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
