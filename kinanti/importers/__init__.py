"""Import units, people and innovation proposals from YAML, JSON or CSV files.

A file is read (``files``: bounded size, YAML without anchors or aliases) and every record
validated (``validation``, with ``domain.schemas``) and cross-checked against the file and
the registry *before* anything is written; all problems of a file are reported at once,
each naming the file, the record number (1-based), the record's code or email and the
field. Then all records are written in the caller's transaction (``units``, ``people``,
``innovations``): a file imports completely or not at all. Re-importing a file is
idempotent (rows are updated, never duplicated).
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from domain.changes import SYSTEM_ACTOR
from kinanti.db import unit_of_work
from kinanti.importers.files import IDENTITY, LIST_FIELDS, RawRecord, RecordKind, read_records
from kinanti.importers.innovations import import_innovations
from kinanti.importers.people import import_people
from kinanti.importers.units import import_units
from kinanti.importers.validation import ImportReport, describe_error

__all__ = [
    "IDENTITY",
    "LIST_FIELDS",
    "ImportReport",
    "RawRecord",
    "RecordKind",
    "describe_error",
    "import_file",
    "import_innovations",
    "import_people",
    "import_units",
    "read_records",
    "write_records",
]


def import_file(
    kind: RecordKind,
    path: Path,
    *,
    engine: Engine | None = None,
    actor: str = SYSTEM_ACTOR,
    language: str | None = None,
) -> ImportReport:
    """Read, validate and write one file in one transaction (all records or none).
    Messages about urusan come in ``language`` (default: the installation's)."""
    records = read_records(path, kind)
    with unit_of_work(engine) as session:
        return write_records(session, kind, records, path.name, actor=actor, language=language)


def write_records(
    session: Session,
    kind: RecordKind,
    records: list[RawRecord],
    name: str,
    *,
    actor: str = SYSTEM_ACTOR,
    language: str | None = None,
) -> ImportReport:
    """Validate and write the records of file ``name`` in the caller's transaction."""
    if kind == "units":
        return import_units(session, records, name)
    if kind == "people":
        return import_people(session, records, name)
    return import_innovations(session, records, name, actor=actor, language=language)
