"""The published JSON Schema is editor-grade: standard JSON Schema only (ajv compiles it
in strict mode, check-jsonschema checks it against the metaschema), a description on
every property, examples that are valid, and patterns that flag in an editor exactly the
durations, levels and quantities rlmgen's own parsers refuse (a differential test over
the values the specs and cases write, the parsers' own test cases and generated ones).
yaml-language-server, the engine of editors' YAML support, is driven over stdio as an
editor would: it completes, hovers and flags with the schema beside a spec."""

from __future__ import annotations

import functools
import json
import os
import queue
import random
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from jsonschema import Draft202012Validator, FormatChecker

from rlmgen.cli import cli
from rlmgen.lang.levels import parse_level
from rlmgen.lang.units import UnitError, parse_duration, parse_kubernetes_quantity, parse_quantity
from rlmgen.pipeline import compile_file
from rlmgen.spec.loader import SpecLoadError, load_file
from rlmgen.spec.schema import (
    SCHEMA_FILE,
    published_schema,
    schema,
    schema_text,
    validation_schema,
)
from tests.conftest import REPO
from tests.npm_tools import node as node_binary
from tests.npm_tools import npm_package

AJV = "ajv@8.17.1"
YAML_LANGUAGE_SERVER = "yaml-language-server@1.25.0"
SCHEMA_PATH = REPO / "rlmgen" / "spec" / SCHEMA_FILE
VALID_SPECS = sorted((REPO / "tests" / "cases" / "valid").glob("*.yaml")) + sorted(
    (REPO / "specs").glob("*.yaml")
)
MINIMAL = REPO / "tests" / "cases" / "valid" / "minimal.yaml"
MODELINE = re.compile(r"^# yaml-language-server:.*\n", re.MULTILINE)


