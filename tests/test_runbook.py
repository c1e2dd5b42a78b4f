"""The generated runbook: every seed fact in it, links that resolve, scripts that pass
shellcheck, and markdown that spec text cannot break."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from rlmgen.pipeline import compile_specs
from tests import markdown_text
from tests.conftest import MINIMAL_SPEC, SEED_SPEC, SEED_TEXT, model_of, require_tool

RUNBOOK = "runbook/README.md"


def _runbook(files: dict[str, bytes]) -> str:
    return files[RUNBOOK].decode()


def _build(tmp_path: Path, text: str, name: str = "spec") -> dict[str, bytes]:
    spec = tmp_path / name / "spec.yaml"
    spec.parent.mkdir(parents=True)
    spec.write_text(text)
    [result] = compile_specs([spec], tmp_path / name / "out")
    assert not result.errors, result.diagnostics
    return result.files


def test_headings_are_unique(compiled_seed) -> None:
    headings = markdown_text.headings(_runbook(compiled_seed))
    assert len(headings) == len(set(headings))
    assert headings[0] == "RLM Hypervisor Monitoring Runbook"


# A spec whose headings collide with each other and with the runbook's own sections: a
# receiver titled like a section, a playbook titled "Table of Contents", a metric group
# whose table is titled like a section, checklists and checks titled alike.
COLLIDING = (
    MINIMAL_SPEC.read_text()
    .replace("    group: Service Health\n", "    group: Key\n")
    .replace(
        "        summary: High error rate\n",
        "        summary: High error rate\n        playbook: toc\n",
    )
    .replace(
        "    - name: pagerduty-oncall\n",
        "    - name: pagerduty-oncall\n      title: Alerting Rules\n",
    )
    + """runbook:
  playbooks:
    - id: toc
      title: Table of Contents
      steps: [{step: Read the table}]
    - id: dashboards
      title: Dashboards
      steps: [{step: Open them}]
  checklists:
    - {title: Incident Response, items: [one]}
  scheduledChecks:
    - {id: daily, title: Contact Information, section: on-call, schedule: Daily, run: "true"}
"""
)


# Headings that a renderer would read differently from their text: an entity that renders
# as the alert's own name, line breaks, and a command described over two lines.
ENTITIES_AND_BREAKS = (
    MINIMAL_SPEC.read_text()
    .replace(
        "    - name: pagerduty-oncall\n",
        '    - name: pagerduty-oncall\n      title: "ShopHighErrorRate&#33;"\n',
    )
    .replace("  title: Shop\n", '  title: "Shop\\nfront"\n')
    .replace("    title: Shop Operations\n", '    title: "Shop\\n\\n  Operations"\n')
    + """runbook:
  commands:
    - {description: "Restart\\nrm -rf /", run: kubectl rollout restart deploy/shop}
