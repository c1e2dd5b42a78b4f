"""Heading anchors as GitHub renders them, so links into the generated runbook resolve."""

from __future__ import annotations

import re

_PUNCTUATION = re.compile(r"[^\w\- ]", re.UNICODE)


def github_slug(heading: str) -> str:
    """GitHub's slug: lowercase, punctuation dropped, spaces to '-' (`SEV-1: Outage` ->
    `sev-1-outage`). Duplicates are disambiguated by the document, not here."""
    return _PUNCTUATION.sub("", heading.strip().lower()).replace(" ", "-")


def alert_anchor(alert_name: str) -> str:
    """The anchor of an alert's own section: its heading is the alert name."""
    return github_slug(alert_name)
