"""The Jinja2 environment of the human documents (the runbook, later the review report).

Sandboxed and strict: spec strings are data passed through explicit escaping filters,
never template code (an annotation's `{{ $value }}` stays as written)."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from rlmgen.lang.units import format_duration
from rlmgen.output import markdown as md
from rlmgen.output import template_directory


def _bytecode_cache() -> Any:
    """Compiled templates kept in the build cache (compiling the runbook's template is a
    sixth of a small build), per Jinja version; None when the cache is off."""
    import jinja2
    from jinja2.bccache import Bucket, FileSystemBytecodeCache

    from rlmgen import cache

    if not cache.enabled():
        return None

    class QuietCache(FileSystemBytecodeCache):
        """A cache that cannot be read or written is no error: templates compile."""

        def load_bytecode(self, bucket: Bucket) -> None:
            try:
                super().load_bytecode(bucket)
            except (OSError, EOFError, ValueError, TypeError):
                bucket.reset()

        def dump_bytecode(self, bucket: Bucket) -> None:
            try:
                Path(self.directory).mkdir(parents=True, exist_ok=True)
                super().dump_bytecode(bucket)
            except OSError:
                pass

    return QuietCache(str(cache.directory() / f"jinja-{jinja2.__version__}"))


@functools.cache
def environment() -> Any:
    from jinja2 import FileSystemLoader, StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    env = SandboxedEnvironment(
        loader=FileSystemLoader(template_directory()),
        bytecode_cache=_bytecode_cache(),
        undefined=StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        md=md.text,
        sentence=md.sentence,
        inline=md.inline,
        url=md.destination,
        as_written=md.as_written,
        heading=md.heading,
        cell=md.cell,
        code=md.code,
        tcode=functools.partial(md.code, in_table=True),
        fence=md.fence,
        duration=format_duration,
    )
    return env
