"""Alertmanager routing: accepted by amtool, every alert of the spec routed (by amtool
itself) to the receiver the spec intends, secrets only by file."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from rlmgen.lang.units import parse_duration
from rlmgen.model.routing import ENTITY_LABELS
from tests.conftest import SEED_TEXT, require_tool

CONFIG = "alertmanager/alertmanager.yaml"
OPERATOR = "kubernetes/alertmanager-config.yaml"


@pytest.fixture
def config_file(compiled_seed, tmp_path: Path) -> Path:
    path = tmp_path / "alertmanager.yaml"
    path.write_bytes(compiled_seed[CONFIG])
    return path


def _alerts(compiled_seed) -> list[dict]:
    groups = yaml.safe_load(compiled_seed["prometheus/rules.yaml"])["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


def test_amtool_accepts_the_config(config_file: Path) -> None:
    amtool = require_tool("amtool")
    result = subprocess.run(
        [amtool, "check-config", str(config_file)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def _route(amtool: str, config_file: Path, labels: dict[str, str], expected: str):
    arguments = [f"{name}={value}" for name, value in sorted(labels.items())]
    return subprocess.run(
        [
            amtool,
            "config",
            "routes",
            "test",
            f"--config.file={config_file}",
            f"--verify.receivers={expected}",
            *arguments,
        ],
        capture_output=True,
        text=True,
    )


def test_every_alert_reaches_the_receiver_the_spec_intends(compiled_seed, config_file) -> None:
    amtool = require_tool("amtool")
    alerts = _alerts(compiled_seed)
    spec = yaml.safe_load(SEED_TEXT)  # every alert the spec defines, by its YAML
    levels = sum(k in m.get("levels", {}) for m in spec["metrics"] for k in intended_severities())
    hand_written = sum(len(g["alerts"]) for g in spec["alertGroups"])
    assert len(alerts) == levels + hand_written == 27
    intended = {
        "critical": "pagerduty-oncall",
        "warning": "slack-warnings",
        "info": "email-business",
    }
    for alert in alerts:
        labels = {"alertname": alert["alert"], **alert["labels"]}
        expected = labels["route"]
        assert expected == intended[labels["severity"]]  # as the spec's receivers say
        result = _route(amtool, config_file, labels, expected)
        assert result.returncode == 0, (alert["alert"], result.stdout, result.stderr)
        assert result.stdout.split() == [expected]


def intended_severities() -> tuple[str, ...]:
    return ("info", "warning", "critical")


def test_alerts_from_other_rule_files_route_by_severity(config_file: Path) -> None:
    amtool = require_tool("amtool")
    for severity, expected in (
        ("critical", "pagerduty-oncall"),
        ("info", "email-business"),
        ("none", "slack-warnings"),
    ):
        result = _route(amtool, config_file, {"alertname": "Other", "severity": severity}, expected)
        assert result.returncode == 0, result.stdout + result.stderr


def test_the_route_tests_can_fail(config_file: Path) -> None:
    amtool = require_tool("amtool")
    result = _route(
        amtool,
        config_file,
        {"alertname": "RLMHighErrorRate", "severity": "critical", "route": "pagerduty-oncall"},
        "email-business",
    )
    assert result.returncode != 0


def test_secrets_are_read_from_files(compiled_seed) -> None:
    receivers = yaml.safe_load(compiled_seed[CONFIG])["receivers"]
    found = {}
    for receiver in receivers:
        for kind, configs in receiver.items():
            if kind != "name":
                found[receiver["name"]] = configs[0]
    assert (
        found["pagerduty-oncall"]["routing_key_file"]
        == "/etc/alertmanager/secrets/pagerduty-routing-key"
    )
    assert found["slack-warnings"]["api_url_file"] == "/etc/alertmanager/secrets/slack-webhook-url"
    assert found["slack-warnings"]["channel"] == "#rlm-oncall"
    assert (
        found["email-business"]["auth_password_file"] == "/etc/alertmanager/secrets/smtp-password"
    )
    text = compiled_seed[CONFIG].decode()
    for inline in ("routing_key:", "api_url:", "auth_password:", "service_key:"):
        assert inline not in text


def test_paging_is_faster_than_email(compiled_seed) -> None:
    routes = {r["receiver"]: r for r in yaml.safe_load(compiled_seed[CONFIG])["route"]["routes"]}
    page, mail = routes["pagerduty-oncall"], routes["email-business"]
    for key in ("group_wait", "group_interval", "repeat_interval"):
        assert parse_duration(page[key]) < parse_duration(mail[key])


def test_a_critical_alert_silences_the_warning_of_the_same_alert(compiled_seed) -> None:
    rules = yaml.safe_load(compiled_seed[CONFIG])["inhibit_rules"]
    assert {
        "source_matchers": ['severity="critical"'],
        "target_matchers": ['severity="warning"'],
        # the scrape's labels, an SLO's identity (its page holds back its ticket only) and,
        # since the seed's metrics do not declare their labels, those that usually name an
        # entity (a pod's critical holds back that pod's warning only)
        "equal": [
            "alertname",
            "service",
            *sorted({"instance", "job", "sloth_id", "sloth_service", "sloth_slo"} | ENTITY_LABELS),
        ],
    } in rules


def test_the_operator_variant(compiled_seed) -> None:
    document = yaml.safe_load(compiled_seed[OPERATOR])
    assert (document["apiVersion"], document["kind"]) == (
        "monitoring.coreos.com/v1alpha1",
        "AlertmanagerConfig",
    )
    assert document["metadata"]["namespace"] == "rlm-production"
    spec = document["spec"]
    assert [r["name"] for r in spec["receivers"]] == [
        "pagerduty-oncall",
        "slack-warnings",
        "email-business",
    ]
    assert spec["receivers"][0]["pagerdutyConfigs"][0]["routingKey"] == {
        "name": "rlm-hypervisor-alertmanager",
        "key": "pagerduty-routing-key",
    }
    assert spec["route"]["routes"][0]["matchers"] == [
        {"name": "route", "value": "pagerduty-oncall", "matchType": "="}
    ]


def test_each_secret_file_is_read_from_a_secret_key_of_its_own(tmp_path: Path) -> None:
    """Receivers whose secret files share a name (the Operator's own mount layout, one
    Secret per directory) read each its own Secret key in the AlertmanagerConfig, and the
    Secret keys the Operator mounts at those paths are the keys referenced: file and key
    name the same secret for every receiver."""
    from rlmgen.pipeline import compile_specs
    from tests.conftest import MINIMAL_SPEC

    text = MINIMAL_SPEC.read_text().replace(
        "      pagerduty: {routingKeyFile: /etc/secrets/pagerduty-key}\n",
        "      pagerduty: {routingKeyFile: /etc/secrets/pagerduty-key}\n"
        "    - name: slack-a\n      severities: [warning]\n"
        '      slack: {channel: "#a", apiUrlFile: /etc/alertmanager/secrets/a/api-url}\n'
        "    - name: slack-b\n      severities: [info]\n"
        '      slack: {channel: "#b", apiUrlFile: /etc/alertmanager/secrets/b/api-url}\n'
        "    - name: mail\n      severities: [info]\n      match: {team: x}\n"
        "      email: {to: a@example.com, from: am@example.com, smarthost: 'smtp:587',\n"
        "              authUsername: am, authPasswordFile: /etc/alertmanager/secrets/smtp}\n",
    )
    spec = tmp_path / "spec.yaml"
    spec.write_text(text.replace("severities: [critical, warning]", "severities: [critical]"))
    [result] = compile_specs([spec], tmp_path / "out")
    assert not result.errors, [d.format() for d in result.diagnostics]
    plain = yaml.safe_load(result.files[CONFIG])["receivers"]
    files = {
        r["name"]: value
        for r in plain
        for kind, configs in r.items()
        if kind != "name"
        for key, value in configs[0].items()
        if key.endswith("_file")
    }
    operator = yaml.safe_load(result.files[OPERATOR])["spec"]["receivers"]
    references = {
        r["name"]: (value["name"], value["key"])
        for r in operator
        for kind, configs in r.items()
        if kind != "name"
        for value in configs[0].values()
        if isinstance(value, dict) and set(value) == {"name", "key"}
    }
    assert references == {
        "pagerduty-oncall": ("shop-alertmanager", "pagerduty-key"),
        "slack-a": ("a", "api-url"),
        "slack-b": ("b", "api-url"),
        "mail": ("shop-alertmanager", "smtp"),
    }
    # where the Operator mounts the Secrets it is given, the referenced key is the file
    for name, (secret, key) in references.items():
        if secret != "shop-alertmanager":
            assert files[name] == f"/etc/alertmanager/secrets/{secret}/{key}"
    read_from = {}
    for name, reference in references.items():  # one file per Secret key
        assert read_from.setdefault(reference, files[name]) == files[name]


def _slack(name: str, severity: str, url_file: str) -> str:
    return (
        f"    - name: {name}\n      severities: [{severity}]\n"
        f'      slack: {{channel: "#{name}", apiUrlFile: {url_file}}}\n'
    )


@pytest.mark.parametrize(
    ("first", "second", "clash"),
    [
        # the Operator layout naming the service's own Secret, and a file of the same name
        ("/etc/alertmanager/secrets/shop-alertmanager/url", "/opt/url", True),
        ("/etc/secrets/a/url", "/etc/secrets/b/url", True),
        # one file, written two ways: no clash, and the layout is read through `..`
        ("/etc/alertmanager/secrets//hooks/url", "/etc/alertmanager/secrets/hooks/url", False),
        ("/etc/alertmanager/secrets/x/../hooks/url", "/etc/alertmanager/secrets/hooks/url", False),
    ],
)
def test_two_files_are_never_read_from_one_secret_key(
    tmp_path: Path, first: str, second: str, clash: bool
) -> None:
    from rlmgen.pipeline import compile_specs
    from tests.conftest import MINIMAL_SPEC

    pagerduty = "      pagerduty: {routingKeyFile: /etc/secrets/pagerduty-key}\n"
    receivers = pagerduty + _slack("a", "warning", first) + _slack("b", "info", second)
    text = (
        MINIMAL_SPEC.read_text()
        .replace(pagerduty, receivers)
        .replace("severities: [critical, warning]", "severities: [critical]")
    )
    spec = tmp_path / "spec.yaml"
    spec.write_text(text)
    [result] = compile_specs([spec], tmp_path / "out")
    clashes = [d for d in result.diagnostics if d.check == "routing/secret-key-clash"]
    assert [d.pointer for d in clashes] == (
        ["/routing/receivers/2/slack/apiUrlFile"] if clash else []
    )
    if not clash:
        operator = yaml.safe_load(result.files[OPERATOR])["spec"]["receivers"]
        urls = [r["slackConfigs"][0]["apiURL"] for r in operator if "slackConfigs" in r]
        assert urls == [{"name": "hooks", "key": "url"}] * 2


@pytest.mark.parametrize(
    "zone",
    [
        *("Europe/Berlin", "America/New_York", "Etc/GMT+4", "US/Eastern", "UTC", "Local"),
        *("EST5EDT", "W-SU", "GMT+0"),
        *("Europe/Berln", "Mars/Olympus", "utc", "Berlin", "CST", "PDT"),
    ],
)
def test_the_zones_rlmgen_accepts_are_those_alertmanager_loads(tmp_path: Path, zone: str) -> None:
    """routing/unknown-location agrees with amtool: a zone rlmgen knows loads, one it
    refuses makes Alertmanager refuse the configuration."""
    from rlmgen.lang.timezones import known_zones

    amtool = require_tool("amtool")
    config = tmp_path / "alertmanager.yaml"
    config.write_text(
        "route: {receiver: x}\nreceivers: [{name: x}]\ntime_intervals:\n"
        f"- name: hours\n  time_intervals: [{{times: [{{start_time: '09:00', "
        f"end_time: '17:00'}}], location: {zone}}}]\n"
    )
    checked = subprocess.run(
        [amtool, "check-config", str(config)], capture_output=True, text=True, check=False
    )
    assert (checked.returncode == 0) == (zone in known_zones()), checked.stdout
    if checked.returncode != 0:
        assert f"unknown time zone {zone}" in checked.stdout
