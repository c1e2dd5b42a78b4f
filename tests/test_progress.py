"""The progress line of long commands: only at a terminal, erased before other output."""

from __future__ import annotations

import io
import threading
from pathlib import Path

from click.testing import CliRunner

from rlmgen import progress
from rlmgen.cli import cli
from rlmgen.progress import Progress


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_line_is_drawn_in_place_and_erased(monkeypatch) -> None:
    monkeypatch.setattr(progress, "DELAY", 0.0)
    monkeypatch.setattr(progress, "TICK", 0.01)
    terminal = _Terminal()
    drawn = threading.Event()
    with Progress(terminal) as shown:
        shown.update("compiling specs/a.yaml (1/2)")
        while "compiling" not in terminal.getvalue():
            drawn.wait(0.01)
        shown.pause()
        terminal.write("specs/a.yaml:1:1: /: a problem\n")
    text = terminal.getvalue()
    assert "\r\x1b[Krlmgen: compiling specs/a.yaml (1/2) 0s" in text
    # paused: the diagnostic starts on an erased line and nothing is drawn after it
    before, after = text.split("specs/a.yaml:1:1: /: a problem\n")
    assert before.endswith("\r\x1b[K") and after == ""


def test_quick_commands_never_show_it(monkeypatch) -> None:
    terminal = _Terminal()
    with Progress(terminal) as shown:
        shown.update("compiling")
    assert terminal.getvalue() == ""


def test_nothing_but_diagnostics_and_summary_when_not_a_terminal(tmp_path: Path) -> None:
    from tests.conftest import MINIMAL_SPEC

    result = CliRunner().invoke(cli, ["build", "--out", str(tmp_path), str(MINIMAL_SPEC)])
    assert result.exit_code == 0
    assert "\x1b" not in result.stderr and "\r" not in result.stderr
