"""Reading untrusted YAML (imported files, IID score files, portal uploads) safely.

``NoAliasLoader`` is a ``yaml.SafeLoader`` that refuses anchors (``&a``) and aliases
(``*a``, hence also ``<<`` merge keys) while the document is *composed*, before anything
is constructed or validated: a "billion laughs" file of nested aliases is refused at its
first anchor instead of expanding to gigabytes. It also bounds the nesting depth (deep
``[[[[...`` would otherwise exhaust the stack). ``read_bounded`` refuses a file larger
than a limit before reading it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from yaml.composer import ComposerError
from yaml.events import AliasEvent, CollectionStartEvent, NodeEvent

from domain.errors import ValidationError

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
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
    problem = getattr(exc, "problem", None) or str(exc)
    return ValidationError(f"{name}: {where}malformed YAML: {problem}")


def load_yaml(text: str, name: str) -> Any:
    """The document in ``text`` (no anchors, aliases or deep nesting)."""
    loader = NoAliasLoader(text)
    try:
        return loader.get_single_data()
    except yaml.YAMLError as exc:
        raise yaml_problem(name, exc) from exc
    finally:
        loader.dispose()


def read_bounded(path: Path, max_bytes: int = MAX_FILE_BYTES, encoding: str = "utf-8") -> str:
    """The text of ``path``; refused when larger than ``max_bytes`` or not ``encoding``."""
    if not path.is_file():
        raise ValidationError(f"{path}: no such file")
    size = path.stat().st_size
    if size > max_bytes:
        raise ValidationError(
            f"{path.name}: file is {size:,} bytes; at most {max_bytes:,} bytes accepted"
        )
    with path.open("rb") as handle:
        data = handle.read(max_bytes + 1)
    if len(data) > max_bytes:  # grew while we looked
        raise ValidationError(f"{path.name}: file is larger than {max_bytes:,} bytes")
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise ValidationError(
            f"{path.name}: not UTF-8 text (byte {exc.start}); save the file as UTF-8"
        ) from exc
