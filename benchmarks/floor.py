"""The floor of a build, as its own fresh process: what no build of the spec can avoid.
It reads the spec with rlmgen's own YAML loader class (libyaml, as `rlmgen.spec.loader`
uses it), then encodes and writes the bytes the build wrote (every file of OUT_DIR, read
into memory before the clock starts), each file flushed to disk as rlmgen's writer does.
Prints the seconds.

    python benchmarks/floor.py SPEC OUT_DIR [--plain-gc]
    python benchmarks/floor.py SPECS_DIR OUT_DIR [--plain-gc]   # every spec of a platform

By default the garbage collector is set as `rlmgen` sets it (the same policy as the build
it is compared with); --plain-gc keeps CPython's default, the program as anyone would
write it. What the floor leaves out is what rlmgen does on top: the source map that
locates errors, validation, the model, and making the files' text."""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import yaml

from rlmgen.cli import tune_garbage_collector
from rlmgen.spec import loader


def main() -> None:
    spec_path, out_dir = Path(sys.argv[1]), Path(sys.argv[2])
    if "--plain-gc" not in sys.argv[3:]:
        tune_garbage_collector()
    texts = {
        path.relative_to(out_dir).as_posix(): path.read_text(encoding="utf-8")
        for path in sorted(out_dir.rglob("*"))
        if path.is_file()
    }
    with tempfile.TemporaryDirectory(dir=out_dir.parent) as scratch:
        start = time.perf_counter()
        for spec in sorted(spec_path.rglob("*.yaml")) if spec_path.is_dir() else [spec_path]:
            yaml.load(spec.read_bytes().decode("utf-8-sig"), Loader=loader._Loader)
        for relative, content in texts.items():
            target = Path(scratch) / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            with open(target, "wb") as handle:
                handle.write(content.encode("utf-8"))
                handle.flush()
                os.fsync(handle.fileno())
        print(time.perf_counter() - start)


if __name__ == "__main__":
    main()
