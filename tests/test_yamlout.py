"""The fast YAML emitter writes exactly what libyaml writes, and really is the path
taken for the files rlmgen generates."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from rlmgen.derive.rules import derive_rules
from rlmgen.emit import emit_all
from rlmgen.output import yamlout
from tests.conftest import seed_model

# Strings that sit on libyaml's and the resolver's decision boundaries.
TRICKY = [
    "",
    " ",
    "a",
    " a",
    "a ",
    "-",
    "- a",
    "-a",
    "--",
    "---",
    "--- a",
    "...",
    "..a",
    "?",
    "? a",
    "?a",
    ":",
    ": a",
    ":a",
    "a:",
    "a:b",
    "a: b",
    "a:: b",
    "#",
    "a#b",
    "a #b",
    "#a",
    ",a",
    "a,b",
    "[a]",
    "a[0]",
    "{a}",
    "&a",
    "*a",
    "!a",
    "|",
    ">",
    "'",
    "a'b",
    '"',
    'a"b',
    "%a",
    "@a",
    "`a",
    "true",
    "True",
    "TRUE",
    "yes",
    "No",
    "on",
    "OFF",
    "y",
    "null",
    "Null",
    "~",
    "0",
    "1",
    "-1",
    "+1",
    "0x1F",
    "0o17",
    "1_000",
    "1.5",
    ".5",
    "1e3",
    "1.0e+3",
    ".inf",
    "-.Inf",
    ".NaN",
    "2026-11-30",
    "2026-11-30 10:00:00",
    "1:30",
    "=",
    "<<",
    "a\tb",
    "\t",
    "a\rb",
    "a\x85b",
    "a\u2028b",
    "naïve",
    "≥ 5",
    "—",
    "\ufeff",
    "\u00a0a",
    "a\u00a0",
    "🔥",
    "\x00",
    "\x7f",
    "a\nb",
    "a\nb\n",
    "a\n",
    "\na",
    "a\n\nb",
    "a\n\n",
    " a\nb",
    "a \nb",
    "a\n b",
    "a\n\n\n",
    "\n",
    "a\u2028\nb",
    "naïve\ntext",
    'up{job="x"}',
    "sum by (le) (rate(x[5m]))",
    "{{ $value | humanize }}",
    "0+1x30",
    "x" * 130,
]

texts = st.one_of(
    st.sampled_from(TRICKY),
    st.text(max_size=12),
    st.text(alphabet=st.sampled_from(list(" \n-:#'\"ab?{}[]&*!|>%@`,.\t")), max_size=10),
)
scalars = st.one_of(
    texts,
    st.none(),
    st.booleans(),
    st.integers(-(10**20), 10**20),
    st.floats(allow_nan=True, allow_infinity=True),
)
documents = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(texts, children, max_size=4),
    ),
    max_leaves=25,
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(documents)
def test_fast_path_writes_exactly_what_libyaml_writes(data: Any) -> None:
    assume(_same_as_libyaml(data))  # only what the fast path writes proves anything


def _same_as_libyaml(data: Any) -> bool:
    """Whether the fast path wrote `data` (when it gives up, dump() is libyaml itself);
    fails with both texts when it wrote something else. Not a bare `==` assert, whose
    explanation pytest would build even on success (enable_assertion_pass_hook)."""
    try:
        fast = yamlout._Emitter().document(data)
    except yamlout._Unsupported:
        return False
    reference = yamlout._libyaml_dump(data)
    if fast != reference:
        pytest.fail(f"fast path:\n{fast}\nlibyaml:\n{reference}")
    return True


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(texts, documents, max_size=3),
    st.sampled_from(["tests", "groups", "a: b", "x" * 130]),
    st.lists(documents, max_size=5),
)
def test_a_listing_is_the_document_written_whole(
    head: dict[str, Any], key: str, items: list[Any]
) -> None:
    """dump_listing writes items one at a time (a fallback to libyaml for one item only)
    and must give the same bytes as dumping the whole document."""
    head.pop(key, None)
    listed = yamlout.dump_listing(head, key, iter(items))
    if not items:
        assert listed is None
        return
    whole = yamlout.dump({**head, key: items})
    if listed != whole:
        pytest.fail(f"listing:\n{listed}\nwhole:\n{whole}")


@settings(max_examples=200, deadline=None)
@given(st.lists(documents, min_size=1, max_size=6), st.data())
def test_the_parts_of_a_listing_make_each_subsets_document(
    items: list[Any], data: st.DataObject
) -> None:
    """The rules emitter writes each group once and lists the same texts in several
    files: any subset of the parts, after the first line, is that subset's document."""
    heading, parts = yamlout.listing_parts("groups", items)
    assert len(parts) == len(items)
    chosen = data.draw(st.lists(st.sampled_from(range(len(items))), min_size=1, unique=True))
    chosen.sort()
    joined = heading + "".join(parts[i] for i in chosen)
    whole = yamlout.dump({"groups": [items[i] for i in chosen]})
    if joined != whole:
        pytest.fail(f"parts:\n{joined}\nwhole:\n{whole}")


