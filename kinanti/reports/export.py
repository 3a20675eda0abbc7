"""CSV and XLSX export: one row per innovation, national profile fields and indicator levels."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.utils import get_column_letter

from domain.iid.catalogue import Catalogue
from domain.reports import PROFILE_COLUMNS


def columns(catalogue: Catalogue) -> list[str]:
    levels = [f"{i.code}_{basis}" for i in catalogue.sid for basis in ("claimed", "verified")]
    return [*PROFILE_COLUMNS, *levels]


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "ya" if value else "tidak"
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def write_csv(path: Path, catalogue: Catalogue, rows: Sequence[dict[str, Any]]) -> Path:
    names = columns(catalogue)
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(names)
        for row in rows:
            writer.writerow([_text(row.get(n)) for n in names])
    return path


def _cell(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    return value


def write_xlsx(path: Path, catalogue: Catalogue, rows: Sequence[dict[str, Any]]) -> Path:
    names = columns(catalogue)
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = f"Inovasi {catalogue.year}"
    sheet.append(names)
    for row in rows:
        sheet.append([_cell(row.get(n)) for n in names])
    sheet.freeze_panes = "C2"
    for i, name in enumerate(names, start=1):
        sheet.column_dimensions[get_column_letter(i)].width = max(10, min(40, len(name) + 2))
    book.save(path)
    return path
