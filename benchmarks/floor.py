"""The I/O floor of a build, as its own fresh process: load the spec with PyYAML's C
loader, then json.dumps as many bytes as the build writes. Prints the seconds.

    python benchmarks/floor.py SPEC OUTPUT_BYTES [--tuned-gc]

Run plainly, it is what the simplest program doing that I/O costs. With --tuned-gc it
collects garbage as rarely as rlmgen does, the floor rlmgen could at best reach."""

from __future__ import annotations

import json
import sys
import time

import yaml

from rlmgen.cli import tune_garbage_collector


def main() -> None:
    spec_path, output_bytes = sys.argv[1], int(sys.argv[2])
    if "--tuned-gc" in sys.argv[3:]:
        tune_garbage_collector()
    with open(spec_path, encoding="utf-8") as handle:
        text = handle.read()
    start = time.perf_counter()
    yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    json.dumps(["x" * 1000] * (output_bytes // 1000 + 1))
    print(time.perf_counter() - start)


if __name__ == "__main__":
    main()
