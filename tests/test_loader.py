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
        "(hint: YAML would silently keep only the last value: remove one of them) "
        "[yaml/duplicate-key]"
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
        '"> 200ms") [yaml/syntax]'
    ]


def test_empty_and_multi_document_files() -> None:
    assert errors_of("") == ["spec.yaml:1:1: /: the spec is empty [file/unreadable]"]
    assert errors_of("a: 1\n---\nb: 2\n") == [
        "spec.yaml:3:1: /: a spec file holds one YAML document; found a second one "
        "(hint: put each service in its own file) [yaml/unsupported]"
    ]


def test_deep_nesting_is_refused_not_recursed() -> None:
    deep = "a: " + "[" * (MAX_DEPTH + 10) + "]" * (MAX_DEPTH + 10) + "\n"
    assert any(f"nesting deeper than {MAX_DEPTH} levels" in e for e in errors_of(deep))


def test_non_utf8_and_missing_files(tmp_path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_bytes(b"a: 1\nb: \xff\n")
    with pytest.raises(SpecLoadError) as caught:
        load_file(bad, "bad.yaml")
    assert caught.value.diagnostics[0].format() == (
        "bad.yaml:2:1: /: the file is not valid UTF-8 [file/unreadable]"
    )
    with pytest.raises(SpecLoadError) as caught:
        load_file(tmp_path / "missing.yaml", "missing.yaml")
    assert "cannot read" in caught.value.diagnostics[0].message


def alias_bomb(levels: int = 10, width: int = 9) -> str:
    """The "billion laughs": each level aliases the previous one `width` times."""
    lines = ["a0: &a0 [" + ",".join(["lol"] * width) + "]"]
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * width) + "]")
    return "\n".join(lines) + "\n"


def test_an_alias_bomb_is_refused_quickly_and_located() -> None:
    bomb = alias_bomb()
    assert len(bomb) < 600  # 9**10 values once expanded
    errors = errors_of(bomb)
    assert len(errors) == 1
    assert errors[0].startswith("spec.yaml:1:10: /a5/")
    assert errors[0].endswith(
        "YAML aliases expand this document past 100,000 more values than its text holds "
        "(an alias bomb?) (hint: write the repeated parts out, or alias them less deeply) "
        "[yaml/unsupported]"
    )


def test_aliases_a_spec_really_uses_are_fine() -> None:
    shared = "labels: &l {team: payments, tier: one}\n" + "".join(
        f"m{i}: {{labels: *l}}\n" for i in range(2000)
    )
    assert load_text(shared, "spec.yaml").data["m1999"] == {
        "labels": {"team": "payments", "tier": "one"}
    }


@pytest.mark.parametrize("kind", ["fifo", "device", "directory"])
def test_only_regular_files_are_read(tmp_path, kind: str) -> None:
    import os
    from pathlib import Path

    if kind == "fifo":
        path = tmp_path / "spec.yaml"
        os.mkfifo(path)  # reading it would block forever: nobody writes
    elif kind == "device":
        path = Path("/dev/zero")  # reading it would never end
    else:
        path = tmp_path / "dir.yaml"
        path.mkdir()
    with pytest.raises(SpecLoadError) as caught:
        load_file(path, "spec.yaml")
    what = "a directory" if kind == "directory" else "not a regular file"
    assert [d.format() for d in caught.value.diagnostics] == [
        f"spec.yaml:1:1: /: cannot read: {what} (hint: give a .yaml file) [file/unreadable]"
    ]


def test_a_spec_larger_than_the_limit_is_refused(tmp_path, monkeypatch) -> None:
    from rlmgen.spec import loader

    monkeypatch.setattr(loader, "MAX_BYTES", 1024 * 1024)
    big = tmp_path / "big.yaml"
    big.write_text("a: " + "x" * (1024 * 1024) + "\n")
    with pytest.raises(SpecLoadError) as caught:
        load_file(big, "big.yaml")
    assert caught.value.diagnostics[0].format() == (
        "big.yaml:1:1: /: the spec is larger than 1 MiB "
        "(hint: split the service into several specs) [file/unreadable]"
    )
    with pytest.raises(SpecLoadError):  # diff --git reads text: the same limit
        load_text(big.read_text(), "big.yaml")


def test_merge_keys_of_merge_keys_are_resolved_once() -> None:
    # each level merges the previous one twice: 2**24 merges if resolved at every use
    lines = ["m0: &m0 {a: 1}"] + [
        f"m{i}: &m{i} {{<<: [*m{i - 1}, *m{i - 1}], x{i}: 1}}" for i in range(1, 25)
    ]
    spec = load_text("\n".join(lines) + "\n", "spec.yaml")
    assert spec.data["m24"] == {"a": 1, **{f"x{i}": 1 for i in range(1, 25)}}


def test_a_value_quoted_over_lines_on_purpose_is_not_blamed_for_a_later_error() -> None:
    text = 'a:\n  b: "one\n    two"\n  c: 1\n d: 2\n'  # d is mis-indented, nothing to do with b
    with pytest.raises(SpecLoadError) as caught:
        load_text(text, "x.yaml")
    [diagnostic] = caught.value.diagnostics
    assert "not closed" not in diagnostic.message
    assert (diagnostic.line, diagnostic.col) != (2, 6)