def test_each_tricky_string_in_each_position() -> None:
    written = 0
    for text in TRICKY:
        for data in (
            {"k": text},
            {text: 1},
            [text, {"k": [text]}],
            {"a": {"b": [{"c": text, "d": [[text]]}]}},
            [{"x": {text: text}}],
        ):
            written += _same_as_libyaml(data)
    assert written >= 0.7 * 5 * len(TRICKY)  # most of them take the fast path


def test_generated_files_never_fall_back_to_libyaml(monkeypatch: pytest.MonkeyPatch) -> None:
    fallbacks: list[Exception] = []

    def recording(method: Any) -> Any:
        def recorded(self: yamlout._Emitter, data: Any) -> str:
            try:
                return method(self, data)
            except yamlout._Unsupported as error:
                fallbacks.append(error)
                raise

        return recorded

    for name in ("document", "item"):
        monkeypatch.setattr(yamlout._Emitter, name, recording(getattr(yamlout._Emitter, name)))
    model = seed_model()
    written = emit_all(model, derive_rules(model))
    assert sum(path.endswith(".yaml") for path in written) >= 5
    assert fallbacks == []


def _promtool_test_models() -> list[Any]:
    """The seed, every valid case and a synthetic spec (levels in every unit, bands,
    limits): the level tests of kinds a team writes."""
    import sys

    from tests.conftest import REPO, model_of

    sys.path.insert(0, str(REPO / "benchmarks"))
    import synth

    texts = [path.read_text() for path in sorted((REPO / "tests/cases/valid").glob("*.yaml"))]
    return [seed_model(), *(model_of(text) for text in texts), model_of(synth.text(60))]


def test_level_tests_written_by_hand_are_the_emitted_document() -> None:
    """promtool_tests writes its level groups as text by hand; the file must be, byte for
    byte, the listing of every group's data through the emitter."""
    from rlmgen.emit import promtool_tests
    from rlmgen.model.conventions import RULES_PATH, TESTS_PATH

    written = 0
    for model in _promtool_test_models():
        rules = derive_rules(model)
        head = {
            "rule_files": [RULES_PATH.rsplit("/", 1)[1]],
            "evaluation_interval": promtool_tests.format_duration(
                model.service.evaluation_interval
            ),
        }
        groups = promtool_tests.test_groups(model, rules)
        reference = yamlout.dump_listing(head, "tests", (group.body for group in groups))
        emitted = promtool_tests.emit(model, rules).get(TESTS_PATH)
        if emitted != reference:
            pytest.fail(f"by hand:\n{emitted}\nemitter:\n{reference}")
        written += sum(group.kind == "level" for group in groups)
    assert written > 100


def test_a_level_group_by_hand_with_tricky_text() -> None:
    """Each tricky string as an annotation, a label value and (a line of) a multi-line
    annotation: the hand-written group is the emitter's text, or the data when the text
    needs libyaml (which the emitter then hands it to)."""
    import dataclasses

    from rlmgen.derive.scenarios import scenario
    from rlmgen.emit import promtool_tests

    model = seed_model()
    rule = next(r for r in derive_rules(model).alerts if r.origin == "levels")
    by_hand = 0
    for text in [*TRICKY, "two\nlines", "  indented\nblock", "trailing\n\n", "tab\there"]:
        tricky = dataclasses.replace(
            rule,
            annotations={"summary": text, "description": f"x\n{text}"},
            labels={**rule.labels, "extra": text},
        )
        case = scenario(tricky, (tricky,), model.service.evaluation_interval)
        written = promtool_tests._level_text(yamlout.Scalars(), text or "-", case)
        data = {"name": text or "-", **promtool_tests._scenario_test(case)}
        if isinstance(written, dict):
            assert written == data
            continue
        by_hand += 1
        reference = yamlout._Emitter().item(data)
        if written != reference:
            pytest.fail(f"by hand:\n{written}\nemitter:\n{reference}")
    assert by_hand >= 0.7 * len(TRICKY)


def test_the_printable_classes_are_libyamls_character_for_character() -> None:
    """The two classes are written as what they exclude (cheaper to compile): over every
    code point they match exactly YAML's printable set (x20-x7e, xa0-xd7ff, xe000-xfffd
    without the BOM) less every line break but, for block text, \\n."""
    printable = r"\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd"
    every = "".join(map(chr, range(0x110000)))
    for pattern, expected in (
        (yamlout._LIBYAML_LINE, f"[{printable}]"),
        (yamlout._BLOCK_TEXT, f"[\\n{printable}]"),
    ):
        one = pattern.pattern.removesuffix("*")
        assert re.findall(one, every) == re.findall(expected, every)