"""
)


def _alert_urls(files: dict[str, bytes]) -> list[tuple[str, str]]:
    """(alert name, anchor) of every runbook_url and every dashboard panel link."""
    found = []
    for group in yaml.safe_load(files["prometheus/rules.yaml"])["groups"]:
        for rule in group["rules"]:
            if "alert" in rule:
                found.append((rule["alert"], rule["annotations"]["runbook_url"].rsplit("#")[1]))
    panels = [
        p
        for path, data in files.items()
        if path.endswith(".json")
        for p in json.loads(data)["panels"]
    ]
    panels += [p for row in panels for p in row.get("panels", [])]  # inside collapsed rows
    for panel in panels:
        for link in panel.get("links", []):
            name = link["title"].removeprefix("Runbook: ")
            found.append((name, link["url"].rsplit("#", 1)[1]))
    return found


@pytest.mark.parametrize(
    "text",
    [SEED_TEXT, COLLIDING, ENTITIES_AND_BREAKS],
    ids=["seed", "colliding", "entities-and-breaks"],
)
def test_every_runbook_url_opens_its_alerts_own_section(text: str, tmp_path: Path) -> None:
    files = _build(tmp_path, text)
    rendered = markdown_text.outline(_runbook(files))
    sections = {title: anchor for level, title, anchor in rendered if level == 4}
    urls = _alert_urls(files)
    rules = yaml.safe_load(files["prometheus/rules.yaml"])["groups"]
    assert len(urls) > sum(1 for g in rules for r in g["rules"] if "alert" in r)  # + panels
    for alert, anchor in urls:
        assert anchor == sections[alert], alert


@pytest.mark.parametrize(
    "text",
    [SEED_TEXT, COLLIDING, ENTITIES_AND_BREAKS],
    ids=["seed", "colliding", "entities-and-breaks"],
)
def test_the_runbook_renders_the_models_outline(text: str, tmp_path: Path) -> None:
    """The headings and anchors the compile walk checks are the ones a renderer sees."""
    model = model_of(text)
    rendered = markdown_text.outline(_runbook(_build(tmp_path, text)))
    assert [(h.level, h.text, h.anchor) for h in model.outline.headings] == rendered


def _assert_links_land_on_their_headings(document: str) -> int:
    """Every link inside the runbook opens the heading it names (its text is the heading's
    text): resolving to some heading is not enough. Returns how many there are."""
    headings = {anchor: title for _, title, anchor in markdown_text.outline(document)}
    internal = [(t, h) for t, h in markdown_text.labelled_links(document) if h.startswith("#")]
    for text, href in internal:
        assert headings.get(href[1:]) == text, (text, href)
    return len(internal)


def test_links_to_colliding_headings_land_on_their_target(tmp_path: Path) -> None:
    document = _runbook(_build(tmp_path, COLLIDING))
    assert ("Table of Contents", "#table-of-contents-1") in markdown_text.labelled_links(document)
    assert _assert_links_land_on_their_headings(document) > 10


def test_internal_links_resolve(compiled_seed) -> None:
    document = _runbook(compiled_seed)
    assert _assert_links_land_on_their_headings(document) > 30
    files = set(compiled_seed)
    for link in markdown_text.links(document):
        if link.startswith("../"):
            assert link[3:] in files, link


def test_scripts_are_emitted_linked_and_pass_shellcheck(compiled_seed, tmp_path: Path) -> None:
    shellcheck = require_tool("shellcheck")
    scripts = sorted(p for p in compiled_seed if p.startswith("scripts/"))
    assert scripts == ["scripts/weekly-capacity-review.sh"]
    assert "../scripts/weekly-capacity-review.sh" in markdown_text.links(_runbook(compiled_seed))
    for relative in scripts:
        path = tmp_path / Path(relative).name
        path.write_bytes(compiled_seed[relative])
        result = subprocess.run(
            [shellcheck, "--severity=warning", str(path)], capture_output=True, text=True
        )
        assert result.returncode == 0, result.stdout


def test_scripts_are_executable_in_out() -> None:
    script = (
        SEED_SPEC.parent.parent
        / "out"
        / "production"
        / "rlm-hypervisor"
        / "scripts"
        / "weekly-capacity-review.sh"
    )
    assert os.access(script, os.X_OK)


def test_spec_text_cannot_break_the_markdown(tmp_path: Path) -> None:
    hostile = (
        MINIMAL_SPEC.read_text().replace(
            "    description: P99 latency\n",
            '    description: "P99 | p95 `latency` # not a heading"\n',
        )
        + """runbook:
  severityLevels:
    - {name: "SEV|1", criteria: "a | b", responseTime: "1. now", escalation: "- nobody"}
  playbooks:
    - id: fences
      title: "Fences ``` and {{ 7*7 }}"
      steps:
        - step: "# Step with a hash"
          run: |
            echo '```'
            echo "{{ $value }}"
  checklists:
    - title: Handoff
      items: ["{{ 7*7 }}", "1. numbered", "| pipes |"]
  contacts:
    - {label: "A|B", value: "*bold*"}