def _schema_nodes(node: Any, pointer: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every schema object of the document with its JSON pointer (keys of `properties`
    and `$defs` are names, never keywords)."""
    if not isinstance(node, dict):
        return
    yield pointer, node
    for key, value in node.items():
        if key in ("properties", "$defs", "patternProperties", "dependentSchemas"):
            for name, sub in value.items():
                yield from _schema_nodes(sub, f"{pointer}/{key}/{name}")
        elif key in ("oneOf", "anyOf", "allOf", "prefixItems"):
            for index, sub in enumerate(value):
                yield from _schema_nodes(sub, f"{pointer}/{key}/{index}")
        elif key in ("items", "additionalProperties", "propertyNames", "not", "contains"):
            yield from _schema_nodes(value, f"{pointer}/{key}")


# --- the published schema ---------------------------------------------------------------


def test_every_property_and_definition_has_a_description() -> None:
    missing = []
    for pointer, node in _schema_nodes(published_schema()):
        for name, sub in node.get("properties", {}).items():
            # `true`: a oneOf branch restating a property for ajv's strictRequired
            if sub is not True and not str(sub.get("description", "")).strip():
                missing.append(f"{pointer}/properties/{name}")
    for name, sub in published_schema()["$defs"].items():
        if not str(sub.get("description", "")).strip():
            missing.append(f"/$defs/{name}")
    assert missing == []


def test_the_main_properties_have_examples() -> None:
    defs = published_schema()["$defs"]
    for node in (
        *(defs["service"]["properties"][k] for k in ("name", "namespace", "team", "runbookUrl")),
        *(defs["metric"]["properties"][k] for k in ("name", "unit", "expr", "levels")),
        *(defs["levels"]["properties"][k] for k in ("target", "warning", "critical")),
        defs["alert"]["properties"]["expr"],
        defs["alert"]["properties"]["for"],
        defs["panel"]["properties"]["type"],
        defs["routing"]["properties"]["receivers"],
        published_schema()["properties"]["autoscaling"],
    ):
        assert node.get("examples"), node


def test_every_example_is_valid_where_it_stands() -> None:
    definitions = published_schema()["$defs"]
    wrong = []
    for pointer, node in _schema_nodes(published_schema()):
        validator = Draft202012Validator({**node, "$defs": definitions})
        for example in node.get("examples", []):
            wrong += [
                f"{pointer}: {example!r}: {e.message}" for e in validator.iter_errors(example)
            ]
    assert wrong == []


def test_the_published_schema_holds_standard_keywords_only() -> None:
    own = [
        f"{pointer}/{key}"
        for pointer, node in _schema_nodes(published_schema())
        for key in node
        if key.startswith("x-") or key == "format"
    ]
    assert own == []
    assert json.loads(schema_text()) == published_schema()


def test_rlmgen_validates_with_its_messages_and_without_the_editor_patterns() -> None:
    """The sidecar puts back what rlmgen's diagnostics need and takes out the patterns of
    values its compile walk reports itself (with hints such as "write 150m")."""
    defs = schema()["$defs"]
    assert defs["duration"]["format"] == "duration" and "pattern" not in defs["duration"]
    assert defs["level"]["type"] == ["string", "number"] and "anyOf" not in defs["level"]
    assert defs["panel"]["properties"]["type"]["x-aliases"]["graph"] == "timeseries"
    assert defs["identifier"]["x-error"]["pattern"]
    editor_only = set(_PATTERNS.values())
    kept = [at for at, n in _schema_nodes(validation_schema()) if n.get("pattern") in editor_only]
    assert kept == []


def test_a_bad_duration_gets_rlmgens_own_diagnostic_only(tmp_path: Path) -> None:
    spec = tmp_path / "shop.yaml"
    spec.write_text(MINIMAL.read_text().replace("for: 2m", "for: 2 minutes"))
    found = [d for unit in compile_file(spec) for d in unit.diagnostics]
    assert [d.message for d in found if d.pointer == "/alertGroups/0/alerts/0/for"] == [
        "'2 minutes' is not a duration"
    ]


# --- the patterns agree with rlmgen's parsers ---------------------------------------------

_DEFS = published_schema()["$defs"]


def _string_pattern(node: dict[str, Any]) -> str:
    return str(next(b for b in node["anyOf"] if b["type"] == "string")["pattern"])


_PATTERNS = {
    "duration": str(_DEFS["duration"]["pattern"]),
    "quantity": _string_pattern(_DEFS["quantity"]),
    "resource-quantity": _string_pattern(_DEFS["resourceQuantity"]),
    "level": _string_pattern(_DEFS["level"]),
    "target": _string_pattern(_DEFS["levels"]["properties"]["target"]),
}
_FORMATS = {
    "duration": "duration",
    "quantity": "quantity",
    "resource-quantity": "resource-quantity",
    "level": "level",
    "target": "target-level",
}

# Where a regex cannot tell, the patterns are looser than the parsers: arithmetic. A
# duration longer than Prometheus' 292 years (300y, 99999999999s), a band whose low end
# is not below its high end (60-40%, 1s-500ms), a number too large for a float (1e999).
# Anything else one accepts and the other refuses fails the test. Beyond ASCII (never in
# this corpus): Python's \s
# and str.split() take \x1c-\x1f and \x85 as spaces where JavaScript's \s takes \ufeff,
# and re.IGNORECASE lets a band's unit letters match the Kelvin sign (then refused).
_ARITHMETIC = {
    "duration": ("longer than a Prometheus duration can be",),
    "quantity": ("too large to be a number",),
    "resource-quantity": (),
    "level": ("the low end of a band must be below the high end", "too large"),
    "target": ("the low end of a band must be below the high end", "too large"),
}


def _record(found: set[Any], value: Any) -> bool:
    found.add(value)
    return True


def _parses(kind: str, text: str) -> tuple[bool, str]:
    try:
        if kind == "duration":
            parse_duration(text)
        elif kind == "quantity":
            parse_quantity(text)
        elif kind == "resource-quantity":  # what any resource could accept: cores or bytes
            if parse_kubernetes_quantity(text) is None and parse_quantity(text).dimension != "data":
                return False, "not a Kubernetes quantity nor bytes"
        else:  # the shape, in no metric's unit: what any metric could accept
            parse_level(text, None, has_limit=None, allow_qualitative=kind == "target")
    except UnitError as exc:
        return False, exc.message
    return True, ""


def _ecma(pattern: str) -> re.Pattern[str]:
    """A pattern with ECMA-262's `$` (the end of the text; Python's also matches before a
    final newline). The node test below checks that JavaScript reads them alike."""
    return re.compile(re.sub(r"(?<!\\)\$", r"\\Z", pattern))


# Forms from rlmgen's parser tests and the README, and near misses.
_WRITTEN_BY_HAND = {
    "duration": [
        "30s", "5m", "1h30m", "100ms", "7d", "1w", "1y", "0s", "90s", "1h0m0s", "1y2w3d4h5m6s7ms",
        "2 minutes", "5 min", "1m1h", "10", "1.5h", "", " 5m", "5m ", "5m\n", "5M", "5mins",
        "1ms1s", "5m5m", "-5m", "+5m", "5us", "1h 30m", "300y", "292y", "99999999999s",
    ],
    "quantity": [
        "100ms", "99.9%", "512MiB", "1KB", "$0.05", "1000", "70%", "10", " 5 ", "5 ms", "1e3",
        "-5", "+.5", "5.", "2/s", "10rps", "3ops", "1µs", "1kB", "1e999", "70 percent",
        "1.5 cores", "$5ms", "$ 5", "5kiB", "5Ms", "", "%", "5%%", "1e", "0x10",
    ],
    "resource-quantity": [
        "500m", "2", "1.5", "512Mi", "1Gi", "1G", "100k", "1e3", "1E", "1E2", "5u", "5n", "-1",
        "+.5", "5.", "512MiB", "1 GiB", "1KB", "1kB", "512 Mi", "2 cores", "500 m", "1e", "Mi",
        "1Ki", "1ki", "1mi", "1K", "1b", "", " 2 ", "0x10", "1.5.5", "5ms", "70%", "$5",
    ],
    "level": [
        "> 200ms", "> 30s", "< 99.9%", "< 99%", "> 80%", "above 80%", "99.99%", "40-60%",
        "40% - 60%", "outside 30-70%", "not in 10% - 90%", "> 20% increase", "drop > 50%",
        "Sudden drop > 50%", "< 80% limit", "> 95%", "> 2 min", "60-40%", "sometimes",
        "=> 5", "> 200 msec", "> 80 percent", "> 0.8 limit", "> 80% of limit", "> 5ms limit",
        "5e-3", "-5e-3", "$5e-3", "5e+3", "outside 30-70", "40..60", "40 to 60", "40–60%",
        "> $5", "> 1e308", "> 1e999", "rise 5%", "spike of 20%", "20%increase", "> 20 %  rise",
        "drop>50%", "NOT IN 1-2", "outside 1-2 of limit", "Growth", "> ", "",
        "> 2h30m", "> 1y", "< 1d12h", "2h30m", "1h-2h30m", "outside 30m-1h30m", "> 2h 30m",
        "> 1m1h", "> 1h30", "> 5m5ms", "> 1y2w3d4h5m6s7ms", "> 2h30m limit", "> 1h1h",
        "> 2h30", "> 1h30m%", "1h30m - 2h", "> 1H30M", "above 1w1d",
    ],
    "target": [
        "< 100ms", "99.99%", "40-60%", "Trending down", "Growth", "overall growth", "Under 5",
        "-5 parsecs", "-5 big parsecs", ".5x", "outside 30-20%", "outside 30-70x", "!", "",
        "drop > 50x", "5e-3", "= 5", "> 99.5%", "< 2h30m", "1h-2h30m", "< 2h 30m", "< 1y",
    ],
}  # fmt: skip


@functools.cache
def _written_in_specs() -> dict[str, set[str]]:
    """Every duration, level, quantity and target the shipped specs and test cases write,
    found by validating them with a format checker that records each value."""
    found: dict[str, set[str]] = {kind: set() for kind in _FORMATS}
    checker = FormatChecker(formats=())
    for kind, name in _FORMATS.items():
        checker.checks(name)(functools.partial(_record, found[kind]))
    validator = Draft202012Validator(schema(), format_checker=checker)
    cases = [*(REPO / "tests" / "cases").glob("*/*.yaml"), *(REPO / "specs").rglob("*.yaml")]
    for path in cases:
        try:
            data = load_file(path).data
        except SpecLoadError:
            continue
        for _ in validator.iter_errors(data):
            pass
    return {kind: {v for v in values if isinstance(v, str)} for kind, values in found.items()}


def _generated(kind: str, count: int) -> set[str]:
    """Strings assembled from the languages' own pieces, right and wrong, seeded."""
    rng = random.Random(f"rlmgen-{kind}")

    def pick(*choices: str) -> str:
        return rng.choice(choices)

    if kind == "duration":
        units = ("y", "w", "d", "h", "m", "s", "ms", "us", "M", "", "min", " ")
        return {
            "".join(
                pick("1", "0", "30", "007", "1.5", "", "99999999999") + pick(*units)
                for _ in range(rng.randint(1, 4))
            )
            for _ in range(count)
        }
    numbers = ("5", "0", "10", "99.9", ".5", "5.", "1e3", "1e-3", "-5", "+2", "$5", "$-5", "1E+2")
    pieces = ("", "%", "ms", "s", "m", "h", "d", "w", "us", "µs", "ns", "B", "KB", "kB", "MB",
              "GB", "TB", "KiB", "MiB", "GiB", "TiB", "/s", "rps", "ops", "min", "x",
              "e")  # fmt: skip
    space = ("", " ", "  ", "\t")

    def quantity() -> str:
        return pick(*numbers) + pick(*space) + pick(*pieces)

    def limit() -> str:
        return pick("", "", " limit", " of limit", "limit", " LIMIT", " Of Limit")

    def level() -> str:
        form = rng.randint(0, 6)
        if form == 0:
            op = pick(">", "<", ">=", "<=", "above", "Over", "under", "below", "=", "=>", "")
            return op + pick(*space) + quantity() + limit()
        if form == 1:
            dash = pick("-", "–", "..", "to", "TO", "~")
            return quantity() + pick(*space) + dash + pick(*space) + quantity() + limit()
        if form == 2:
            word = pick("outside", "not in", "Outside", "not  in", "notin")
            return word + pick(" ", "", "  ") + quantity() + pick("-", "..", "to") + quantity()
        change = pick("increase", "rise", "spike", "drop", "decrease", "fall", "Increase", "jump")
        percent = pick("20", "5.5", ".5", "5.") + pick(*space) + pick("%", "", "ms")
        if form == 3:
            return pick("", ">", ">=", "above", "over", "<") + pick(*space) + percent + " " + change
        if form == 4:
            by = pick("", "of ", "> ", ">=", "above ", "over", "<")
            return (
                pick("", "sudden ", "Sudden  ", "suddenly ") + change + pick("", " ") + by + percent
            )
        if form == 5:
            return pick(*space) + quantity() + limit() + pick(*space)
        words = ("Growth", "Trending down", "overall", "Under control", "not", "x", "!", ".5x")
        return pick(*words) + pick("", " ", " 5", " 40-60%", " parsecs")

    if kind == "resource-quantity":
        suffixes = ("", "m", "k", "M", "G", "T", "P", "E", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei",
                    "n", "u", "ki", "mi", "K", "B", "MiB", "GB", "kB", "e3", "E-2", "e",
                    "%")  # fmt: skip
        return {pick(*numbers) + pick(*space) + pick(*suffixes) for _ in range(count)}
    return {quantity() if kind == "quantity" else level() for _ in range(count)}


