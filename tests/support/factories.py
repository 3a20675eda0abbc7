"""Factories for domain data: small, explicit, realistic (Kota Mataram)."""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy.orm import Session

from domain.enums import Bentuk, Initiator, Jenis, Role, UnitKind
from domain.models import Innovation, Person, PersonRole, Unit
from domain.schemas import InnovationIn
from domain.submission import submit_innovation

_seq = itertools.count(1)

DESIGN_300 = " ".join(
    ["Rancang bangun inovasi ini memperbaiki layanan dengan data dan teknologi."] * 40
)


class Factory:
    """Creates rows in the given session (flushes, never commits)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def unit(self, code: str | None = None, *, kind: UnitKind = UnitKind.OPD,
             parent: Unit | None = None, **kw: Any) -> Unit:  # fmt: skip
        n = next(_seq)
        code = code or f"UNIT{n}"
        unit = Unit(
            code=code,
            name=kw.pop("name", f"Dinas Contoh {n}"),
            kind=kind,
            parent_id=parent.id if parent else None,
            head_name=kw.pop("head_name", f"Kepala {code}"),
            head_email=kw.pop("head_email", f"kepala.{code.lower()}@mataramkota.go.id"),
            officer_name=kw.pop("officer_name", f"Operator {code}"),
            officer_email=kw.pop("officer_email", f"inovasi.{code.lower()}@mataramkota.go.id"),
            **kw,
        )
        self.session.add(unit)
        self.session.flush()
        return unit

    def person(self, email: str | None = None, *, roles: list[Role],
               unit: Unit | None = None, **kw: Any) -> Person:  # fmt: skip
        n = next(_seq)
        person = Person(
            email=email or f"orang{n}@mataramkota.go.id",
            name=kw.pop("name", f"Orang {n}"),
            unit_id=unit.id if unit else None,
            **kw,
        )
        person.roles = [PersonRole(role=r) for r in roles]
        self.session.add(person)
        self.session.flush()
        return person

    def innovation_in(self, unit: Unit, **kw: Any) -> InnovationIn:
        n = next(_seq)
        data: dict[str, Any] = {
            "code": f"INV-{n:04d}",
            "title": f"Inovasi Contoh {n}",
            "unit": unit.code,
            "year": 2026,
            "initiator": Initiator.OPD,
            "jenis": Jenis.DIGITAL,
            "bentuk": Bentuk.PELAYANAN_PUBLIK,
            "urusan_main": "Kesehatan",
            "tematik": "Digitalisasi Layanan Pemerintahan",
            "design": DESIGN_300,
            "goals": "Mempercepat layanan.",
            "benefits": "Warga terlayani lebih cepat.",
            "budget": Decimal("25000000"),
        }
        data.update(kw)
        return InnovationIn.model_validate(data)

    def innovation(self, unit: Unit | None = None, **kw: Any) -> Innovation:
        unit = unit or self.unit()
        innovation, _, _ = submit_innovation(
            self.session, self.innovation_in(unit, **kw), actor="test@mataramkota.go.id"
        )
        self.session.flush()
        return innovation


@pytest.fixture
def make(session: Session) -> Factory:
    return Factory(session)