"""
    )
    document = _runbook(_build(tmp_path, hostile))
    for rows in markdown_text.tables(document):
        assert len(set(rows)) == 1, rows  # every row keeps the header's column count
    text = markdown_text.plain_text(document)
    assert "echo '```'\necho \"{{ $value }}\"\n" in text  # the fence stayed closed around it
    assert "{{ 7*7 }}" in text and "49" not in text  # spec text is never template code
    headings = markdown_text.headings(document)
    assert "Fences ``` and {{ 7*7 }}" in headings
    assert "Step with a hash" not in headings and "# Step with a hash" in text
    assert "P99 | p95 `latency` # not a heading" in text


@pytest.mark.parametrize(
    ("description", "paragraph"),
    [
        ("Is the queue draining?", "Is the queue draining?"),
        ("Page the owner now!", "Page the owner now!"),
        ("Golden signals", "Golden signals."),
        ("Golden signals.", "Golden signals."),
        ('It says "stop."', 'It says "stop."'),
    ],
)
def test_a_description_ends_one_sentence(tmp_path: Path, description: str, paragraph: str) -> None:
    """A full stop ends a description that has no mark of its own; a question stays one."""
    text = MINIMAL_SPEC.read_text().replace(
        "    title: Shop Operations\n",
        f"    title: Shop Operations\n    description: {json.dumps(description)}\n",
    )
    document = _runbook(_build(tmp_path, text))
    assert f"\n{paragraph}\n" in markdown_text.plain_text(document)


# --- the seed runbook's facts --------------------------------------------------------


def _section(seed: str, heading: str) -> str:
    start = seed.index(heading)
    following = re.search(r"^#{2,3} ", seed[start + len(heading) :], re.M)
    return seed[start : start + len(heading) + (following.start() if following else len(seed))]


def _seed_facts(seed: str) -> dict[str, list[str]]:
    blocks = re.findall(r"```(\w*)\n(.*?)```", seed, re.S)
    documents = [yaml.safe_load(body) for lang, body in blocks if lang == "yaml"]
    rows = re.findall(r"^\| `(rlm_[a-z0-9_]+)` \|(.*)\|$", seed, re.M)
    playbook = _section(seed, "### Incident Response Playbook")
    commands = [
        line.strip()
        for body in re.findall(r"```bash\n(.*?)```", playbook, re.S)
        for line in body.splitlines()
        if line.strip() and not line.startswith("#")
    ]
    severity = _section(seed, "### Severity Levels")
    contacts = _section(seed, "## Contact Information")
    return {
        "metric names": [name for name, _ in rows],
        "metric cells": [c.strip() for _, rest in rows for c in rest.split("|") if c.strip()],
        "alert names": [
            r["alert"]
            for d in documents
            if isinstance(d, dict) and "groups" in d
            for g in d["groups"]
            for r in g["rules"]
        ],
        "panel titles": [
            p["title"]
            for d in documents
            if isinstance(d, dict) and "dashboard" in d
            for p in d["dashboard"]["panels"]
        ],
        "dashboard names": [
            d["dashboard"]["name"] for d in documents if isinstance(d, dict) and "dashboard" in d
        ],
        "severity levels": [
            c.strip()
            for line in re.findall(r"^\| (SEV-.*)\|$", severity, re.M)
            for c in line.split("|")
        ],
        "commands": commands,
        "checklist items": re.findall(r"^- \[ \] (.*)$", seed, re.M),
        "contacts": [
            part
            for label, value in re.findall(r"^- \*\*(.*?):\*\* (.*)$", contacts, re.M)
            for part in (label, value)
        ],
        "expected output": re.findall(r"^(✓ .*)$", seed, re.M),
    }


def test_the_runbook_carries_every_fact_of_the_seed(compiled_seed, seed_runbook: str) -> None:
    text = markdown_text.plain_text(_runbook(compiled_seed))
    facts = _seed_facts(seed_runbook)
    assert {k: len(v) for k, v in facts.items()} == {
        "metric names": 11,
        "metric cells": 41,
        "alert names": 8,
        "panel titles": 11,
        "dashboard names": 3,
        "severity levels": 16,
        "commands": 15,
        "checklist items": 6,
        "contacts": 8,
        "expected output": 5,
    }
    missing = {kind: [f for f in items if f not in text] for kind, items in facts.items()}
    assert missing == {kind: [] for kind in facts}


def _seed_table_rows(seed: str, first_cell: str) -> list[list[str]]:
    return [r for r in markdown_text.table_rows(seed) if re.match(first_cell, r[0])]


def test_the_capacity_table(compiled_seed, seed_runbook: str) -> None:
    """Row for row, cell for cell, the seed's capacity thresholds table; a scale-up cell
    may name more metrics than the seed's (the HPA of API Pods also scales on agents)."""
    seed = _seed_table_rows(seed_runbook, r"(Resource|API Pods|OOLONG|Quota Manager)")
    assert len(seed) == 4
    ours = {row[0]: row for row in markdown_text.table_rows(_runbook(compiled_seed))}
    for resource, up, down, maximum in seed:
        row = ours[resource]
        assert up in row[1].split(", ") and [row[0], *row[2:]] == [resource, down, maximum], row


