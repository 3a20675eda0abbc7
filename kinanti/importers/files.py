"""Reading import files: YAML, JSON or CSV, into raw records (nothing validated yet).

Accepted shapes (chosen by the file's extension):

- ``.yaml`` / ``.yml`` / ``.json``: a list of records, a mapping with the top-level key
  (``units:``, ``people:``, ``innovations:``) holding that list, or a single record;
- ``.csv``: a header row with the field names; list fields (``roles``, ``urusan_other``) are
  separated by ``;``, ``|`` or ``,``; empty cells mean "not given".

A file is at most ``MAX_FILE_BYTES``; YAML may not use anchors or aliases
(``domain.safe_yaml``).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

from domain.errors import NotFoundError, ValidationError
from domain.messages import words
from domain.safe_yaml import MAX_FILE_BYTES, NoAliasLoader, load_json, read_bounded, yaml_problem

RecordKind = Literal["units", "people", "innovations"]

#: The field that names a record in messages, per kind.
IDENTITY: dict[str, str] = {"units": "code", "people": "email", "innovations": "code"}

#: Fields holding a list; in CSV cells they are separated by ``;``, ``|`` or ``,``.
LIST_FIELDS = frozenset({"roles", "urusan_other"})
_LIST_SEPARATORS = re.compile(r"[;|,]")


@dataclass(frozen=True)
class RawRecord:
    """One record as read from a file, before validation."""

    number: int  # 1-based position in the file
    line: int | None  # where the record starts, when the format tells
    data: Any


def read_records(
    path: Path, kind: RecordKind, *, max_bytes: int = MAX_FILE_BYTES
) -> list[RawRecord]:
    """Read the records of ``path`` (format by extension); raise ``ValidationError`` if
    the file is too large, malformed or holds no records. YAML anchors and aliases are
    refused while the file is composed, before any record is built or validated."""
    if not path.is_file():
        raise NotFoundError(code="file.not_found", file=str(path))
    suffix = path.suffix.lower()
    readers: dict[str, Callable[[str, str, RecordKind], list[RawRecord]]] = {
        ".yaml": _read_yaml,
        ".yml": _read_yaml,
        ".json": _read_json,
        ".csv": _read_csv,
    }
    reader = readers.get(suffix)
    if reader is None:
        raise ValidationError(
            code="import.type_unsupported",
            file=path.name,
            type=repr(suffix) if suffix else words("(tanpa)", "(none)"),
        )
    text = read_bounded(path, max_bytes, encoding="utf-8-sig")
    records = reader(text, path.name, kind)
    if not records:
        raise ValidationError(code="import.no_records", file=path.name, kind=kind)
    return records


def _read_yaml(text: str, name: str, kind: RecordKind) -> list[RawRecord]:
    try:
        loader = NoAliasLoader(text)  # its reader refuses unprintable characters at once
    except yaml.YAMLError as exc:
        raise yaml_problem(name, exc) from exc
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        raise yaml_problem(name, exc) from exc
    finally:
        loader.dispose()
    if data is None:
        return []
    items, item_nodes = _top_level(data, node, name, kind)
    lines: list[int | None] = [n.start_mark.line + 1 for n in item_nodes]
    lines += [None] * (len(items) - len(lines))
    return [
        RawRecord(i, line, item)
        for i, (item, line) in enumerate(zip(items, lines, strict=False), 1)
    ]


def _read_json(text: str, name: str, kind: RecordKind) -> list[RawRecord]:
    items, _ = _top_level(load_json(text, name), None, name, kind)
    return [RawRecord(i, None, item) for i, item in enumerate(items, 1)]


def _top_level(
    data: Any, node: yaml.Node | None, name: str, kind: RecordKind
) -> tuple[list[Any], list[yaml.Node]]:
    """The list of records (and their YAML nodes) out of a list, ``{kind: [...]}`` or one
    record."""
    if isinstance(data, list):
        nodes = list(node.value) if isinstance(node, yaml.SequenceNode) else []
        return data, nodes
    if isinstance(data, dict):
        if kind in data:
            items = data[kind]
            value_node = None
            if isinstance(node, yaml.MappingNode):
                value_node = next((v for k, v in node.value if k.value == kind), None)
            if not isinstance(items, list):
                raise ValidationError(code="import.not_a_list", file=name, kind=kind)
            nodes = list(value_node.value) if isinstance(value_node, yaml.SequenceNode) else []
            return items, nodes
        others = {"units", "people", "innovations"} & set(data)
        if others:
            raise ValidationError(
                code="import.wrong_kind", file=name, kind=kind, found=sorted(others)[0]
            )
        return [data], [node] if node is not None else []
    raise ValidationError(code="import.shape", file=name, kind=kind)


def _read_csv(text: str, name: str, kind: RecordKind) -> list[RawRecord]:
    reader = csv.DictReader(text.splitlines(keepends=True), strict=True)
    records: list[RawRecord] = []
    number = 0
    start = 1  # the line where the row being read begins
    try:
        if not reader.fieldnames:
            return []
        start = 2
        for row in reader:
            line = start
            start = reader.line_num + 1
            if not any((v or "").strip() for v in row.values() if isinstance(v, str)):
                continue
            number += 1
            data: dict[Any, Any] = {}
            for key, value in row.items():
                if key is None:
                    data[None] = value  # extra cells: reported by validation
                    continue
                key = key.strip()
                if value is None or not value.strip():
                    continue
                value = value.strip()
                if key in LIST_FIELDS:
                    data[key] = [v.strip() for v in _LIST_SEPARATORS.split(value) if v.strip()]
                else:
                    data[key] = value
            records.append(RawRecord(number, line, data))
    except csv.Error as exc:
        raise ValidationError(
            code="import.csv_malformed", file=name, line=start, detail=str(exc)
        ) from exc
    return records
