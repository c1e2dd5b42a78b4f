"""The one YAML serialiser of generated files: key order as built, block scalars for
multi-line text, no aliases, no line folding. Same data, same bytes.

libyaml's emitter when PyYAML has it (several times faster on large outputs); the
pure-Python one otherwise, in the same default style (list items flush with their key)."""

from __future__ import annotations

from typing import Any

import yaml

try:
    _Base: type = yaml.CSafeDumper
except AttributeError:  # pragma: no cover - PyYAML built without libyaml
    _Base = yaml.SafeDumper


class _Dumper(_Base):  # type: ignore[misc,valid-type]
    def ignore_aliases(self, data: Any) -> bool:
        return True


def _represent_str(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    if "\n" in text.strip("\n"):
        block = text if text.endswith("\n") else text + "\n"
        if not any(line != line.rstrip() for line in block.splitlines()):
            return dumper.represent_scalar("tag:yaml.org,2002:str", block, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", text)


_Dumper.add_representer(str, _represent_str)


def dump(data: Any) -> str:
    return yaml.dump(
        data,
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        width=10**6,
        default_flow_style=False,
    )
