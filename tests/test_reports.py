"""Diagnostics for CI: GitHub Actions annotations, SARIF, and the pre-commit hooks."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import click
import pytest
import yaml
from click.testing import CliRunner

from rlmgen.cli import cli
from rlmgen.spec.diagnostics import Diagnostic
from rlmgen.spec.reports import github, sarif
from tests.conftest import REPO


def test_github_annotations_are_one_escaped_line_each() -> None:
    output = github(
        [
            Diagnostic(
                "specs/a.yaml",
                3,
                5,
                "/metrics/0",
                "bad: 100%\nvalue",
                "hint, here",
                check="units/invalid",
            ),
            Diagnostic("specs/a,b.yaml", 1, 1, "", "careful", severity="warning"),
        ]
    )
    assert output == (
        "::error file=specs/a.yaml,line=3,col=5,title=rlmgen error [units/invalid]::/metrics/0: "
        "bad: 100%25%0Avalue (hint: hint, here)\n"
        "::warning file=specs/a%2Cb.yaml,line=1,col=1,title=rlmgen warning::/: careful\n"
    )


def test_sarif_results_carry_locations() -> None:
    document = json.loads(
        sarif([Diagnostic("specs/a.yaml", 3, 5, "/x", "broken", "fix it", check="levels/order")])
    )
    assert document["version"] == "2.1.0"
    [run] = document["runs"]
    assert run["tool"]["driver"]["name"] == "rlmgen"
    assert run["columnKind"] == "unicodeCodePoints"  # as rlmgen counts columns
    [result] = run["results"]
    rules = run["tool"]["driver"]["rules"]
    assert rules[result["ruleIndex"]]["id"] == "levels/order"
    assert all(rule["fullDescription"]["text"] for rule in rules)  # GitHub wants one
    assert result == {
        "ruleId": "levels/order",
        "ruleIndex": result["ruleIndex"],
        "level": "error",
        "message": {"text": "broken (hint: fix it)"},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": "specs/a.yaml"},
                    "region": {"startLine": 3, "startColumn": 5},
                },
                "logicalLocations": [{"fullyQualifiedName": "/x"}],
            }
        ],
    }


def test_sarif_file_uris_are_uri_references() -> None:
    """A space, comma, colon or % in a path is escaped, as SARIF's `uri` is a URI
    reference (the SARIF Multitool refuses `a b%.yaml`)."""
    diagnostic = Diagnostic("edge/we,ird:dir/a b%.yaml", 1, 1, "", "x", check="levels/order")
    [run] = json.loads(sarif([diagnostic]))["runs"]
    location = run["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert location == {"uri": "edge/we%2Cird%3Adir/a%20b%25.yaml"}


def test_sarif_output_validates_against_the_sarif_2_1_0_model(monkeypatch) -> None:
    """sarif-pydantic models the SARIF 2.1.0 schema (types, enums, required fields)."""
    from sarif_pydantic import Sarif

    monkeypatch.chdir(REPO)
    result = CliRunner().invoke(
        cli, ["validate", "--format", "sarif", "tests/cases/invalid/many-mistakes.yaml"]
    )
    document = json.loads(result.stdout)
    log = Sarif.model_validate(document)
    assert len(log.runs[0].results or []) == 4
    broken = json.loads(result.stdout)
    broken["runs"][0]["results"][0]["level"] = "fatal"
    with pytest.raises(ValueError):
        Sarif.model_validate(broken)


def test_validate_formats_from_the_cli(monkeypatch) -> None:
    monkeypatch.chdir(REPO)
    runner = CliRunner()
    case = "tests/cases/invalid/wrong-type.yaml"
    result = runner.invoke(cli, ["validate", "--format", "github", case])
    assert result.exit_code == 1
    assert result.stdout == (
        "::error file=tests/cases/invalid/wrong-type.yaml,line=46,col=18,"
        "title=rlmgen error [schema/type]::"
        "/autoscaling/0/maxReplicas: expected a whole number, got the string 'ten'\n"
    )
    result = runner.invoke(cli, ["validate", "--format", "sarif", case])
    assert result.exit_code == 1
    assert len(json.loads(result.stdout)["runs"][0]["results"]) == 1


def test_pre_commit_hooks_run_real_commands() -> None:
    hooks = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
    assert [h["id"] for h in hooks] == ["rlmgen-validate", "rlmgen-check"]
    runner = CliRunner()
    for hook in hooks:
        program, command = hook["entry"].split()
        assert program == "rlmgen"
        assert runner.invoke(cli, [command, "--help"]).exit_code == 0


def _documented_commands() -> list[tuple[str, list[str]]]:
    """(where, arguments) of every rlmgen command line in the CI recipes' code blocks, the
    README's code blocks, .ci/run and the pre-commit hooks."""
    found = []
    sources = {name: (REPO / name).read_text() for name in ("docs/ci.md", "README.md")}
    blocks = {
        name: "\n".join(part.split("```")[0] for part in text.split("```")[1::2])
        for name, text in sources.items()
    }
    blocks[".ci/run"] = (REPO / ".ci" / "run").read_text()
    blocks[".pre-commit-hooks.yaml"] = "\n".join(
        f"{h['entry']} {' '.join(h.get('args', []))}"
        for h in yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
    )
    for name, text in blocks.items():
        for line in text.splitlines():
            line = re.sub(r"^\s*(?:-\s+)?(?:run:|script:|\$)?\s*", "", line.split(" #")[0])
            for segment in re.split(r"&&|\|\||[|;]", line):
                if not segment.strip().startswith("rlmgen "):
                    continue
                words = shlex.split(segment.split(">")[0])
                if words[1:2] and words[1] in cli.commands:
                    found.append((name, words[1:]))
    return found


def test_every_documented_command_line_parses(in_repo: Path) -> None:
    """Each documented `rlmgen ...` names a real command with real options (parsed by the
    CLI itself, not searched for as text)."""
    commands = _documented_commands()
    assert len(commands) >= 8
    for where, arguments in commands:
        name, rest = arguments[0], arguments[1:]
        command = cli.commands[name]
        try:
            command.make_context(name, list(rest), parent=cli.make_context("rlmgen", [name]))
        except click.UsageError as exc:
            pytest.fail(f"{where}: rlmgen {' '.join(arguments)}: {exc.format_message()}")


def test_ci_docs_and_ci_run_use_commands_that_exist() -> None:
    docs = (REPO / "docs" / "ci.md").read_text()
    ci_run = (REPO / ".ci" / "run").read_text()
    for command in ("rlmgen validate --strict", "rlmgen check"):
        assert command in docs and command in ci_run
    for block in docs.split("```yaml")[1:]:
        yaml.safe_load(block.split("```")[0])  # every example parses
