"""Kills and races against `rlmgen build`: after every round, each `out/<service>` must
be exactly the old tree or exactly the new one, and the next build must succeed.

    python benchmarks/reliability.py                 # 50 kills and 50 races (~2 minutes)
    python benchmarks/reliability.py --kills 5 --races 5
    python benchmarks/reliability.py --sabotage      # a non-atomic writer: must fail

Kills are SIGKILL at a random moment of a build of a 300-metric spec: half at a uniform
moment of its run, half just after it starts writing (a staged tree appears), the
window where a non-atomic writer leaves a partial tree. Races start two builds of
different specs into the same out/ at once. `--sabotage` runs the builds with a writer
that writes straight into out/<service> (no staging, no lock), to show the checks catch
what they are meant to. Exit 0 when every round held, 1 otherwise; a JSON report on
stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import synth

SERVICE = "synthetic"
# Runs the CLI; "inplace" first replaces the writer by one that writes straight into
# out/<service>, without staging or lock.
LAUNCHER = """
import sys
if sys.argv[1] == "inplace":
    import shutil
    from rlmgen.output import writer

    def write_in_place(out_dir, services, remove_stale=False, **_):
        out_dir.mkdir(parents=True, exist_ok=True)
        for service, files in services.items():
            shutil.rmtree(out_dir / service, ignore_errors=True)
            writer._write_tree(out_dir / service, files, out_dir / service)
        return []

    writer.write_services = write_in_place
from rlmgen.cli import main
sys.argv = ["rlmgen", *sys.argv[2:]]
main()
"""


def tree(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def build_command(spec: Path, out: Path, mode: str = "plain") -> list[str]:
    return [sys.executable, "-c", LAUNCHER, mode, "build", str(spec), "-o", str(out)]


def state(out: Path, old: dict[str, bytes], new: dict[str, bytes]) -> str:
    """'old', 'new', or what else out/<service> is."""
    service = out / SERVICE
    if not service.is_dir():
        return "missing"
    found = tree(service)
    if found == old:
        return "old"
    if found == new:
        return "new"
    return f"partial ({len(found)} files)"


def kill_round(
    rng: random.Random, specs: tuple[Path, Path], refs: tuple[dict, dict], work: Path, args
) -> dict:
    out = work / "out"
    shutil.rmtree(out, ignore_errors=True)
    subprocess.run(build_command(specs[0], out), check=True, capture_output=True)
    process = subprocess.Popen(  # sabotaged: always killed while it writes
        build_command(specs[1], out, "inplace" if args.sabotage else "plain"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    started = time.monotonic()
    if rng.random() < 0.5 and not args.sabotage:
        time.sleep(rng.uniform(0, args.build_seconds))
    else:  # just after writing starts
        while process.poll() is None and time.monotonic() - started < 30:
            staged = list(out.glob(f".rlmgen-{SERVICE}.*")) if out.is_dir() else []
            if staged or (args.sabotage and not (out / SERVICE / "runbook").exists()):
                break
            time.sleep(0.001)
        time.sleep(0 if args.sabotage else rng.uniform(0, 0.05))
    process.send_signal(signal.SIGKILL)
    process.wait()
    after_kill = state(out, *refs)
    rebuilt = subprocess.run(build_command(specs[1], out), capture_output=True, text=True)
    leftovers = sorted(p.name for p in out.iterdir() if p.name.startswith(".rlmgen-"))
    return {
        "after_kill": after_kill,
        "next_build_exit": rebuilt.returncode,
        "next_build": state(out, *refs),
        "leftovers": leftovers,
        "ok": after_kill in ("old", "new")
        and rebuilt.returncode == 0
        and state(out, *refs) == "new"
        and not leftovers,
    }


def race_round(
    rng: random.Random, specs: tuple[Path, Path], refs: tuple[dict, dict], work: Path, args
) -> dict:
    out = work / "out"
    shutil.rmtree(out, ignore_errors=True)
    processes = []
    for spec in specs:  # the second a little later: its start may fall in the first's writing
        processes.append(
            subprocess.Popen(
                build_command(spec, out, "inplace" if args.sabotage else "plain"),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
        time.sleep(rng.uniform(0, 0.2))
    errors = [p.communicate(timeout=120)[1] for p in processes]
    exits = [p.returncode for p in processes]
    final = state(out, *refs)
    leftovers = sorted(p.name for p in out.iterdir() if p.name.startswith(".rlmgen-"))
    return {
        "exits": exits,
        "stderr": [e[-600:] for e in errors],
        "state": final,
        "leftovers": leftovers,
        "ok": exits == [0, 0] and final in ("old", "new") and not leftovers,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=50)
    parser.add_argument("--races", type=int, default=50)
    parser.add_argument("--metrics", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--sabotage", action="store_true")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="rlmgen-reliability-") as scratch:
        work = Path(scratch)
        specs = (work / "old.yaml", work / "new.yaml")
        for seed, path in enumerate(specs):
            import yaml

            path.write_text(yaml.safe_dump(synth.spec(args.metrics, seed=seed), sort_keys=False))
        refs = []
        for spec in specs:
            reference = work / f"ref-{spec.stem}"
            started = time.monotonic()
            subprocess.run(build_command(spec, reference), check=True, capture_output=True)
            args.build_seconds = time.monotonic() - started
            refs.append(tree(reference / SERVICE))
        assert refs[0] != refs[1], "the two specs must compile to different trees"
        kills = [kill_round(rng, specs, (refs[0], refs[1]), work, args) for _ in range(args.kills)]
        races = [race_round(rng, specs, (refs[0], refs[1]), work, args) for _ in range(args.races)]
    report = {
        "kills": len(kills),
        "kills_failed": [k for k in kills if not k["ok"]],
        "kills_after": {s: sum(k["after_kill"] == s for k in kills) for s in ("old", "new")},
        "races": len(races),
        "races_failed": [r for r in races if not r["ok"]],
        "sabotage": args.sabotage,
    }
    print(json.dumps(report, indent=2))
    return 1 if report["kills_failed"] or report["races_failed"] else 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
