"""What each version of Prometheus and Alertmanager accepts, for the parts of PromQL and of
Alertmanager's configuration that rlmgen reads or writes. The default targets are the
versions CI proves the output on (Debian's promtool 2.42 and amtool 0.25).

Sources: the Prometheus and Alertmanager changelogs (release notes up to Prometheus 3.14
and Alertmanager 0.28), checked against promtool 2.42 and amtool 0.25."""

from __future__ import annotations

import re

from rlmgen.compiled_dataclasses import dataclass

Version = tuple[int, int]

DEFAULT_PROMETHEUS: Version = (2, 42)
DEFAULT_ALERTMANAGER: Version = (0, 25)
# From Prometheus 3.0 a classic histogram's le (and a summary's quantile) is normalised to
# a float when ingested, whatever the scrape format: le="1" is stored as le="1.0", and a
# query for le="1" finds nothing (the 3.0 migration guide, "le and quantile label values").
LE_NORMALISED: Version = (3, 0)
_VERSION = re.compile(r"(\d+)\.(\d+)(?:\.\d+)?")


def parse_version(text: str) -> Version | None:
    match = _VERSION.fullmatch(text.strip())
    return (int(match[1]), int(match[2])) if match else None


def shown(version: Version) -> str:
    return f"{version[0]}.{version[1]}"


@dataclass(frozen=True)
class Since:
    version: Version
    experimental: bool = False  # behind --enable-feature=promql-experimental-functions


# PromQL functions and aggregations newer than Prometheus 2.42 (every other function of
# rlmgen.lang.promql exists in 2.42). Experimental ones need a feature flag, and
# `promtool check rules` rejects them before 3.4 whatever the flags.
PROMQL_SINCE: dict[str, Since] = {
    "histogram_stddev": Since((2, 47)),
    "histogram_stdvar": Since((2, 47)),
    "mad_over_time": Since((2, 49), experimental=True),
    "sort_by_label": Since((2, 49), experimental=True),
    "sort_by_label_desc": Since((2, 49), experimental=True),
    "histogram_avg": Since((2, 51)),
    "limitk": Since((2, 54), experimental=True),
    "limit_ratio": Since((2, 54), experimental=True),
    "info": Since((2, 55), experimental=True),
    "double_exponential_smoothing": Since((3, 0), experimental=True),
    "ts_of_min_over_time": Since((3, 5), experimental=True),
    "ts_of_max_over_time": Since((3, 5), experimental=True),
    "ts_of_last_over_time": Since((3, 5), experimental=True),
    "first_over_time": Since((3, 7), experimental=True),
    "ts_of_first_over_time": Since((3, 7), experimental=True),
    "histogram_quantiles": Since((3, 11), experimental=True),
    "min_of": Since((3, 13), experimental=True),
    "max_of": Since((3, 13), experimental=True),
}
# The feature flag experimental functions need, and the first promtool that accepts them.
EXPERIMENTAL_FUNCTIONS = "promql-experimental-functions"
PROMTOOL_EXPERIMENTAL: Version = (3, 4)
# A histogram selected by its own name is a native histogram, behind this flag before 3.8.
NATIVE_HISTOGRAMS = "native-histograms"
# first_over_time is stable from 3.14.
STABLE_SINCE: dict[str, Version] = {"first_over_time": (3, 14)}
# Removed, and what replaces it.
PROMQL_UNTIL: dict[str, tuple[Version, str]] = {
    "holt_winters": ((3, 0), "double_exponential_smoothing"),
}
# Syntax: numbers and durations interchangeable (`rate(x[300])`, `time() - 5m`), and
# quoted UTF-8 metric and label names (`{"my.metric"}`): stable from 3.0.
DURATIONS_AS_NUMBERS: Version = (3, 0)
QUOTED_NAMES: Version = (3, 0)

# Alertmanager: a webhook's URL read from a file.
WEBHOOK_URL_FILE: Version = (0, 26)


def experimental(name: str, target: Version) -> bool:
    since = PROMQL_SINCE.get(name)
    stable = STABLE_SINCE.get(name)
    return since is not None and since.experimental and not (stable and target >= stable)
