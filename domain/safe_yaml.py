"""Reading untrusted YAML (imported files, IID score files, portal uploads) safely.

``NoAliasLoader`` is a ``yaml.SafeLoader`` that refuses anchors (``&a``) and aliases
(``*a``, hence also ``<<`` merge keys) while the document is *composed*, before anything
is constructed or validated: a "billion laughs" file of nested aliases is refused at its
first anchor instead of expanding to gigabytes. It also bounds the nesting depth (deep
``[[[[...`` would otherwise exhaust the stack). ``read_bounded`` refuses a file larger
than a limit before reading it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from yaml.composer import ComposerError
from yaml.events import AliasEvent, CollectionStartEvent, NodeEvent

from domain.enums import Language
from domain.errors import ValidationError
from domain.messages import words

MAX_FILE_BYTES = 5 * 1024 * 1024
"""Default size limit of an imported file (5 MiB: thousands of records)."""

MAX_DEPTH = 64
"""Deepest nesting of lists and mappings accepted."""


class NoAliasLoader(yaml.SafeLoader):
    """SafeLoader without anchors or aliases, with a bounded nesting depth."""

    _depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        event: Any = self.peek_event()
        mark: Any = event.start_mark
        if isinstance(event, AliasEvent):
            raise ComposerError(None, None, f"aliases (*{event.anchor}) are not allowed", mark)
        if isinstance(event, NodeEvent) and event.anchor is not None:
            raise ComposerError(None, None, f"anchors (&{event.anchor}) are not allowed", mark)
        collection = isinstance(event, CollectionStartEvent)
        if collection:
            self._depth += 1
            if self._depth > MAX_DEPTH:
                raise ComposerError(None, None, f"nested deeper than {MAX_DEPTH} levels", mark)
        try:
            return super().compose_node(parent, index)
        finally:
            if collection:
                self._depth -= 1


def yaml_problem(name: str, exc: yaml.YAMLError) -> ValidationError:
    """A ``ValidationError`` naming the file, line and column of a YAML error."""
    mark = getattr(exc, "problem_mark", None)
    where = _where(mark.line + 1, mark.column + 1) if mark else ""
    problem = getattr(exc, "problem", None) or str(exc)
    return ValidationError(
        code="file.malformed", file=name, where=where, kind="YAML", problem=problem
    )


def _where(line: int, column: int) -> dict[Language, str]:
    return words(f"baris {line}, kolom {column}: ", f"line {line}, column {column}: ")


def load_yaml(text: str, name: str) -> Any:
    """The document in ``text`` (no anchors, aliases or deep nesting)."""
    try:
        loader = NoAliasLoader(text)  # its reader refuses unprintable characters at once
    except yaml.YAMLError as exc:
        raise yaml_problem(name, exc) from exc
    try:
        return loader.get_single_data()
    except yaml.YAMLError as exc:
        raise yaml_problem(name, exc) from exc
    finally:
        loader.dispose()


def check_depth(data: Any, name: str, limit: int = MAX_DEPTH) -> Any:
    """``data`` itself; refused when its lists and mappings nest deeper than ``limit``."""
    stack: list[tuple[Any, int]] = [(data, 0)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list):
            if depth >= limit:
                raise ValidationError(code="file.too_deep", file=name, limit=limit)
            children = value.values() if isinstance(value, dict) else value
            stack.extend((child, depth + 1) for child in children)
    return data


def load_json(text: str, name: str) -> Any:
    """The JSON document in ``text``; malformed or too deeply nested text is refused."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationError(
            code="file.malformed",
            file=name,
            where=_where(exc.lineno, exc.colno),
            kind="JSON",
            problem=exc.msg,
        ) from exc
    except RecursionError as exc:
        raise ValidationError(code="file.too_deep", file=name, limit=MAX_DEPTH) from exc
    return check_depth(data, name)


def read_bounded(path: Path, max_bytes: int = MAX_FILE_BYTES, encoding: str = "utf-8") -> str:
    """The text of ``path``; refused when larger than ``max_bytes`` or not ``encoding``."""
    if not path.is_file():
        raise ValidationError(code="file.missing", file=str(path))
    size = path.stat().st_size
    if size > max_bytes:
        raise ValidationError(code="file.too_large", file=path.name, size=size, limit=max_bytes)
    with path.open("rb") as handle:
        data = handle.read(max_bytes + 1)
    if len(data) > max_bytes:  # grew while we looked
        raise ValidationError(code="file.grew", file=path.name, limit=max_bytes)
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise ValidationError(code="file.not_utf8", file=path.name, byte=exc.start) from exc
