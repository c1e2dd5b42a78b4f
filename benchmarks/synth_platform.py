"""A synthetic platform: S services, each a spec of M metrics deployed to two environments
(production and staging), as a platform team keeps them in one repository; and its
benchmark: a cold build with 1 and 2 jobs, a rebuild with nothing changed, a rebuild with
one spec changed, each a whole `rlmgen build` process, against the floor (every spec read
with rlmgen's YAML loader class, and the bytes the build wrote encoded and written).

    python benchmarks/synth_platform.py write /tmp/platform 200 50   # specs/ of 200 services
    python benchmarks/synth_platform.py measure 200 50 --into benchmarks/results.json
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import synth

ENVIRONMENTS = ("production", "staging")


def service_spec(index: int, metrics: int) -> dict[str, Any]:
    name = f"svc-{index:03d}"
    spec = synth.spec(metrics, seed=index)
    text = yaml.safe_dump(spec, sort_keys=False, width=1000)
    # every service its own names: metrics, dashboards, workloads
    spec = yaml.safe_load(
        text.replace("synth_metric_", f"svc{index:03d}_metric_").replace("synth-", f"{name}-")
    )
    spec["service"].update(
        name=name,
        title=f"Service {index}",
        namespace=name,
        runbookUrl=f"https://runbooks.example.com/{name}",
    )
    spec["environments"] = {
        "production": {},
        "staging": {"service": {"namespace": f"{name}-staging"}},
    }
    return spec


def write(directory: Path, services: int, metrics: int) -> list[Path]:
    specs = directory / "specs"
    specs.mkdir(parents=True, exist_ok=True)
    written = []
    for index in range(services):
        path = specs / f"svc-{index:03d}.yaml"
        path.write_text(yaml.safe_dump(service_spec(index, metrics), sort_keys=False, width=1000))
        written.append(path)
    return written


def change_one(directory: Path) -> Path:
    """Edit one spec the way a commit does: a warning level moves by a point."""
    path = directory / "specs" / "svc-000.yaml"
    text = path.read_text()
    level = re.search(r"> ([0-9]+)%", text)
    if level is None:
        raise ValueError(f"{path}: no percentage level to change")
    moved = int(level[1]) + (1 if int(level[1]) < 90 else -1)
    path.write_text(text[: level.start(1)] + str(moved) + text[level.end(1) :])
    return path


def _rlmgen(root: Path, *arguments: str, cache: bool) -> float:
    """Wall seconds of one whole `rlmgen -q build` process in `root`."""
    beside = Path(sys.executable).parent / "rlmgen"
    program = [str(beside)] if beside.is_file() else [sys.executable, "-m", "rlmgen"]
    environment = {**os.environ, "RLMGEN_CACHE": "1" if cache else "0"}
    environment.pop("RLMGEN_JOBS", None)
    environment.pop("PYTHONDONTWRITEBYTECODE", None)  # as users run it: compiled modules kept
    start = time.perf_counter()
    subprocess.run([*program, "-q", "build", *arguments], cwd=root, env=environment, check=True)
    return time.perf_counter() - start


def _floor(root: Path) -> float:
    """What no build of the platform can avoid (benchmarks/floor.py over every spec): each
    spec read with rlmgen's YAML loader class, and every byte of out/ encoded and written
    (each file flushed to disk), in a fresh process with rlmgen's GC policy."""
    floor = Path(__file__).resolve().parent / "floor.py"
    command = [sys.executable, str(floor), str(root / "specs"), str(root / "out")]
    return float(subprocess.run(command, check=True, capture_output=True).stdout)


def measure(services: int, metrics: int) -> dict[str, Any]:
    root = Path(tempfile.mkdtemp(prefix="rlmgen-platform-"))
    try:
        write(root, services, metrics)
        found: dict[str, Any] = {"services": services, "metrics": metrics}
        found["cold_1_job_seconds"] = _rlmgen(root, "-j", "1", cache=False)
        shutil.rmtree(root / "out")
        found["cold_2_jobs_seconds"] = _rlmgen(root, "-j", "2", cache=False)
        shutil.rmtree(root / "out")
        found["cold_cached_seconds"] = _rlmgen(root, cache=True)
        found["no_change_seconds"] = _rlmgen(root, cache=True)
        change_one(root)
        found["one_changed_seconds"] = _rlmgen(root, cache=True)
        found["floor_seconds"] = _floor(root)
        found["output_bytes"] = sum(
            p.stat().st_size for p in (root / "out").rglob("*") if p.is_file()
        )
        return found
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["write"]:
        write(Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
    elif sys.argv[1:2] == ["measure"]:
        report = measure(int(sys.argv[2]), int(sys.argv[3]))
        text = json.dumps(report, indent=2, sort_keys=True) + "\n"
        if "--output" in sys.argv:
            Path(sys.argv[sys.argv.index("--output") + 1]).write_text(text)
        if "--into" in sys.argv:  # benchmarks/results.json keeps it as "platform"
            target = Path(sys.argv[sys.argv.index("--into") + 1])
            results = json.loads(target.read_text()) if target.exists() else {}
            target.write_text(
                json.dumps({**results, "platform": report}, indent=2, sort_keys=True) + "\n"
            )
        sys.stdout.write(text)
    else:
        sys.exit(__doc__)
