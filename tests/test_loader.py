from __future__ import annotations

import pytest

from rlmgen.spec.loader import MAX_DEPTH, SpecLoadError, load_file, load_text


def errors_of(text: str) -> list[str]:
    with pytest.raises(SpecLoadError) as caught:
        load_text(text, "spec.yaml")
    return [d.format() for d in caught.value.diagnostics]


def test_source_map_locates_values_and_keys() -> None:
    spec = load_text("a: 1\nb:\n  - x: hi\n    y: |\n      foo(bar)\n", "spec.yaml")
    assert spec.data == {"a": 1, "b": [{"x": "hi", "y": "foo(bar)\n"}]}
    assert spec.source_map.value("/b/0/x") == (3, 8)
    assert spec.source_map.key("/b/0/y") == (4, 5)
    # a pointer below a scalar falls back to its nearest located ancestor
    assert spec.source_map.value("/b/0/x/nothing") == (3, 8)


def test_position_inside_a_block_scalar() -> None:
    spec = load_text("q: |\n  sum(\n    count_unique(x))\n", "spec.yaml")
    assert spec.position_in_value("/q", "count_unique") == (3, 5)


def test_position_inside_a_quoted_scalar() -> None:
    spec = load_text('q: "rate(x[5m]) by (a)"\n', "spec.yaml")
    assert spec.position_in_value("/q", "by") == (1, 17)


def test_duplicate_keys_are_located_errors() -> None:
    assert errors_of("a: 1\nb: 2\na: 3\n") == [
        "spec.yaml:3:1: /a: duplicate key 'a' (first defined at line 1, column 1) "
        "(hint: YAML would silently keep only the last value: remove one of them)"
    ]


def test_every_duplicate_in_a_file_is_reported() -> None:
    assert len(errors_of("a: 1\na: 2\nb: {c: 1, c: 2}\n")) == 2


def test_custom_tags_are_refused() -> None:
    assert errors_of("a: !!python/object:os.system x\n")[0].startswith(
        "spec.yaml:1:4: /a: unsupported YAML tag 'tag:yaml.org,2002:python/object:os.system'"
    )


def test_merge_keys_apply_with_explicit_keys_winning() -> None:
    spec = load_text("base: &b {x: 1, y: 2}\nother: {<<: *b, y: 3}\n", "spec.yaml")
    assert spec.data["other"] == {"x": 1, "y": 3}


def test_dates_stay_text() -> None:
    assert load_text("d: 2026-11-30\n", "spec.yaml").data == {"d": "2026-11-30"}


def test_syntax_error_hints_at_quoting_a_level() -> None:
    assert errors_of("levels:\n  warning: > 200ms\n") == [
        "spec.yaml:2:12: /: YAML syntax error: while scanning a block scalar: did not find "
        "expected comment or line break (hint: a level such as > 200ms must be quoted: warning: "
        '"> 200ms")'
    ]


def test_empty_and_multi_document_files() -> None:
    assert errors_of("") == ["spec.yaml:1:1: /: the spec is empty"]
    assert errors_of("a: 1\n---\nb: 2\n") == [
        "spec.yaml:3:1: /: a spec file holds one YAML document; found a second one "
        "(hint: put each service in its own file)"
    ]


def test_deep_nesting_is_refused_not_recursed() -> None:
    deep = "a: " + "[" * (MAX_DEPTH + 10) + "]" * (MAX_DEPTH + 10) + "\n"
    assert any(f"nesting deeper than {MAX_DEPTH} levels" in e for e in errors_of(deep))


def test_non_utf8_and_missing_files(tmp_path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_bytes(b"a: 1\nb: \xff\n")
    with pytest.raises(SpecLoadError) as caught:
        load_file(bad, "bad.yaml")
    assert caught.value.diagnostics[0].format() == "bad.yaml:2:1: /: the file is not valid UTF-8"
    with pytest.raises(SpecLoadError) as caught:
        load_file(tmp_path / "missing.yaml", "missing.yaml")
    assert "cannot read" in caught.value.diagnostics[0].message