def test_the_key_metrics_tables(compiled_seed, seed_runbook: str) -> None:
    """Every row of the seed's metric tables is a row of the runbook's, cell for cell."""
    seed = _seed_table_rows(seed_runbook, r"rlm_")
    assert len(seed) == 11
    ours = markdown_text.table_rows(_runbook(compiled_seed))
    for row in seed:
        assert row in ours, row


def test_one_max_replica_count_changes_the_hpa_and_the_capacity_table(tmp_path: Path) -> None:
    original = SEED_TEXT
    before = _build(tmp_path, original, "a")
    after = _build(
        tmp_path, original.replace("    maxReplicas: 100\n", "    maxReplicas: 120\n"), "b"
    )
    changed = {p for p in before if before[p] != after[p]}
    assert changed == {"kubernetes/hpa-rlm-oolong.yaml", RUNBOOK}
    assert yaml.safe_load(after["kubernetes/hpa-rlm-oolong.yaml"])["spec"]["maxReplicas"] == 120
    assert "| OOLONG Pods | Queue \\> 100 | Queue \\< 10 | 120 |" in _runbook(after)


def test_renaming_an_alert_moves_its_url_and_its_anchor_together(tmp_path: Path) -> None:
    files = _build(tmp_path, SEED_TEXT.replace("RLMHighErrorRate", "RLMErrorsHigh"))
    rules = files["prometheus/rules.yaml"].decode()
    assert "#rlmerrorshigh" in rules and "#rlmhigherrorrate" not in rules
    anchors = markdown_text.anchors(_runbook(files))
    assert "rlmerrorshigh" in anchors and "rlmhigherrorrate" not in anchors


def test_changing_a_threshold_changes_the_runbook_with_the_rule(tmp_path: Path) -> None:
    files = _build(tmp_path, SEED_TEXT.replace('warning: "> 200ms"', 'warning: "> 250ms"', 1))
    text = markdown_text.plain_text(_runbook(files))
    assert "service:rlm_api_latency:p99_rate5m > 0.25" in text
    assert "P99 response time above 250ms" in text
    assert (
        "| `rlm_api_latency_p99` | P99 response time | \\< 100ms | \\> 250ms | \\> 500ms |"
        in _runbook(files)
    )


