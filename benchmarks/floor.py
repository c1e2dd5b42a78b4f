"""The floor of a build, as its own fresh process: what no build of the spec can avoid.
It reads the spec with rlmgen's own YAML loader class (libyaml, as `rlmgen.spec.loader`
uses it), then encodes and writes the bytes the build wrote (every file of OUT_DIR, read
into memory before the clock starts), each service directory by rlmgen's own writer
function (every file flushed to disk; a large directory's files by threads).
Prints the seconds.

    python benchmarks/floor.py SPEC OUT_DIR [--plain-gc]
    python benchmarks/floor.py SPECS_DIR OUT_DIR [--plain-gc]   # every spec of a platform

By default the garbage collector is set as `rlmgen` sets it (the same policy as the build
it is compared with); --plain-gc keeps CPython's default, the program as anyone would
write it. What the floor leaves out is what rlmgen does on top: the source map that
locates errors, validation, the model, and making the files' text."""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import yaml

from rlmgen.cli import tune_garbage_collector
from rlmgen.output import writer
from rlmgen.output.digest import MANIFEST
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
    # each service directory as the writer writes it (threads for a large one)
    trees = sorted(
        (manifest.parent.relative_to(out_dir).as_posix() for manifest in out_dir.rglob(MANIFEST)),
        key=len,
        reverse=True,
    )
    with tempfile.TemporaryDirectory(dir=out_dir.parent) as scratch:
        start = time.perf_counter()
        for spec in sorted(spec_path.rglob("*.yaml")) if spec_path.is_dir() else [spec_path]:
            yaml.load(spec.read_bytes().decode("utf-8-sig"), Loader=loader._Loader)
        grouped: dict[str, dict[str, bytes]] = {}
        for relative, content in texts.items():
            tree = next((t for t in trees if relative.startswith(f"{t}/")), "")
            within = relative[len(tree) + 1 :] if tree else relative
            grouped.setdefault(tree, {})[within] = content.encode("utf-8")
        for tree, files in grouped.items():
            root = Path(scratch) / tree
            writer._write_tree(root, files, root)
        print(time.perf_counter() - start)


if __name__ == "__main__":
    main()
