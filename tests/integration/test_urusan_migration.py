"""Migration 0002 maps stored urusan to canonical names, or refuses and lists them."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from domain.models import Innovation
from kinanti.db import make_engine, upgrade
from tests.support.factories import Factory

UU = "Ketenteraman, Ketertiban Umum, dan Pelindungan Masyarakat"


def test_existing_urusan_are_mapped_or_the_upgrade_is_refused_listing_them(
    empty_database_url: str,
) -> None:
    upgrade(empty_database_url, "0001")
    engine = make_engine(empty_database_url)
    try:
        with Session(engine) as session:
            make = Factory(session)
            unit = make.unit()
            a = make.innovation(unit, code="MIG-A")
            b = make.innovation(unit, code="MIG-B")
            # Values as an older Kinanti stored them (free text, before validation).
            session.execute(
                update(Innovation)
                .where(Innovation.id == a.id)
                .values(urusan_main="Trantibum Linmas", urusan_other=["kominfo", "Pekerjaan Umum"])
            )
            session.execute(
                update(Innovation)
                .where(Innovation.id == b.id)
                .values(urusan_main="Kesehtan", urusan_other=["Keuangan", "Sosial"])
            )
            session.commit()
        with pytest.raises(Exception) as caught:
            upgrade(empty_database_url)
        message = str(caught.value)
        assert "2 urusan value(s) name no government affair" in message
        assert "MIG-B: 'Kesehtan' (nearest: Kesehatan" in message
        assert "MIG-B: 'Keuangan'" in message
        with Session(engine) as session:
            kept = session.scalars(select(Innovation).where(Innovation.code == "MIG-A")).one()
            assert kept.urusan_main == "Trantibum Linmas"  # nothing was changed
            session.execute(
                update(Innovation)
                .where(Innovation.code == "MIG-B")
                .values(urusan_main="kesehatan", urusan_other=["Sosial"])
            )
            session.commit()
        upgrade(empty_database_url)
        with Session(engine) as session:
            rows = {
                i.code: (i.urusan_main, i.urusan_other)
                for i in session.scalars(select(Innovation).order_by(Innovation.code))
            }
        assert rows == {
            "MIG-A": (UU, ["Komunikasi dan Informatika", "Pekerjaan Umum dan Penataan Ruang"]),
            "MIG-B": ("Kesehatan", ["Sosial"]),
        }
    finally:
        engine.dispose()
