from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from rlmgen.cli import cli
from tests.conftest import MINIMAL_SPEC, REPO, SEED_SPEC, SEED_TEXT


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A scratch project with the seed spec in specs/, as a user's repository."""
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / SEED_SPEC.name).write_text(SEED_TEXT)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_validate_valid_spec_exits_0() -> None:
    result = run("validate", str(SEED_SPEC))
    assert result.exit_code == 0
    assert result.stdout == ""
    assert "ok: 0 errors, 0 warnings in 1 spec" in result.stderr


def test_validate_seed_verbatim_prints_one_located_line_per_invalid_query(monkeypatch) -> None:
    monkeypatch.chdir(REPO)
    result = run("validate", "tests/cases/invalid/seed-verbatim.yaml")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert len(lines) == 5
    assert all(line.startswith("tests/cases/invalid/seed-verbatim.yaml:") for line in lines)
    assert "invalid: 5 errors, 0 warnings in 1 spec" in result.stderr


def test_validate_json(monkeypatch) -> None:
    monkeypatch.chdir(REPO)
    result = run("validate", "--format", "json", "tests/cases/invalid/wrong-type.yaml")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["valid"] is False and report["errors"] == 1
    assert report["specs"][0]["diagnostics"] == [
        {
            "file": "tests/cases/invalid/wrong-type.yaml",
            "line": 46,
            "col": 18,
            "pointer": "/autoscaling/0/maxReplicas",
            "message": "expected a whole number, got the string 'ten'",
            "hint": "",
            "severity": "error",
            "check": "schema/type",
        }
    ]


def test_strict_fails_on_warnings(monkeypatch) -> None:
    monkeypatch.chdir(REPO)
    case = "tests/cases/invalid/for-shorter-than-evaluation.yaml"
    assert run("validate", case).exit_code == 0
    assert run("validate", "--strict", case).exit_code == 1


def test_usage_errors_exit_2(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert run("validate").exit_code == 2  # no specs/ here
    assert run("validate", "missing.yaml").exit_code == 2
    assert run("build", "--nope").exit_code == 2


def test_build_then_check_then_drift(project: Path) -> None:
    assert run("build").exit_code == 0
    assert run("check").exit_code == 0
    manifest = project / "out" / "rlm-hypervisor" / ".rlmgen-manifest"
    manifest.write_text(manifest.read_text() + "edited\n")
    result = run("check")
    assert result.exit_code == 1
    assert "+++ b/out/rlm-hypervisor/.rlmgen-manifest" in result.output
    assert "-edited" in result.output


def test_check_reports_files_and_services_that_should_not_be_there(project: Path) -> None:
    assert run("build").exit_code == 0
    (project / "out" / "rlm-hypervisor" / "stray.yaml").write_text("x")
    assert run("check").exit_code == 1
    (project / "out" / "rlm-hypervisor" / "stray.yaml").unlink()
    shutil.copytree(project / "out" / "rlm-hypervisor", project / "out" / "retired")
    result = run("check", "--format", "json")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["stale"] == ["retired"]


def test_invalid_spec_writes_nothing(project: Path) -> None:
    assert run("build").exit_code == 0
    before = {p: p.read_bytes() for p in (project / "out").rglob("*") if p.is_file()}
    spec = project / "specs" / SEED_SPEC.name
    spec.write_text(spec.read_text().replace("for: 2m", "for: 2 minutes"))
    result = run("build")
    assert result.exit_code == 1
    assert "nothing written" in result.stderr
    after = {p: p.read_bytes() for p in (project / "out").rglob("*") if p.is_file()}
    assert after == before
    # check never writes: it says what it did not do
    checked = run("check")
    assert checked.exit_code == 1
    assert checked.stderr.splitlines()[-1].endswith("; out/ not checked")


def test_two_specs_for_one_service_are_an_error(project: Path) -> None:
    (project / "specs" / "copy.yaml").write_text(SEED_TEXT)
    result = run("validate")
    assert result.exit_code == 1
    assert "service 'rlm-hypervisor' is also defined by specs/copy.yaml" in result.output


def test_schema_prints_the_shipped_json_schema() -> None:
    result = run("schema")
    assert json.loads(result.output)["$schema"] == "https://json-schema.org/draft/2020-12/schema"


@pytest.mark.parametrize("command", sorted(cli.commands))
def test_every_command_has_help_with_its_exit_codes(command: str) -> None:
    result = run(command, "--help")
    assert result.exit_code == 0 and "Usage: " in result.output
    assert "Exit 0" in " ".join(result.output.split())


def test_the_command_list_gives_whole_summaries() -> None:
    listed = " ".join(run("--help").output.split("Commands:")[1].split())
    assert "..." not in listed
    for name, command in cli.commands.items():
        first = " ".join((command.help or "").strip().split("\n\n")[0].split())
        assert f"{name} {first}" in listed


def test_builds_are_byte_identical_across_hash_seeds(tmp_path: Path) -> None:
    outputs = []
    for seed in ("0", "4242"):
        out = tmp_path / f"out-{seed}"
        env = {**os.environ, "PYTHONHASHSEED": seed}
        subprocess.run(
            [
                sys.executable,
                "-m",
                "rlmgen",
                "build",
                str(SEED_SPEC),
                str(MINIMAL_SPEC),
                "-o",
                str(out),
            ],
            check=True,
            env=env,
            capture_output=True,
        )
        outputs.append({p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()})
    assert outputs[0] == outputs[1]
    assert len(outputs[0]) >= 2


def test_python_dash_m_entry_point() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "rlmgen", "--version"], capture_output=True, text=True, check=True
    )
    assert result.stdout.startswith("rlmgen, version ")


