"""Peak RSS of `rlmgen build SPEC` and of the child it forks for large specs, which the
build process's own ru_maxrss does not include.

    python benchmarks/rss.py SPEC
"""

from __future__ import annotations

import resource
import sys
import tempfile

from rlmgen.cli import run as rlmgen_run


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        sys.argv = ["rlmgen", "build", sys.argv[1], "-o", scratch]
        try:
            rlmgen_run()
        except SystemExit as done:
            if done.code:
                raise
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"build process {own:.0f} MiB, forked child {child:.0f} MiB", file=sys.stderr)


if __name__ == "__main__":
    main()
