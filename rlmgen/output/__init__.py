"""Turning compiled specs into files: templates, serialisers and the writer."""

from __future__ import annotations

from pathlib import Path

TEMPLATE_NAMES = ("runbook.md.j2", "review.md.j2")


def template_directory() -> str:
    """The top-level templates/ of a source checkout, or the installed rlmgen.templates."""
    checkout = Path(__file__).resolve().parents[2] / "templates"  # rlmgen/output/ -> root
    if all((checkout / name).is_file() for name in TEMPLATE_NAMES):
        return str(checkout)
    from importlib import resources  # only installed copies need it (9 ms of imports)

    return str(resources.files("rlmgen.templates"))
