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


def _sandbox_class() -> Any:
    from jinja2.sandbox import SandboxedEnvironment

    class Sandbox(SandboxedEnvironment):
        """Jinja's sandbox, with its verdict on an attribute kept per type and name (its
        policy reads nothing else), data that is not callable read without asking whether
        it is a string's format method, and a dict's items read without first failing to
        find an attribute of that name: a large runbook reads millions of attributes, and
        those checks were a third of its rendering."""

        def __init__(self, **options: Any) -> None:
            super().__init__(**options)
            self._verdicts: dict[tuple[type, str], bool] = {}

        def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
            key = (type(obj), attr)
            verdict = self._verdicts.get(key)
            if verdict is None:
                verdict = self._verdicts[key] = super().is_safe_attribute(obj, attr, value)
            return verdict

        def getattr(self, obj: Any, attribute: str) -> Any:
            # a plain dict has no attribute of that name: its item, as Jinja looks next
            if type(obj) is dict and attribute in obj and attribute not in _DICT_ATTRIBUTES:
                return obj[attribute]
            try:
                value = getattr(obj, attribute)
            except AttributeError:
                try:
                    return obj[attribute]
                except (TypeError, LookupError):
                    return self.undefined(obj=obj, name=attribute)
            if callable(value):  # a method: the sandbox's own checks (str.format is wrapped)
                return super().getattr(obj, attribute)
            verdict = self._verdicts.get((type(obj), attribute))  # is_safe_attribute, inline
            if verdict or (verdict is None and self.is_safe_attribute(obj, attribute, value)):
                return value
            return self.unsafe_undefined(obj, attribute)

    return Sandbox


_DICT_ATTRIBUTES = frozenset(dir(dict))


# Where the templates compiled ahead live (rlmgen.output.precompile writes them).
COMPILED_PACKAGE = "rlmgen.output.compiled"


def module_name(template: str) -> str:
    """The module of a template compiled ahead: `runbook.md.j2` -> `runbook_md_j2`."""
    return template.replace(".", "_").replace("-", "_")


def source_digest(source: str) -> str:
    import hashlib

    return hashlib.sha256(source.encode("utf-8")).hexdigest()


def _loader_class() -> Any:
    import importlib

    import jinja2

    class ShippedFirst(jinja2.FileSystemLoader):
        """Templates from the directory; one whose source rlmgen ships compiled for this
        Jinja version is made from that module (no parsing, no compiling), any other as
        Jinja makes it, through the build cache's compiled templates."""

        def __init__(self, directory: str) -> None:
            super().__init__(directory)
            self._cache_set = False

        def load(self, environment: Any, name: str, globals: Any = None) -> jinja2.Template:
            source, filename, _ = self.get_source(environment, name)
            module = _shipped(name)
            # a module's functions read the one environment it was loaded into
            if (
                module is not None
                and source_digest(source) == module.SOURCE_SHA256
                and module.__dict__.get("environment", environment) is environment
            ):
                template = environment.template_class.from_module_dict(
                    environment, module.__dict__, globals
                )
                template.filename = filename  # tracebacks name the template, not the module
                return template
            if not self._cache_set:  # only a template compiled here needs the cache
                self._cache_set = True
                environment.bytecode_cache = _bytecode_cache()
            return super().load(environment, name, globals)

    def _shipped(name: str) -> Any:
        try:
            module = importlib.import_module(f"{COMPILED_PACKAGE}.{module_name(name)}")
        except ImportError:
            return None
        return module if jinja2.__version__ == module.JINJA_VERSION else None

    return ShippedFirst


@functools.cache
def environment() -> Any:
    from jinja2 import StrictUndefined

    env = _sandbox_class()(
        loader=_loader_class()(template_directory()),
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
