"""'Did you mean' for every name a spec refers to: one way of finding the closest name."""

from __future__ import annotations

from collections.abc import Iterable


def _squash(word: str) -> str:
    return word.replace("_", "").replace("-", "").replace(" ", "").lower()


def closest(word: str, choices: Iterable[str], *, cutoff: float = 0.6, n: int = 1) -> list[str]:
    """The choices closest to `word`, best first: one that differs only in case and
    separators, else difflib's closest above `cutoff`."""
    ordered = sorted(set(choices))
    same = [c for c in ordered if _squash(c) == _squash(word)]
    if same:
        return same[:n]
    import difflib  # only a spec with a mistake gets here (2 ms of every start otherwise)

    return difflib.get_close_matches(word, ordered, n=n, cutoff=cutoff)


def did_you_mean(
    word: str, choices: Iterable[str], *, cutoff: float = 0.6, n: int = 1
) -> str | None:
    """The question "did you mean 'x'?" (or 'x' or 'y'), or None when nothing is close."""
    found = closest(word, choices, cutoff=cutoff, n=n)
    return ask(found) if found else None


def ask(choices: list[str]) -> str:
    """The question "did you mean 'x'?" for choices already made."""
    quoted = " or ".join(f"'{c}'" for c in choices)
    return f"did you mean {quoted}?"
