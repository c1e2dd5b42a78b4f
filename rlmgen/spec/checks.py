"""Every check rlmgen makes has a stable id (`family/name`). The id is printed after each
diagnostic, names its SARIF rule, links its entry in docs/checks.md (a bad and a good
example) and is what a suppression comment names. Ids are public: never rename one;
retire it by leaving it here and in the docs."""

from __future__ import annotations

import os

from rlmgen.compiled_dataclasses import dataclass

# Where docs/checks.md is published; an organisation serving its own mirror of the docs
# sets RLMGEN_DOCS_URL (SARIF viewers link each finding there).
DOCS_URL = "https://github.com/rlmgen/rlmgen/blob/main/docs/checks.md"


@dataclass(frozen=True)
class Check:
    id: str
    summary: str  # one sentence: what is wrong when it fires

    @property
    def anchor(self) -> str:
        """The docs/checks.md heading anchor of `## <id>` as GitHub and GitLab make it."""
        return self.id.replace("/", "").replace(".", "").lower()

    @property
    def help_uri(self) -> str:
        return f"{docs_url()}#{self.anchor}"


def docs_url() -> str:
    return os.environ.get("RLMGEN_DOCS_URL") or DOCS_URL


_ALL = [
    # reading the file
    Check("yaml/syntax", "The file is not valid YAML."),
    Check(
        "yaml/unsupported",
        "The YAML uses something a spec cannot hold (tags, non-string keys, "
        "several documents, alias bombs, deep nesting).",
    ),
    Check("yaml/duplicate-key", "A mapping gives the same key twice."),
    Check(
        "file/unreadable",
        "The spec file cannot be read (missing, not a file, not UTF-8, too large, empty).",
    ),
    # the JSON Schema pass
    Check("schema/unknown-key", "A key the spec language does not have (often a typo)."),
    Check("schema/required", "A required key is missing."),
    Check(
        "schema/type",
        "A value of the wrong type (text where a number belongs, a list where "
        "a mapping belongs...).",
    ),
    Check("schema/enum", "A value outside the allowed choices."),
    Check(
        "schema/pattern", "A value that does not have the required form (names, URLs, versions...)."
    ),
    Check(
        "schema/range", "A number outside its allowed range, or a list or text of the wrong length."
    ),
    Check("schema/one-of", "A value that matches none, or several, of the forms it may take."),
    Check("schema/api-version", "An apiVersion this rlmgen does not read."),
    # composing includes and environments
    Check(
        "include/invalid",
        "An include that cannot be used: missing, absolute, a cycle, not a mapping.",
    ),
    Check(
        "environment/invalid",
        "An environment declaration that is malformed: a bad name, "
        "not a mapping, a key that belongs at the top of the spec.",
    ),
    Check(
        "merge/conflict",
        "An overlay or include that cannot be merged: a type change, a "
        "removal of nothing, an item it cannot match in the base.",
    ),
    Check("environment/unused-overlay", "An overlay for an environment that no spec declares."),
    Check(
        "environment/lonely",
        "An environment only one spec declares, named like one the other specs declare.",
    ),
    Check(
        "environment/alike",
        "Two environments of one spec named alike (canary, canari): most often a misspelt overlay.",
    ),
    Check(
        "environment/base-namespace",
        "A query selects the base's namespace by name in an environment whose service runs "
        "in another.",
    ),
    Check("service/duplicate", "Two specs compile into the same output directory."),
    Check(
        "dashboards/duplicate-uid",
        "Two dashboards of one environment share a uid (one Grafana shows them all).",
    ),
    Check(
        "platform/mismatch",
        "The specs of one environment disagree about a cluster-wide platform setting.",
    ),
    # PromQL
    Check("promql/syntax", "The expression is not valid PromQL."),
    Check(
        "promql/unknown-function",
        "A function PromQL does not have (count_unique, histogram, forecast_linear...).",
    ),
    Check("promql/renamed-function", "A function the target Prometheus knows under a new name."),
    Check("promql/range-vector", "An aggregation given a range vector (sum(x[5m]))."),
    Check(
        "promql/instant-vector",
        "A function that needs a range vector given an instant vector (rate(x)).",
    ),
    Check("promql/misplaced-grouping", "by/without after a function instead of an aggregation."),
    Check("promql/too-deep", "An expression nested too deeply to be checked."),
    Check("promql/number-range", "A number literal out of range."),
    Check(
        "promql/target-version", "Syntax or a function the target Prometheus version does not have."
    ),
    Check(
        "promql/experimental",
        "An experimental function: needs a feature flag, and promtool before 3.4 refuses it.",
    ),
    Check(
        "promql/grafana-macro",
        "A Grafana macro ($__rate_interval...) in a rule, where Prometheus cannot expand it.",
    ),
    Check(
        "promql/dashboard-variable",
        "A dashboard variable ($route) in a string of a rule's query: there it is literal text.",
    ),
    Check(
        "promql/bucket-label",
        'A whole-number le or quantile value (le="1") where the target Prometheus (3.0 on) '
        'stores a float (le="1.0").',
    ),
    # values with units
    Check("units/invalid", "A value that is not the quantity or unit its field reads."),
    Check(
        "units/unknown", "A quantity with a unit suffix rlmgen does not know (`2 min`, `5 secs`)."
    ),
    Check(
        "units/mismatch",
        "A value in another kind of unit than the metric's (a percentage for a metric in seconds).",
    ),
    # durations
    Check(
        "durations/invalid",
        "A value that is not a Prometheus duration (`2 minutes`, `120`, `30m1h`), or is longer "
        "than one can be (292y).",
    ),
    Check(
        "durations/zero", "A duration that must be longer than 0s is 0s (an interval, a baseline)."
    ),
    # names and references inside one spec
    Check(
        "names/duplicate",
        "A name, id, title or recorded series used twice where it must be unique (two metrics, "
        "receivers or SLOs of one name, two SLOs alerting under one name...).",
    ),
    Check(
        "references/unknown-metric",
        "A query or a reference names a metric that the spec does not declare under metrics.",
    ),
    Check(
        "references/histogram-series",
        "A query selects a series a histogram or a summary does not have (a classic histogram by "
        "its bare name, a summary's _bucket).",
    ),
    Check("references/unknown-receiver", "A route names a receiver the spec does not declare."),
    Check("references/unknown-playbook", "An alert names a playbook the runbook does not declare."),
    Check(
        "references/unknown-time-interval",
        "A receiver names a time interval that routing.timeIntervals does not declare.",
    ),
    Check(
        "references/unknown-severity-level",
        "A playbook's severity is not one of runbook.severityLevels.",
    ),
    Check(
        "references/unknown-alert",
        "A health check names an alert that is not a hand-written alert of the spec.",
    ),
    # the service
    Check(
        "service/invalid-url",
        "A runbookUrl or grafanaUrl rlmgen cannot extend: it holds a fragment, template braces "
        "or spaces.",
    ),
    # labels
    Check(
        "labels/invalid-value",
        "A label value that cannot be written as given: template braces, a line break, or not a "
        "Kubernetes label value where one is needed.",
    ),
    Check(
        "labels/reserved",
        "A label that rlmgen sets itself (alertname, severity, route, __name__, an SLO's "
        "identity): the spec's value would be overwritten.",
    ),
    Check(
        "labels/no-match",
        "A selector or binary operation that can never match: its series never carry the label "
        "it selects on, or the two sides never carry the same labels.",
    ),
    Check(
        "labels/never-carried",
        "A grouping, a histogram_quantile, an alert annotation or a dashboard variable reads a "
        "label the series never carry.",
    ),
    Check(
        "labels/overwrites-series-label",
        "A rule sets a label its series carry: series that differ only in it collide, and "
        "Prometheus fails the rule.",
    ),
    Check(
        "labels/overwrites-scrape-label",
        "A rule sets a label the scrape adds to its series: if series differ in it, they "
        "collide and Prometheus fails the rule.",
    ),
    Check(
        "labels/legend-never-carried",
        "A panel's legend shows a label the query's series never carry.",
    ),
    Check(
        "labels/group-by-dropped",
        "Alerts whose series lack a label routing groups by: all their series arrive in one "
        "notification.",
    ),
    # levels
    Check(
        "levels/invalid",
        "A level that cannot be read: not a comparison, a band or a change, a number too large "
        "to be one, or a band whose ends are the wrong way round.",
    ),
    Check(
        "levels/limit",
        "A level that does not fit the metric's limit: it refers to a limit the metric does not "
        "declare, or is not a share of the limit it has.",
    ),
    Check(
        "levels/out-of-range",
        "A level outside what the metric can reach: it always fires or can never fire (a ratio "
        "above 1), or is too large for a test to go past.",
    ),
    Check(
        "levels/not-alertable",
        "An alert level that says no direction to alert in: a plain value, a band, a change of "
        "0% or a drop of 100% or more.",
    ),
    Check(
        "levels/mixed-direction", "The alert levels of one metric compare in different directions."
    ),
    Check(
        "levels/order",
        "A more severe level that is not strictly further in the metric's direction than a less "
        "severe one, or so close that no value lies between them.",
    ),
    Check(
        "levels/target-past-alert",
        "A target on the alerting side of an alert level: the healthy value would alert.",
    ),
    Check(
        "levels/baseline",
        "A relative level without a baseline window, or a baseline with no relative level.",
    ),
    Check(
        "levels/relative-never-fires",
        "A relative level whose baseline average catches up with a change before the alert's "
        "`for` has passed: it can never fire.",
    ),
    Check(
        "levels/untestable",
        "Levels on a recording rule that gives a value with no input (or vector(0)): no test.",
    ),
    Check(
        "levels/beyond-buckets",
        "A level on a histogram's quantile above its largest finite bucket: it never fires.",
    ),
    Check(
        "levels/on-histogram",
        "Levels on a classic histogram, which has no series of its own name to compare.",
    ),
    Check(
        "levels/on-counter",
        "Levels on a counter, which only grows: once past a level its alert fires until a reset.",
    ),
    Check(
        "levels/alert-without-level",
        "alert.<severity> configures the alert of a level the metric does not have.",
    ),
    # metrics and recording rules
    Check(
        "metrics/untested",
        "With --strict: a recording rule has no example, so no promtool test proves it.",
    ),
    Check(
        "metrics/invalid-buckets", "Buckets on a metric that is not a histogram, or out of order."
    ),
    Check(
        "metrics/limit-not-a-series",
        "A limit that is not a series (or the sum, max, min or avg of one) that tests can feed.",
    ),
    Check(
        "metrics/limit-labels",
        "A limit whose series carry labels the metric's do not: the division matches on the "
        "labels both carry, and needs one limit series for each.",
    ),
    # what the compile walk finds in PromQL
    Check(
        "promql/rate-of-gauge",
        "rate(), increase() or another counter function reads a gauge: each fall counts as a "
        "counter reset.",
    ),
    Check(
        "promql/delta-of-counter",
        "delta(), idelta() or deriv() reads a counter: its reset reads as a huge fall.",
    ),
    Check(
        "promql/counter-not-rated",
        "An alert or a metric's levels compare a counter's running total, not its rate.",
    ),
    Check(
        "promql/rule-result",
        "An alert's or recording rule's expression gives a range vector or a string, which a "
        "rule cannot.",
    ),
    Check(
        "promql/quantile-range",
        "histogram_quantile with a quantile outside 0-1 (99 for 0.99): it gives ±Inf.",
    ),
    # alerts
    Check("alerts/no-severity", "An alert without a severity, on itself or on its group."),
    Check(
        "alerts/duplicate",
        "Two alerts with the same name and labels: Prometheus would keep only one.",
    ),
    Check(
        "alerts/for-too-short",
        "An alert's `for` shorter than the scrape or evaluation interval: it holds nothing back.",
    ),
    Check(
        "alerts/untested",
        "With --strict: an alert has no example, so no promtool test proves it fires.",
    ),
    # annotation templates
    Check("templates/invalid", "An annotation template Prometheus refuses."),
    Check(
        "templates/outside-action",
        "$labels.x or $value in an annotation's text, outside {{ }}: shown as written.",
    ),
    Check(
        "templates/unpredictable",
        "An annotation template whose output rlmgen cannot predict for a promtool test.",
    ),
    # examples and the tests they become
    Check(
        "examples/invalid-series",
        "An example input that promtool cannot read: not a plain selector, or values that are "
        "not promtool series notation.",
    ),
    Check(
        "examples/off-grid",
        "An example checked at a time that is not a multiple of the evaluation interval.",
    ),
    Check(
        "examples/fires-before-for",
        "An example expects an alert firing before its `for` has passed.",
    ),
    Check(
        "examples/missing-value",
        "A firing example without the value its alert's annotations print.",
    ),
    Check(
        "examples/after-inputs",
        "An example expects an alert or a value at a time after its input series have ended: "
        "its test would fail.",
    ),
    Check(
        "examples/vacuous",
        "An example expects no alert at a time after its input series have ended: its test "
        "passes whatever the rule does.",
    ),
    Check(
        "examples/labels",
        "An example's labels are not those of the series its rule gives: some are missing, or "
        "never carried.",
    ),
    Check(
        "examples/unix-time",
        "An example of a rule that reads time() gives today's Unix timestamps, but promtool's "
        "clock starts at 0.",
    ),
    Check(
        "examples/sparse-samples",
        "An example's samples are further apart than Prometheus' 5m lookback, and its rule "
        "reads a series at an instant.",
    ),
    Check("tests/too-large", "A promtool test rlmgen would write is too long for promtool to run."),
    # routing
    Check(
        "routing/unrouted-severity",
        "No receiver takes a severity: its alerts reach the root route's receiver, the first one.",
    ),
    Check(
        "routing/severity-taken",
        "Two receivers take one severity for the same match: the second never gets it.",
    ),
    Check("routing/invalid-time-range", "A time range that does not end after it starts."),
    Check(
        "routing/unknown-location",
        "A time interval's location that is not a zone of the IANA time zone database.",
    ),
    Check(
        "routing/operator-location",
        "A time interval's location, which the Operator's AlertmanagerConfig cannot hold.",
    ),
    Check(
        "routing/webhook-url-file",
        "A webhook urlFile on a target Alertmanager that cannot read one.",
    ),
    Check(
        "routing/secret-key-clash",
        "Two different secret files that an AlertmanagerConfig would read from one Secret key.",
    ),
    # dashboards
    Check(
        "dashboards/panel-form",
        "A panel without what its type shows: a query, queries or a metric, or a text panel's "
        "content.",
    ),
    Check("dashboards/unknown-unit", "A panel unit that is not a Grafana unit id."),
    Check(
        "dashboards/unit-mismatch",
        "A metric panel's unit of another scale than the metric's (h for seconds): shown wrong.",
    ),
    Check(
        "dashboards/refresh-too-fast",
        "A dashboard refresh below Grafana's minimum (5s), which Grafana raises.",
    ),
    Check(
        "dashboards/heatmap-not-by-le",
        "A heatmap of a histogram whose query does not keep the le label.",
    ),
    Check(
        "dashboards/histogram-metric",
        "A panel shows a histogram by `metric:` other than as a heatmap, or a summary as one.",
    ),
    Check(
        "dashboards/unknown-variable",
        "A panel's or a variable's query uses a variable the dashboard does not declare.",
    ),
    # autoscaling
    Check("autoscaling/replica-bounds", "minReplicas above maxReplicas."),
    Check(
        "autoscaling/invalid-target",
        "A scaling target or scale-down threshold the HPA cannot take: out of range, in the wrong "
        "unit, or a scale-down threshold not below the target.",
    ),
    Check(
        "autoscaling/ambiguous-quantity",
        "A scaling target ending in m where minutes (rlmgen) and thousandths (Kubernetes) "
        "both fit the metric.",
    ),
    Check(
        "autoscaling/unserved-metric",
        "A scaling metric whose series lack the labels the metrics adapter serves it by.",
    ),
    Check(
        "autoscaling/invalid-behavior",
        "A stabilization window or policy period outside what Kubernetes allows.",
    ),
    # the runbook
    Check(
        "runbook/anchor-taken",
        "An alert's runbook anchor is taken by a runbook heading before the alert's own section.",
    ),
    Check("runbook/empty-check", "A scheduled check that does nothing: no run, script or health."),
    # health checks
    Check(
        "health/invalid-check",
        "A health check with nothing to judge: both or neither of metric and alerts, a metric "
        "without levels with a number, or a check of alerts without a label.",
    ),
    Check(
        "health/unusable-alerts",
        "Alerts that cannot give a health check its levels: no comparison with a number, "
        "another severity, two of one severity, or different values compared.",
    ),
    # service level objectives
    Check("slo/invalid-objective", "An objective that is not above 0% and below 100%."),
    Check(
        "slo/invalid-period",
        "An SLO period that is not whole days, or shorter than the longest alert window (3d).",
    ),
    Check(
        "slo/invalid-sli",
        "An SLI rlmgen cannot compute: events not counted by a counter, bad the same as total, a "
        "latency SLI on something other than a histogram, a raw SLI without {{.window}}.",
    ),
    Check(
        "slo/latency-threshold",
        "A latency threshold that is not a bucket bound of the histogram, or a selector on le.",
    ),
    Check(
        "slo/untested",
        "With --strict: no generated test proves an SLO's alerts (a raw SLI, or selectors "
        "rlmgen cannot tell apart).",
    ),
    Check(
        "slo/pair-never-fires",
        "A burn-rate window pair that can never fire: the objective is too low for its threshold.",
    ),
    # suppression comments
    Check("suppression/unused", "A `# rlmgen: disable=` comment that suppresses nothing."),
    Check(
        "suppression/unknown-check",
        "A `# rlmgen: disable=` comment naming a check that does not exist.",
    ),
    # live and judged checks
    Check(
        "verify/missing-series",
        "A declared or recorded series has no samples on the live "
        "Prometheus, or lacks a label the spec's queries use.",
    ),
    Check("verify/unread-metric", "A declared metric that no alert, panel or rule reads."),
    Check(
        "judge/promtool-failed",
        "A generated promtool test fails: the rule does not do what the spec's example says.",
    ),
    Check("judge/route-failed", "amtool routes an alert to receivers other than the spec's."),
]

CHECKS: dict[str, Check] = {check.id: check for check in _ALL}
assert len(CHECKS) == len(_ALL), "a check id is listed twice"
