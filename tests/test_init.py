"""`rlmgen init` makes a repository that works on its own: in a fresh directory, the
generated spec is valid, the generated CI workflow's commands and the generated
pre-commit hooks pass, with no file of this repository needed."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from rlmgen.cli import cli
from rlmgen.scaffold import REQUIREMENTS_FILE, files, installed_requirement
from rlmgen.spec.schema import schema_text
from tests.conftest import REPO, require_tool

BIN = Path(sys.executable).parent
STEP_TIMEOUT = 120  # seconds: `rlmgen test` of the scaffold takes about one


def _run(command: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", **env}
    environment.pop("RLMGEN_TRACEBACK", None)
    return subprocess.run(
        command,
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=STEP_TIMEOUT,
        check=False,
    )


def _git(repo: Path, *arguments: str) -> None:
    identity = ["-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false"]
    outcome = _run(["git", *identity, *arguments], repo)
    assert outcome.returncode == 0, outcome.stderr


@pytest.fixture
def scaffolded(tmp_path: Path) -> Path:
    """A fresh repository made by `rlmgen init` (the installed command, run elsewhere)."""
    repo = tmp_path / "monitoring"
    outcome = _run([str(BIN / "rlmgen"), "init", str(repo), "--service", "orders-api"], tmp_path)
    assert outcome.returncode == 0, outcome.stderr
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "rlmgen init")
    return repo


def _steps(repo: Path) -> dict[str, dict[str, Any]]:
    workflow = yaml.safe_load((repo / ".github" / "workflows" / "rlmgen.yaml").read_text())
    [job] = workflow["jobs"].values()
    return {step["name"]: step for step in job["steps"] if "name" in step}


# what the workflow's expressions are on a pull request into main
EXPRESSIONS = {
    "github.base_ref": "main",
    "github.repository": "example/monitoring",
    "github.event.pull_request.number": "7",
    "github.token": "token",
    "secrets.GITHUB_TOKEN": "token",
}


def _expand(value: object) -> str:
    def known(match: re.Match[str]) -> str:
        assert match[1] in EXPRESSIONS, f"an expression this test does not know: {match[0]}"
        return EXPRESSIONS[match[1]]

    return re.sub(r"\$\{\{\s*([^}]+?)\s*\}\}", known, str(value))


def _run_step(repo: Path, step: dict[str, Any], **env: str) -> subprocess.CompletedProcess[str]:
    step_env = {k: _expand(v) for k, v in (step.get("env") or {}).items()}
    script = str(step["run"])
    assert "${{" not in script, "expressions belong in env:, not in scripts"
    runner_files = {  # what a GitHub runner gives every step
        name: str(repo.parent / name.lower())
        for name in ("GITHUB_STEP_SUMMARY", "GITHUB_OUTPUT", "GITHUB_ENV")
    }
    return _run(
        ["bash", "-e", "-o", "pipefail", "-c", script],
        repo,
        **{**runner_files, "GITHUB_ACTIONS": "true", **step_env, **env},
    )


def test_init_writes_a_repository_that_builds(scaffolded: Path) -> None:
    written = sorted(str(p.relative_to(scaffolded)) for p in scaffolded.rglob("*") if p.is_file())
    assert [p for p in written if not p.startswith((".git/", "out/"))] == [
        ".gitattributes",
        ".github/workflows/rlmgen.yaml",
        ".gitignore",
        ".pre-commit-config.yaml",
        REQUIREMENTS_FILE,
        "specs/orders-api.yaml",
        "specs/spec-v1.schema.json",
    ]
    spec = (scaffolded / "specs" / "orders-api.yaml").read_text()
    assert spec.startswith("# yaml-language-server: $schema=spec-v1.schema.json\n")
    assert (scaffolded / "specs" / "spec-v1.schema.json").read_text() == schema_text()
    assert (scaffolded / "out" / "orders-api" / "prometheus" / "rules.yaml").is_file()


def test_the_generated_ci_steps_pass(scaffolded: Path) -> None:
    require_tool("promtool")
    require_tool("amtool")
    steps = _steps(scaffolded)
    for name in ("Validate", "SARIF", "Check", "Test"):
        outcome = _run_step(scaffolded, steps[name])
        assert outcome.returncode == 0, f"{name}: {outcome.stdout}{outcome.stderr}"
    assert '"results": []' in (scaffolded / "rlmgen.sarif").read_text()

    # a pull request that changes a level: the review step reports it against main
    _git(scaffolded, "update-ref", "refs/remotes/origin/main", "HEAD")
    spec = scaffolded / "specs" / "orders-api.yaml"
    spec.write_text(spec.read_text().replace('warning: "> 300ms"', 'warning: "> 400ms"'))
    build = _run([str(BIN / "rlmgen"), "build"], scaffolded)
    assert build.returncode == 0, build.stderr
    outcome = _run_step(scaffolded, steps["Review report"])
    assert outcome.returncode == 0, outcome.stderr
    report = (scaffolded / "rlmgen-diff.md").read_text()
    assert report.startswith("<!-- rlmgen-diff -->")
    assert "400" in report and "300" in report


def test_the_ci_steps_fail_on_a_broken_spec(scaffolded: Path) -> None:
    """The same steps are gates: an unknown PromQL function fails Validate, and out/
    left behind a spec change fails Check."""
    steps = _steps(scaffolded)
    spec = scaffolded / "specs" / "orders-api.yaml"
    original = spec.read_text()
    spec.write_text(original.replace("histogram_quantile(", "histogram_quantil("))
    outcome = _run_step(scaffolded, steps["Validate"])
    assert outcome.returncode == 1
    assert "::error file=specs/orders-api.yaml,line=" in outcome.stdout
    assert "[promql/unknown-function]" in outcome.stdout
    spec.write_text(original.replace('critical: "> 1s"', 'critical: "> 2s"'))
    assert _run_step(scaffolded, steps["Check"]).returncode == 1


def test_the_generated_pre_commit_hooks_pass_and_catch(scaffolded: Path) -> None:
    pre_commit = shutil.which("pre-commit", path=str(BIN)) or shutil.which("pre-commit")
    if pre_commit is None:
        pytest.skip("pre-commit is not installed (pip install '.[test]')")
    home = {"PRE_COMMIT_HOME": str(scaffolded.parent / "pre-commit-cache")}
    outcome = _run([pre_commit, "run", "--all-files"], scaffolded, **home)
    assert outcome.returncode == 0, outcome.stdout + outcome.stderr
    assert outcome.stdout.count("Passed") == 2
    # a shared fragment is no spec of its own: validated in the spec that includes it
    shared = scaffolded / "specs" / "shared"
    shared.mkdir()
    (shared / "team.yaml").write_text("service:\n  team: orders-sre\n")
    spec = scaffolded / "specs" / "orders-api.yaml"
    original = spec.read_text()
    spec.write_text(
        original.replace(
            "apiVersion: rlmgen/v1\n", "apiVersion: rlmgen/v1\ninclude: [shared/team.yaml]\n", 1
        )
    )
    outcome = _run([pre_commit, "run", "--files", str(shared / "team.yaml")], scaffolded, **home)
    assert (
        "rlmgen validate" in outcome.stdout
        and "Failed" not in outcome.stdout.split("rlmgen check")[0]
    )
    spec.write_text(original.replace('critical: "> 1s"', 'critical: "> 2s"'))
    outcome = _run([pre_commit, "run", "--all-files"], scaffolded, **home)
    assert outcome.returncode == 1
    assert "rlmgen check" in outcome.stdout and "Failed" in outcome.stdout


def test_this_repositorys_hooks_work_from_another_repository(scaffolded: Path) -> None:
    """`pre-commit try-repo` installs rlmgen from this repository into its own
    environment, as a consuming repository's `repo: <rlmgen url>` would."""
    pre_commit = shutil.which("pre-commit", path=str(BIN)) or shutil.which("pre-commit")
    if pre_commit is None:
        pytest.skip("pre-commit is not installed (pip install '.[test]')")
    if not (REPO / ".git").exists():
        pytest.skip("this checkout is not a git repository")
    home = {"PRE_COMMIT_HOME": str(scaffolded.parent / "pre-commit-cache")}
    for hook in ("rlmgen-validate", "rlmgen-check"):
        outcome = _run([pre_commit, "try-repo", str(REPO), hook, "--all-files"], scaffolded, **home)
        assert outcome.returncode == 0, outcome.stdout[-2000:] + outcome.stderr[-2000:]
        assert "Passed" in outcome.stdout


