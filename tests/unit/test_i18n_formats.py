"""The reader's language in formats and recorded words: Rupiah amounts, the stage-history
reasons Kinanti records itself, and refusals of the access rules."""

from __future__ import annotations

from decimal import Decimal

import pytest

from domain.access import Action, Actor, UnitScope, require
from domain.enums import Language, Role
from domain.errors import KinantiError, message_of
from kinanti.i18n import history_reason, rupiah


@pytest.mark.parametrize(
    ("amount", "indonesian", "english"),
    [
        (Decimal("1250000"), "Rp 1.250.000", "Rp 1,250,000"),
        (Decimal("1250000.50"), "Rp 1.250.000,50", "Rp 1,250,000.50"),
        ("25000000.00", "Rp 25.000.000", "Rp 25,000,000"),
        (0, "Rp 0", "Rp 0"),
        (None, "-", "-"),
    ],
)
def test_rupiah_is_written_as_each_language_writes_it(
    amount: object, indonesian: str, english: str
) -> None:
    assert rupiah(amount, Language.ID) == indonesian  # type: ignore[arg-type]
    assert rupiah(amount, Language.EN) == english  # type: ignore[arg-type]


def test_history_reasons_kinanti_records_are_translated_and_peoples_are_kept() -> None:
    assert history_reason("submitted", Language.ID) == "diajukan"
    assert history_reason("approved", Language.ID) == "disetujui"
    assert history_reason("submitted", Language.EN) == "submitted"
    assert history_reason("Lengkapi data baseline", Language.EN) == "Lengkapi data baseline"
    assert history_reason(None, Language.ID) == "-"


def test_an_access_refusal_reads_in_indonesian_with_no_english_inside() -> None:
    officer = Actor(7, "inovasi.dkp@mataramkota.go.id", "DKP", 3, frozenset({Role.UNIT_OFFICER}))
    with pytest.raises(KinantiError) as refused:
        require(officer, Action.CLAIM_EVIDENCE, UnitScope(9), "RSUD-2026-001")
    assert refused.value.code == "access.refused"
    assert refused.value.message(Language.ID) == (
        "inovasi.dkp@mataramkota.go.id tidak berwenang mengklaim bukti dukung pada RSUD-2026-001"
    )
    assert "may not claim evidence on RSUD-2026-001" in str(refused.value)


def test_a_stored_refusal_is_rendered_again_in_each_language() -> None:
    error = KinantiError(code="gate.not_assignee", innovation="X-1", stage="planning",
                         assignee={Language.ID: "tidak ada", Language.EN: "nobody"})  # fmt: skip
    stored = error.stored_params()  # as the gate_decisions row keeps it (JSON)
    assert message_of(error.code, stored, Language.ID, str(error)).endswith("tidak ada")
    assert message_of(error.code, stored, Language.EN, str(error)).endswith("nobody")
    assert message_of(None, None, Language.ID, "recorded text") == "recorded text"
