"""A synthetic platform: S services, each a spec of M metrics deployed to two environments
(production and staging), as a platform team keeps them in one repository.

    python benchmarks/synth_platform.py write /tmp/platform 200 50   # specs/ of 200 services
"""

from __future__ import annotations

import sys
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
    """Edit one spec the way a commit does: a warning level moves."""
    path = directory / "specs" / "svc-000.yaml"
    text = path.read_text()
    for old, new in (("> 95%", "> 96%"), ("> 96%", "> 95%")):
        if old in text:
            path.write_text(text.replace(old, new, 1))
            return path
    raise ValueError("no level to change")


if __name__ == "__main__":
    if sys.argv[1:2] == ["write"]:
        write(Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
    else:
        sys.exit(__doc__)