@pytest.fixture(scope="module")
def corpus() -> dict[str, list[str]]:
    written = _written_in_specs()
    return {
        kind: sorted(set(_WRITTEN_BY_HAND[kind]) | written[kind] | _generated(kind, 3000))
        for kind in _FORMATS
    }


@pytest.mark.parametrize("kind", sorted(_FORMATS))
def test_the_pattern_accepts_exactly_what_rlmgen_parses(
    kind: str, corpus: dict[str, list[str]]
) -> None:
    pattern = _ecma(_PATTERNS[kind])
    disagree, accepted, refused = [], 0, 0
    for text in corpus[kind]:
        parses, message = _parses(kind, text)
        matches = pattern.search(text) is not None
        accepted, refused = accepted + parses, refused + (not parses)
        looser = matches and not parses and any(m in message for m in _ARITHMETIC[kind])
        if parses != matches and not looser:
            disagree.append((text, f"rlmgen {'accepts' if parses else 'refuses'}", message))
    assert disagree == []
    assert accepted >= 30 and refused >= 30, (accepted, refused)  # both sides are tested


def test_values_the_specs_write_are_in_the_corpus(corpus: dict[str, list[str]]) -> None:
    for kind, value in (("duration", "1h30m"), ("level", "outside 18-27"), ("target", "Growth")):
        assert value in corpus[kind]
    assert len(_written_in_specs()["duration"]) > 20


