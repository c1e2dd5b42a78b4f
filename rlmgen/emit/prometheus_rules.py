"""Prometheus rule files: `prometheus/rules.yaml` in the standard format (Prometheus,
Thanos and Mimir rulers load it) and the same groups as a Prometheus Operator
`PrometheusRule` in `kubernetes/prometheusrule.yaml`."""

from __future__ import annotations

import re
from typing import Any

from rlmgen.derive.kubernetes import metadata
from rlmgen.derive.rules import AlertRule, RecordingRule, RuleGroup, Rules
from rlmgen.lang.units import format_duration
from rlmgen.model import types as m
from rlmgen.model.conventions import PROMETHEUS_RULE_PATH, RULES_PATH, slo_rules_path
from rlmgen.output.yamlout import dump, listing_parts


def emit(spec: m.Spec, rules: Rules) -> dict[str, str]:
    if not rules.groups:
        return {}
    files, text = _rule_files(rules)
    # The PrometheusRule's spec is the rules file itself: indent the text once rather
    # than serialising the same groups again (the same bytes, a third of the work).
    header = dump(
        {
            "apiVersion": "monitoring.coreos.com/v1",
            "kind": "PrometheusRule",
            "metadata": _with_labels(
                metadata(spec, f"{spec.service.name}-rules", "monitoring-rules"),
                spec.platform.rule_labels,
            ),
        }
    )
    return {**files, PROMETHEUS_RULE_PATH: _prometheus_rule(header, text)}


def _rule_files(rules: Rules) -> tuple[dict[str, str], str]:
    """The rules file and each SLO's, and the text of every group: each group is written
    once and listed in every file that holds it (a large spec's groups are most of this
    emitter's work; their pieces are freed once the files are made)."""
    heading, parts = listing_parts("groups", [_group(group) for group in rules.groups])
    plain, slos = [], {}
    for part, group in zip(parts, rules.groups, strict=True):
        if group.slo is None:
            plain.append(part)
        else:
            slos[slo_rules_path(group.slo)] = heading + part
    files = {RULES_PATH: heading + "".join(plain)} if plain else {}
    return {**files, **slos}, heading + "".join(parts)


# A line break other than \n (str.splitlines breaks there too), or a line of whitespace
# only (left as it is, not indented): text without either is indented by replacing \n.
# Searched for apart: one pattern with both alternatives took 0.2 s on 10 MB of rules.
_ASCII_BREAKS = "\r\v\f\x1c\x1d\x1e"
_BREAKS = re.compile(r"[\r\v\f\x1c-\x1e\x85\u2028\u2029]")
_BLANK_LINE = re.compile(r"\n[^\S\n]*\n")
_BLANK_FIRST_LINE = re.compile(r"[^\S\n]*\n")


def _plain_lines(text: str) -> bool:
    """Whether each line of `text`, the last one too, ends in a line feed alone, and none
    is blank."""
    if not text.endswith("\n"):
        return False
    if text.isascii():  # `in` is a fast scan; the pattern tests a class at each character
        if any(character in text for character in _ASCII_BREAKS):
            return False
    elif _BREAKS.search(text) is not None:
        return False
    return _BLANK_LINE.search(text) is None and _BLANK_FIRST_LINE.match(text) is None


def _prometheus_rule(header: str, text: str) -> str:
    """`header`, then the rules `text` as the `spec`: each line that is not blank indented
    by two spaces (made without a copy of each line: a large spec's rules are 30 MB)."""
    if _plain_lines(text):
        return f"{header}spec:\n  " + text.replace("\n", "\n  ", text.count("\n") - 1)
    lines = text.splitlines(keepends=True)
    return f"{header}spec:\n" + "".join(f"  {line}" if line.strip() else line for line in lines)


def _with_labels(meta: dict[str, Any], extra: m.Labels) -> dict[str, Any]:
    """The Operator selects PrometheusRules by label (kube-prometheus-stack: `release`)."""
    if extra:
        meta["labels"] = dict(sorted({**meta["labels"], **extra}.items()))
    return meta


def _group(group: RuleGroup) -> dict[str, Any]:
    data: dict[str, Any] = {"name": group.name}
    if group.interval:
        data["interval"] = format_duration(group.interval)
    data["rules"] = [_rule(rule) for rule in group.rules]
    return data


def _rule(rule: RecordingRule | AlertRule) -> dict[str, Any]:
    if isinstance(rule, RecordingRule):
        data: dict[str, Any] = {"record": rule.record, "expr": rule.expr}
        if rule.labels:
            data["labels"] = dict(rule.labels)
        return data
    data = {"alert": rule.name, "expr": rule.expr}
    if rule.for_seconds:
        data["for"] = format_duration(rule.for_seconds)
    data["labels"] = dict(rule.labels)
    data["annotations"] = dict(rule.annotations)
    return data