def test_grafana_url_links_each_dashboard(tmp_path: Path) -> None:
    text = SEED_TEXT.replace(
        "  runbookUrl: https://wiki.internal/rlm-runbooks/rlm-hypervisor\n",
        "  runbookUrl: https://wiki.internal/rlm-runbooks/rlm-hypervisor\n"
        "  grafanaUrl: https://grafana.example.com/\n",
    )
    links = markdown_text.labelled_links(_runbook(_build(tmp_path, text)))
    opened = [href for label, href in links if label == "open in Grafana"]
    assert opened == [
        f"https://grafana.example.com/d/{uid}"
        for uid in ("rlm-hypervisor-slos", "rlm-executive", "rlm-operations", "rlm-capacity")
    ]
    plain = markdown_text.labelled_links(_runbook(_build(tmp_path, SEED_TEXT, "b")))
    assert not [href for label, href in plain if label == "open in Grafana"]


def test_a_line_break_in_a_command_description_stays_a_comment(tmp_path: Path) -> None:
    text = markdown_text.plain_text(_runbook(_build(tmp_path, ENTITIES_AND_BREAKS)))
    assert "# Restart rm -rf /\nkubectl rollout restart deploy/shop" in text
    assert "\nrm -rf /" not in text


def test_the_template_environment_stays_a_sandbox() -> None:
    """The attribute fast paths keep Jinja's sandbox: private and internal attributes are
    refused, a string's format method is wrapped, a dict's method wins over its item of
    the same name, and its other items are read as Jinja reads them."""
    from jinja2.exceptions import SecurityError, UndefinedError

    from rlmgen.lang.levels import parse_level
    from rlmgen.output.templating import environment

    env = environment()
    level = parse_level("> 80%", None)

    def render(source: str, **values: object) -> str:
        return env.from_string(source).render(**values)

    assert render("{{ level.text }} {{ level.value }}", level=level) == "> 80% 0.8"
    for source in ("{{ level.__class__ }}", "{{ f.__globals__ }}", "{{ f.__code__ }}"):
        with pytest.raises(SecurityError):
            render(source, level=level, f=parse_level)
    with pytest.raises(UndefinedError):
        render("{{ level.missing }}", level=level)
    with pytest.raises(SecurityError):  # str.format reaches attributes: the sandbox's own
        render("{{ s.format(level) }}", s="{0.__class__}", level=level)
    assert render("{{ d.name }} {{ d.items is callable }}", d={"name": "x", "items": 1}) == (
        "x True"
    )
    with pytest.raises(UndefinedError):
        render("{{ d.missing }}", d={"name": "x"})


@pytest.mark.parametrize(
    ("policy", "said"),
    [
        ("{type: Pods, value: 1, period: 5m}", "at most 1 pod per 5m"),
        ("{type: Pods, value: 4, period: 1m}", "at most 4 pods per 1m"),
        ("{type: Percent, value: 20, period: 2m}", "at most 20% per 2m"),
    ],
)
def test_a_scaling_policy_reads_as_a_sentence(policy: str, said: str) -> None:
    from rlmgen.pipeline import artifacts

    # the runbook says the scale-down pace where a release threshold needs it
    behavior = f"    behavior:\n      scaleDown:\n        policies: [{policy}]\n"
    text = MINIMAL_SPEC.read_text().replace(
        "        averageUtilization: 70%\n",
        "        averageUtilization: 70%\n        scaleDownBelow: 30%\n" + behavior,
    )
    runbook = artifacts(model_of(text))["runbook/README.md"].decode()
    assert said in runbook


def test_a_capacity_reviews_expected_output_is_in_the_runbook() -> None:
    from rlmgen.pipeline import artifacts

    checks = (
        "runbook:\n  scheduledChecks:\n    - id: weekly-trend\n      title: Weekly trend\n"
        "      section: capacity-planning\n      schedule: Weekly\n"
        "      run: ./scripts/trend.sh\n      expectedOutput: |\n        runs: 7 of 7\n"
    )
    runbook = artifacts(model_of(MINIMAL_SPEC.read_text() + checks))["runbook/README.md"]
    section = runbook.decode().split("## Capacity Planning", 1)[1].split("\n## ", 1)[0]
    assert "### Weekly trend" in section
    assert "Expected output:\n\n```\nruns: 7 of 7\n```" in section