def test_patterns_and_parsers_take_ascii_digits_only() -> None:
    """Prometheus reads ASCII digits only: `٥m` (an Arabic-Indic five) is no duration to
    it, nor to rlmgen's parsers, nor to an editor."""
    for kind, text in (("duration", "٥m"), ("level", "> ٥ms"), ("quantity", "٥")):
        assert _ecma(_PATTERNS[kind]).search(text) is None
    for text in ("٥m", "1٥s"):
        with pytest.raises(UnitError):
            parse_duration(text)
    with pytest.raises(UnitError):
        parse_quantity("٥")
    with pytest.raises(UnitError):
        parse_level("> ٥ms", None)


def test_editors_flag_the_usual_mistakes() -> None:
    flagged = {
        "duration": ["2 minutes", "5 min", "1.5h", "10", "1m1h", "5M"],
        "level": ["> 200 msec", "> 2 min", "sometimes", "=> 5", "> 80 percent"],
        "quantity": ["70 percent", "1.5 cores", "0x10"],
        "resource-quantity": ["2 cores", "1ki", "5ms", "70%"],
        "target": ["> 5 parsecs", "< 100 msec", "40-60 percent"],
    }
    fine = {
        "duration": ["5m", "1h30m", "90s", "100ms", "30d"],
        "level": ["> 200ms", "< 99.9%", "outside 30-70%", "> 20% increase", "drop > 50%"],
        "quantity": ["70%", "100ms", "512MiB", "10", "$0.05"],
        "resource-quantity": ["500m", "2", "512Mi", "1Gi", "512MiB"],
        "target": ["< 100ms", "99.99%", "40-60%", "Trending down", "Growth"],
    }
    for kind, pattern in _PATTERNS.items():
        assert [t for t in flagged[kind] if re.search(pattern, t)] == [], kind
        assert [t for t in fine[kind] if not re.search(pattern, t)] == [], kind