def test_strict_passes_when_every_alert_and_recording_rule_is_proven() -> None:
    result = run("validate", "--strict", str(SEED_SPEC))
    assert result.exit_code == 0, result.output


def test_strict_reports_untested_alerts(monkeypatch) -> None:
    monkeypatch.chdir(REPO)
    result = run("validate", "--strict", "tests/cases/valid/minimal.yaml")
    assert result.exit_code == 1
    assert result.stdout == (
        "tests/cases/valid/minimal.yaml:26:9: /alertGroups/0/alerts/0: warning: alert "
        "'ShopHighErrorRate' has no example, so no promtool test proves it fires (hint: add "
        "examples: input series, the time 'at', and whether it fires) [alerts/untested]\n"
    )
    assert run("validate", "tests/cases/valid/minimal.yaml").exit_code == 0


def test_an_error_inside_rlmgen_is_one_line_and_exit_3(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from rlmgen import cli as cli_module

    def broken(**_: object) -> None:
        raise KeyError("runbook section")

    monkeypatch.setattr(cli_module, "cli", broken)
    monkeypatch.delenv(cli_module.TRACEBACK_ENV, raising=False)
    with pytest.raises(SystemExit) as exited:
        cli_module.run()
    assert exited.value.code == 3
    assert capsys.readouterr().err == (
        "rlmgen: internal error: KeyError: 'runbook section' (this is a bug in rlmgen; "
        "please report it with the spec; RLMGEN_TRACEBACK=1 shows the traceback)\n"
    )
    monkeypatch.setenv(cli_module.TRACEBACK_ENV, "1")
    with pytest.raises(KeyError):
        cli_module.run()


def test_a_spec_named_twice_is_compiled_once(in_repo: Path) -> None:
    result = CliRunner().invoke(
        cli, ["validate", "specs/rlm-hypervisor.yaml", "specs", "./specs/rlm-hypervisor.yaml"]
    )
    assert result.exit_code == 0, result.output
    assert "in 2 specs" in result.output  # the seed (named three ways) and checkout-api


def test_check_reports_an_empty_file_build_would_remove(project: Path) -> None:
    assert run("build").exit_code == 0
    (project / "out" / "rlm-hypervisor" / "grafana" / "stray.json").write_text("")
    result = run("check")
    assert result.exit_code == 1
    assert "out/rlm-hypervisor/grafana/stray.json: an empty file rlmgen does not write" in (
        result.stdout
    )


def test_specs_in_sub_folders_are_compiled(project: Path) -> None:
    (project / "specs" / "team-b").mkdir()
    minimal = (REPO / "tests" / "cases" / "valid" / "minimal.yaml").read_text()
    (project / "specs" / "team-b" / "shop.yaml").write_text(minimal)
    (project / "specs" / ".drafts").mkdir()
    (project / "specs" / ".drafts" / "wip.yaml").write_text("not: [a spec")
    result = run("build")
    assert result.exit_code == 0, result.output
    assert "specs/team-b/shop.yaml -> out/shop/" in result.stderr
    assert run("check").exit_code == 0


def test_a_directory_without_specs_is_a_usage_error(tmp_path: Path) -> None:
    result = run("validate", str(tmp_path))
    assert result.exit_code == 2
    assert f"Error: {tmp_path.as_posix()} holds no .yaml spec" in result.stderr


def test_diff_refuses_a_fifo_instead_of_blocking(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    os.mkfifo("new.yaml")
    shutil.copy(MINIMAL_SPEC, "old.yaml")
    result = run("diff", "old.yaml", "new.yaml")
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == (
        "new.yaml:1:1: /: cannot read: not a regular file (hint: give a .yaml file) "
        "[file/unreadable]"
    )


def test_output_inside_specs_is_not_read_as_specs(project: Path) -> None:
    assert run("build", "-o", "specs/generated").exit_code == 0
    result = run("validate")
    assert result.exit_code == 0, result.stdout
    assert "in 1 spec" in result.stderr


def test_an_output_directory_that_is_a_symlink_loop_is_one_line(project: Path) -> None:
    os.symlink("loop", "loop")
    result = run("build", "-o", "loop")
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == (
        "rlmgen: cannot create loop: it exists and is not a directory"
    )


def test_a_lock_timeout_must_be_a_number(project: Path) -> None:
    result = run("build", "--lock-timeout", "nan")
    assert result.exit_code == 2
    assert "give a number of seconds (inf waits forever)" in result.stderr


def test_shell_completion_completes_commands() -> None:
    env = {
        **os.environ,
        "_RLMGEN_COMPLETE": "bash_complete",
        "COMP_WORDS": "rlmgen he",
        "COMP_CWORD": "1",
    }
    result = subprocess.run(
        [sys.executable, "-c", "from rlmgen.cli import main; main()"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.stdout.split() == ["plain,health"]


def test_colour_only_at_a_terminal_and_never_with_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = "tests/cases/invalid/bad-duration.yaml"
    plain = CliRunner().invoke(cli, ["validate", spec])  # not a terminal: no colour
    assert "\x1b[" not in plain.output
    terminal = CliRunner().invoke(cli, ["validate", spec], color=True)
    assert "\x1b[31m/alertGroups/0/alerts/0/for: '2 minutes' is not a duration" in (terminal.output)
    monkeypatch.setenv("NO_COLOR", "1")
    honoured = CliRunner().invoke(cli, ["validate", spec], color=True)
    assert "\x1b[" not in honoured.output
    assert honoured.output.replace("\n", "") == plain.output.replace("\n", "")


def test_quiet_and_verbose(tmp_path: Path) -> None:
    spec = "tests/cases/invalid/bad-duration.yaml"
    quiet = CliRunner().invoke(cli, ["-q", "validate", spec])
    normal = CliRunner().invoke(cli, ["validate", spec])
    assert quiet.exit_code == normal.exit_code == 1
    assert quiet.stdout == normal.stdout  # the problems, always
    assert normal.stderr == "invalid: 1 error, 0 warnings in 1 spec\n" and quiet.stderr == ""
    out = tmp_path / "out"
    built = CliRunner().invoke(cli, ["-q", "build", "-o", str(out), str(SEED_SPEC)])
    assert (built.exit_code, built.stdout, built.stderr) == (0, "", "")
    verbose = CliRunner().invoke(cli, ["-v", "check", "-o", str(out), str(SEED_SPEC)])
    assert verbose.exit_code == 0
    assert verbose.stderr.splitlines()[-1].startswith("rlmgen: ")
    assert verbose.stderr.splitlines()[-1].endswith(" s")
    both = CliRunner().invoke(cli, ["-q", "-v", "validate", spec])
    assert both.exit_code == 2 and "give --quiet or --verbose, not both" in both.stderr
    # after the command too, as people write them
    after = CliRunner().invoke(cli, ["validate", spec, "-q"])
    assert (after.exit_code, after.stdout, after.stderr) == (1, quiet.stdout, "")
    built = CliRunner().invoke(cli, ["build", "-q", "-o", str(out), str(SEED_SPEC)])
    assert (built.exit_code, built.stdout, built.stderr) == (0, "", "")


# output buffered as it is by default (a pipe is block-buffered), whatever this shell says
BUFFERED = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}


def _command(*arguments: str, before: str = "") -> subprocess.CompletedProcess[str]:
    """`rlmgen ARGUMENTS` as its console script runs it (rlmgen.cli.main), in a process."""
    script = f"import sys\n{before}\nfrom rlmgen.cli import main\nsys.argv[0] = 'rlmgen'\nmain()\n"
    return subprocess.run(
        [sys.executable, "-c", script, *arguments],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        cwd=REPO,
        env=BUFFERED,
    )


def test_the_command_ends_without_teardown_yet_as_exit_would() -> None:
    """main() ends the process without the interpreter's teardown: what is printed is
    flushed (even unterminated), exit handlers run after the command, codes are kept."""
    handler = "import atexit\natexit.register(lambda: print('handler ran', end=''))"
    shown = _command("--version", before=handler)
    assert shown.returncode == 0
    assert shown.stdout.startswith("rlmgen, version ") and shown.stdout.endswith("handler ran")
    invalid = _command("-q", "validate", "tests/cases/invalid/bad-duration.yaml")
    assert invalid.returncode == 1
    assert "'2 minutes' is not a duration" in invalid.stdout
    assert _command("no-such-command").returncode == 2


def test_output_that_cannot_be_written_is_a_failure(tmp_path: Path) -> None:
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full on this system")
    with open("/dev/full", "w") as full:
        done = subprocess.run(
            [sys.executable, "-c", "from rlmgen.cli import main; main()", "schema"],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            check=False,
            timeout=120,
            env=BUFFERED,
        )
    assert done.returncode != 0
    assert "No space left on device" in done.stderr