def test_the_requirement_reinstalls_this_rlmgen(scaffolded: Path) -> None:
    written = (scaffolded / REQUIREMENTS_FILE).read_text().splitlines()[-1]
    assert written == installed_requirement()
    outcome = _run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--dry-run",
            "--no-deps",
            "-q",
            "-r",
            REQUIREMENTS_FILE,
        ],
        scaffolded,
    )
    assert outcome.returncode == 0, outcome.stderr


def test_init_refuses_to_overwrite(tmp_path: Path) -> None:
    runner = CliRunner()
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "shop.yaml").write_text("mine\n")
    (tmp_path / ".gitignore").write_text("node_modules/\n")
    result = runner.invoke(cli, ["init", str(tmp_path), "--service", "shop"])
    assert result.exit_code == 1
    assert result.stderr == (
        f"rlmgen: specs/shop.yaml already exists in {tmp_path.as_posix()}: nothing written "
        "(move them away, or init elsewhere)\n"
    )
    assert (tmp_path / "specs" / "shop.yaml").read_text() == "mine\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".gitignore", "specs"]
    assert (tmp_path / ".gitignore").read_text() == "node_modules/\n"


def test_init_adds_to_an_existing_gitignore(tmp_path: Path) -> None:
    (tmp_path / ".gitignore").write_text("node_modules/\n.venv/")
    result = CliRunner().invoke(
        cli, ["init", str(tmp_path), "--service", "shop", "--ci", "gitlab", "--no-build"]
    )
    assert result.exit_code == 0, result.output
    lines = (tmp_path / ".gitignore").read_text().splitlines()
    assert lines[:2] == ["node_modules/", ".venv/"]
    assert lines.count(".venv/") == 1 and "rlmgen.sarif" in lines
    assert (tmp_path / ".gitlab-ci.yml").is_file()
    assert not (tmp_path / "out").exists()