# --- node: ajv and JavaScript's regular expressions -------------------------------------

_AJV_SCRIPT = """
const {default: Ajv2020} = require(process.argv[2] + "/ajv/dist/2020");
const input = JSON.parse(require("fs").readFileSync(0, "utf8"));
const messages = [];
const keep = (...args) => messages.push(args.join(" "));
const logger = {log: keep, warn: keep, error: keep};
const ajv = new Ajv2020({strict: true, allErrors: true, logger});
const validate = ajv.compile(input.schema);
const results = {};
for (const [name, document] of Object.entries(input.documents)) {
  results[name] = validate(document)
    ? [] : validate.errors.map((e) => `${e.instancePath} ${e.keyword}`);
}
const regexps = {};
for (const [kind, pattern] of Object.entries(input.patterns)) {
  const compiled = new RegExp(pattern, "u");  // as ajv compiles a pattern
  regexps[kind] = input.corpus[kind].map((text) => compiled.test(text));
}
process.stdout.write(JSON.stringify({messages, results, regexps}));
"""


def _run_node(script: str, modules: Path, payload: Any, tmp_path: Path) -> Any:
    path = tmp_path / "check.js"
    path.write_text(script)
    outcome = subprocess.run(
        [node_binary(), str(path), str(modules)],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert outcome.returncode == 0, outcome.stderr[-2000:]
    return json.loads(outcome.stdout)


def _bad_duration_spec() -> dict[str, Any]:
    data = load_file(MINIMAL).data
    data["alertGroups"][0]["alerts"][0]["for"] = "2 minutes"
    data["metrics"][0]["levels"]["warning"] = "> 200 msec"
    return data


def test_ajv_strict_compiles_the_schema_and_agrees_on_specs_and_patterns(
    tmp_path: Path, corpus: dict[str, list[str]]
) -> None:
    documents = {str(p.relative_to(REPO)): load_file(p).data for p in VALID_SPECS}
    documents["bad"] = _bad_duration_spec()
    found = _run_node(
        _AJV_SCRIPT,
        npm_package(AJV),
        {
            "schema": json.loads(schema_text()),
            "documents": documents,
            "patterns": _PATTERNS,
            "corpus": corpus,
        },
        tmp_path,
    )
    assert found["messages"] == []  # strict mode: no warning either
    assert {k: v for k, v in found["results"].items() if k != "bad"} == {
        k: [] for k in documents if k != "bad"
    }
    assert "/alertGroups/0/alerts/0/for pattern" in found["results"]["bad"]
    assert "/metrics/0/levels/warning pattern" in found["results"]["bad"]
    for kind, pattern in _PATTERNS.items():
        python = [_ecma(pattern).search(text) is not None for text in corpus[kind]]
        differ = [
            t
            for t, p, j in zip(corpus[kind], python, found["regexps"][kind], strict=True)
            if p != j
        ]
        assert differ == [], kind


# --- check-jsonschema ---------------------------------------------------------------------


def _check_jsonschema(*args: str | Path) -> subprocess.CompletedProcess[str]:
    try:
        import check_jsonschema  # noqa: F401
    except ImportError:
        if os.environ.get("RLMGEN_REQUIRE_TOOLS") == "1":
            pytest.fail("check-jsonschema is required (pip install '.[test]')")
        pytest.skip("check-jsonschema is not installed (pip install '.[test]')")
    return subprocess.run(
        [sys.executable, "-m", "check_jsonschema", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_check_jsonschema_accepts_the_schema_and_the_valid_specs(tmp_path: Path) -> None:
    meta = _check_jsonschema("--check-metaschema", SCHEMA_PATH)
    assert meta.returncode == 0, meta.stdout + meta.stderr
    specs = _check_jsonschema("--schemafile", SCHEMA_PATH, *VALID_SPECS)
    assert specs.returncode == 0, specs.stdout + specs.stderr
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(_bad_duration_spec()))
    flagged = _check_jsonschema("--schemafile", SCHEMA_PATH, bad)
    assert flagged.returncode == 1 and "'2 minutes' does not match" in flagged.stdout


# --- yaml-language-server, as an editor runs it ---------------------------------------------

_SETTINGS: dict[str, Any] = {
    "yaml": {
        "validate": True,
        "hover": True,
        "completion": True,
        "schemaStore": {"enable": False},  # no network: the modeline names the schema
        "format": {"enable": False},
    },
    "http": {},
    "editor": {"tabSize": 2},
}


class LanguageServer:
    """A client of a language server over stdio: JSON-RPC with Content-Length framing,
    every wait bounded by the deadline."""

    def __init__(self, command: list[str], cwd: Path, log: Path, deadline: float):
        self.deadline = time.monotonic() + deadline
        self._log = open(log, "wb")  # noqa: SIM115 - closed in close()
        self.process = subprocess.Popen(
            command, cwd=cwd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log
        )
        self._inbox: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._responses: dict[int, dict[str, Any]] = {}
        self.diagnostics: dict[str, list[dict[str, Any]]] = {}
        self._next_id = 0
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        stream = self.process.stdout
        assert stream is not None
        try:
            while True:
                length = None
                while (line := stream.readline()) not in (b"\r\n", b"\n"):
                    if not line:
                        return
                    name, _, value = line.decode("ascii").partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value)
                assert length is not None
                self._inbox.put(json.loads(stream.read(length)))
        finally:
            self._inbox.put(None)

    def _send(self, message: dict[str, Any]) -> None:
        body = json.dumps({"jsonrpc": "2.0", **message}).encode()
        stdin = self.process.stdin
        assert stdin is not None
        stdin.write(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        stdin.flush()

    def notify(self, method: str, params: Any) -> None:
        self._send({"method": method, "params": params})

    def request(self, method: str, params: Any) -> Any:
        self._next_id += 1
        ident = self._next_id
        self._send({"id": ident, "method": method, "params": params})
        self.wait_for(lambda: ident in self._responses, method)
        response = self._responses.pop(ident)
        assert "error" not in response, response
        return response.get("result")

    def wait_for(self, condition: Any, what: str) -> None:
        while not condition():
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"yaml-language-server: no {what} in time")
            try:
                message = self._inbox.get(timeout=left)
            except queue.Empty:
                continue
            if message is None:
                raise AssertionError(f"yaml-language-server exited waiting for {what}")
            self._handle(message)

    def _handle(self, message: dict[str, Any]) -> None:
        method = message.get("method")
        if method is None:
            self._responses[message["id"]] = message
        elif "id" in message:  # the server asks: answer, or it waits forever
            result: Any = None
            if method == "workspace/configuration":
                result = [self._setting(item.get("section")) for item in message["params"]["items"]]
            self._send({"id": message["id"], "result": result})
        elif method == "textDocument/publishDiagnostics":
            self.diagnostics[message["params"]["uri"]] = message["params"]["diagnostics"]

    @staticmethod
    def _setting(section: str | None) -> Any:
        node: Any = _SETTINGS
        for part in section.split(".") if section else ():
            node = node.get(part) if isinstance(node, dict) else None
        return node

    def close(self) -> None:
        try:
            self.process.kill()
            self.process.wait(timeout=10)
        finally:
            for stream in (self.process.stdin, self.process.stdout, self._log):
                if stream is not None:
                    stream.close()


def _position(text: str, line_text: str, column_after: str) -> dict[str, int]:
    """The position just after `column_after` on the first line that holds `line_text`."""
    for number, line in enumerate(text.splitlines()):
        if line_text in line:
            return {"line": number, "character": line.index(column_after) + len(column_after)}
    raise AssertionError(f"no line holds {line_text!r}")


def test_yaml_language_server_completes_hovers_and_flags(tmp_path: Path) -> None:
    modules = npm_package(YAML_LANGUAGE_SERVER)
    # a repository made by `rlmgen init`: the schema beside the spec, named by its modeline
    result = CliRunner().invoke(
        cli, ["init", str(tmp_path), "--service", "orders-api", "--ci", "none", "--no-build"]
    )
    assert result.exit_code == 0, result.output
    folder = tmp_path / "specs"
    modeline = "# yaml-language-server: $schema=spec-v1.schema.json\n"
    initialised = (folder / "orders-api.yaml").read_text()
    assert initialised.startswith(modeline) and "        for: 2m\n" in initialised
    edited = initialised.replace("        for: 2m\n", "        for: 2 minutes\n")
    minimal = modeline + MODELINE.sub("", MINIMAL.read_text())
    # a key the schema does not know, flagged whatever the patterns: the schema is loaded
    documents = {
        "edited.yaml": edited,
        "initialised.yaml": initialised,
        "sentinel.yaml": minimal + "unknownKey: 1\n",
    }
    for path in VALID_SPECS:  # whole, real specs: the editor must find nothing wrong
        documents[f"valid-{path.name}"] = modeline + MODELINE.sub("", path.read_text())
    server_js = modules / "yaml-language-server" / "bin" / "yaml-language-server"
    server = LanguageServer(
        [node_binary(), str(server_js), "--stdio"], folder, tmp_path / "server.log", deadline=60
    )
    try:
        server.request(
            "initialize",
            {
                "processId": os.getpid(),
                "rootUri": folder.as_uri(),
                "workspaceFolders": [{"uri": folder.as_uri(), "name": "specs"}],
                "capabilities": {
                    "workspace": {"configuration": True},
                    "textDocument": {
                        "hover": {"contentFormat": ["markdown", "plaintext"]},
                        "completion": {"completionItem": {"documentationFormat": ["markdown"]}},
                        "publishDiagnostics": {},
                    },
                },
            },
        )
        server.notify("initialized", {})
        server.notify("workspace/didChangeConfiguration", {"settings": _SETTINGS})
        uris = {}
        for name, text in documents.items():
            (folder / name).write_text(text)
            uris[name] = (folder / name).as_uri()
            document = {"uri": uris[name], "languageId": "yaml", "version": 1, "text": text}
            server.notify("textDocument/didOpen", {"textDocument": document})
        # every document validated, and with the schema (the sentinel says it is loaded)
        server.wait_for(lambda: server.diagnostics.get(uris["sentinel.yaml"]), "diagnostics")
        server.wait_for(lambda: all(u in server.diagnostics for u in uris.values()), "diagnostics")
        del uris["sentinel.yaml"]

        flagged = server.diagnostics[uris["edited.yaml"]]
        at = _position(edited, "for: 2 minutes", "for: ")
        assert [(d["range"]["start"], "pattern" in d["message"]) for d in flagged] == [(at, True)]
        assert {n: server.diagnostics[u] for n, u in uris.items() if n != "edited.yaml"} == {
            n: [] for n in uris if n != "edited.yaml"
        }

        where = {"textDocument": {"uri": uris["edited.yaml"]}}
        completion = server.request(
            "textDocument/completion",
            {**where, "position": _position(edited, "type: timeseries", "type: ")},
        )
        items = completion["items"] if isinstance(completion, dict) else completion
        offered = {item["label"] for item in items}
        assert {"timeseries", "stat", "heatmap", "bargauge", "gauge", "table", "text"} <= offered

        hover = server.request(
            "textDocument/hover", {**where, "position": _position(edited, "levels:", "lev")}
        )
        shown = hover["contents"]["value"].replace("\\", "")
        described = published_schema()["$defs"]["metric"]["properties"]["levels"]["description"]
        assert described in shown
    finally:
        server.close()
