"""CSV and XLSX export: one row per innovation, national profile fields and indicator levels.

Each row says whether the innovation is ready for the national collection (``national_ready``)
and, when not, what blocks it (``blockers``), so that nothing not ready is sent silently.

Exports are opened in spreadsheets and sent on to the ministry, so no cell may run as a
formula (OWASP, CSV injection): every XLSX cell is written as a string or a number, never
a formula; in the CSV a value starting with ``=``, ``+``, ``-``, ``@``, tab or carriage
return is prefixed with a single quote.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.utils import get_column_letter

from domain.iid.catalogue import Catalogue
from domain.reports import PROFILE_COLUMNS

READINESS_COLUMNS = ("national_ready", "blockers")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def columns(catalogue: Catalogue) -> list[str]:
    levels = [f"{i.code}_{basis}" for i in catalogue.sid for basis in ("claimed", "verified")]
    return [*PROFILE_COLUMNS, *READINESS_COLUMNS, *levels]


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "ya" if value else "tidak"
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def neutralise(text: str) -> str:
    """A CSV cell that no spreadsheet runs as a formula (OWASP: prefix a single quote)."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def write_csv(path: Path, catalogue: Catalogue, rows: Sequence[dict[str, Any]]) -> Path:
    names = columns(catalogue)
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(names)
        for row in rows:
            writer.writerow([neutralise(_text(row.get(n))) for n in names])
    return path


def _cell(value: Any) -> Any:
    """A number stays a number; everything else becomes text (no formula, no control
    characters XLSX cannot hold)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return _text(value)
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, int | float | dt.date):
        return value  # numbers and dates (stored as numbers) as they are
    return ILLEGAL_CHARACTERS_RE.sub("", _text(value))


def write_xlsx(path: Path, catalogue: Catalogue, rows: Sequence[dict[str, Any]]) -> Path:
    names = columns(catalogue)
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = f"Inovasi {catalogue.year}" + (" (prognosis)" if catalogue.prognosis else "")
    sheet.append(names)
    for r, row in enumerate(rows, start=2):
        for c, name in enumerate(names, start=1):
            value = _cell(row.get(name))
            if value is None:
                continue
            cell = sheet.cell(row=r, column=c, value=value)
            if isinstance(value, str):
                cell.data_type = "s"  # openpyxl would make "=..." a formula cell
    sheet.freeze_panes = "C2"
    for i, name in enumerate(names, start=1):
        sheet.column_dimensions[get_column_letter(i)].width = max(10, min(40, len(name) + 2))
    book.save(path)
    return path
