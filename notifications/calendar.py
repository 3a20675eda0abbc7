"""A Klinik Kinanti consultation as an iCalendar object (RFC 5545), attached to its emails.

``METHOD:PUBLISH`` with a stable ``UID`` per consultation and its ``SEQUENCE``: a calendar
replaces the event when it is moved and marks it cancelled when it is cancelled.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from notifications.contexts import ConsultationBookedContext


def _escape(text: str) -> str:
    return (
        text.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
    )


def _fold(line: str) -> str:
    """Lines of at most 75 octets, continued with a leading space (never splitting UTF-8)."""
    out: list[str] = []
    current = ""
    for char in line:
        limit = 75 if not out else 74
        if len((current + char).encode()) > limit:
            out.append(current)
            current = char
        else:
            current += char
    out.append(current)
    return "\r\n ".join(out)


def _stamp(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")


def consultation_invitation(c: ConsultationBookedContext, now: dt.datetime | None = None) -> bytes:
    """The consultation's VCALENDAR (UTF-8, CRLF line ends)."""
    start = c.scheduled_at
    end = start + dt.timedelta(minutes=c.duration_minutes)
    cancelled = c.change == "cancelled"
    summary = f"Klinik Kinanti: {c.topic}"
    description = " - ".join(
        part for part in (c.unit_name, c.innovation_code, c.innovation_title) if part
    )
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Kinanti//Klinik Kinanti//ID",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        "BEGIN:VEVENT",
        f"UID:kinanti-consultation-{c.consultation_id}@kinanti",
        f"SEQUENCE:{c.sequence}",
        f"DTSTAMP:{_stamp(now or dt.datetime.now(dt.UTC))}",
        f"DTSTART:{_stamp(start)}",
        f"DTEND:{_stamp(end)}",
        f"SUMMARY:{_escape(summary)}",
        f"DESCRIPTION:{_escape(description)}",
    ]
    if c.place:
        lines.append(f"LOCATION:{_escape(c.place)}")
    lines += [
        f"STATUS:{'CANCELLED' if cancelled else 'CONFIRMED'}",
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    return ("\r\n".join(_fold(line) for line in lines) + "\r\n").encode()