_THEIR_HOOKS = """\
# the team's own hooks
default_stages: [pre-commit]
repos:
- repo: https://github.com/pre-commit/pre-commit-hooks
  rev: v4.6.0
  hooks:
  - id: trailing-whitespace   # keep diffs clean
  # - id: check-yaml  (off: templates)

ci:
  autofix_prs: false
"""


@pytest.mark.parametrize("indent", ["", "  "])
def test_init_adds_its_hooks_to_an_existing_pre_commit_config(tmp_path: Path, indent: str) -> None:
    """A repository's own .pre-commit-config.yaml keeps its comments, layout and keys, and
    gains rlmgen's hooks at the end of its repos (pre-commit itself validates the result);
    a second init's hooks are not added twice."""
    theirs = re.sub(r"(?m)^(- |  )", lambda m: indent + m.group(1), _THEIR_HOOKS)
    (tmp_path / ".pre-commit-config.yaml").write_text(theirs)
    result = CliRunner().invoke(
        cli, ["init", str(tmp_path), "--service", "shop", "--ci", "none", "--no-build"]
    )
    assert result.exit_code == 0, result.output
    merged = (tmp_path / ".pre-commit-config.yaml").read_text()
    ours = files("shop", "rlmgen", "none")[".pre-commit-config.yaml"]
    before, after = yaml.safe_load(theirs), yaml.safe_load(merged)
    assert after == {**before, "repos": before["repos"] + yaml.safe_load(ours)["repos"]}
    assert merged.startswith(theirs.split("\n\nci:")[0])  # their text, comments kept
    assert merged.endswith(theirs[theirs.index("\n\nci:") :])
    pre_commit = shutil.which("pre-commit", path=str(BIN)) or shutil.which("pre-commit")
    if pre_commit is not None:
        checked = _run([pre_commit, "validate-config", ".pre-commit-config.yaml"], tmp_path)
        assert checked.returncode == 0, checked.stdout + checked.stderr
    from rlmgen.scaffold import with_hooks

    assert with_hooks(merged, ours) == merged


def test_init_refuses_a_pre_commit_config_it_cannot_add_to(tmp_path: Path) -> None:
    (tmp_path / ".pre-commit-config.yaml").write_text("repos: [{repo: meta, hooks: []}]\n")
    result = CliRunner().invoke(
        cli, ["init", str(tmp_path), "--service", "shop", "--ci", "none", "--no-build"]
    )
    assert result.exit_code == 1
    assert result.stderr == (
        f"rlmgen: .pre-commit-config.yaml in {tmp_path.as_posix()} has no block list of "
        "`repos:` that rlmgen can add its hooks to: nothing written (add the hooks docs/ci.md "
        "shows under 'pre-commit' yourself, move the file away, or init elsewhere)\n"
    )
    assert [p.name for p in tmp_path.iterdir()] == [".pre-commit-config.yaml"]


def test_init_names_the_service_after_the_directory_and_checks_names(tmp_path: Path) -> None:
    runner = CliRunner()
    target = tmp_path / "Payments_API"
    result = runner.invoke(cli, ["init", str(target), "--no-build", "--ci", "none"])
    assert result.exit_code == 0, result.output
    assert (target / "specs" / "payments-api.yaml").is_file()
    result = runner.invoke(cli, ["init", str(tmp_path / "x"), "--service", "Bad_Name"])
    assert result.exit_code == 1
    assert "service name 'Bad_Name': use lowercase letters" in result.stderr


def test_init_needs_a_requirement_when_installed_from_an_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("rlmgen.scaffold.installed_requirement", lambda: None)
    result = CliRunner().invoke(cli, ["init", str(tmp_path)])
    assert result.exit_code == 2
    assert "give --requirement" in result.stderr
    result = CliRunner().invoke(
        cli,
        ["init", str(tmp_path), "--no-build", "--requirement", "rlmgen @ git+https://x/r@v1"],
    )
    assert result.exit_code == 0
    assert (tmp_path / REQUIREMENTS_FILE).read_text().endswith("rlmgen @ git+https://x/r@v1\n")


def test_schema_output_refreshes_the_copy(tmp_path: Path) -> None:
    target = tmp_path / "spec-v1.schema.json"
    target.write_text("{}")
    result = CliRunner().invoke(cli, ["schema", "--output", str(target)])
    assert result.exit_code == 0
    assert target.read_text() == schema_text()
    result = CliRunner().invoke(cli, ["schema", "--output", str(tmp_path / "no" / "x.json")])
    assert result.exit_code == 1
    assert result.stderr.startswith("rlmgen: cannot write ")


def test_every_scaffold_file_is_what_files_plans(scaffolded: Path) -> None:
    planned = files("orders-api", installed_requirement() or "", "github")
    for path, text in planned.items():
        assert (scaffolded / path).read_text() == text, path


def test_docs_show_the_pre_commit_config_init_writes() -> None:
    written = files("shop", "rlmgen @ file:///x", "none")[".pre-commit-config.yaml"]
    assert f"```yaml\n{written}```" in (REPO / "docs" / "ci.md").read_text()


def test_init_warns_when_out_or_the_schema_would_be_ignored(tmp_path: Path) -> None:
    (tmp_path / ".gitignore").write_text("# build output\n/out\n*.json\n!keep.json\nnode_modules\n")
    result = CliRunner().invoke(
        cli,
        ["init", str(tmp_path), "--no-build", "--requirement", "rlmgen @ git+https://x/r@v1"],
    )
    assert result.exit_code == 0
    shown = (tmp_path / ".gitignore").as_posix()
    assert [line for line in result.stderr.splitlines() if "warning" in line] == [
        f"rlmgen: warning: {shown}:2: '/out' ignores out/, which must be committed "
        "(rlmgen check compares it): remove that line",
        f"rlmgen: warning: {shown}:3: '*.json' ignores specs/spec-v1.schema.json, which must "
        "be committed (editors read it): remove that line",
    ]


def test_init_warns_when_ci_could_not_install_the_requirement(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["init", str(tmp_path), "--no-build", "--requirement", "rlmgen @ file:///src/rlmgen"]
    )
    assert result.exit_code == 0
    assert (
        "rlmgen: warning: requirements-rlmgen.txt installs rlmgen from 'file:///src/rlmgen' on "
        "this machine, which CI cannot reach" in result.stderr
    )
