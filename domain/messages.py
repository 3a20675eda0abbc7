"""Messages of the domain's errors, per code, in Bahasa Indonesia and English.

A translation table (data): ``render(code, language, params)`` formats the message of an
error code. A parameter may be a list (joined with "; ") or a mapping by language (the
value for the reader's language is taken), so a message never mixes two languages.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from domain.enums import Language

_ID, _EN = Language.ID, Language.EN

MESSAGES: Mapping[str, Mapping[Language, str]] = {
    "gate.wrong_role": {
        _EN: "the {stage} gate can only be decided by: {roles}",
        _ID: "gerbang {stage} hanya dapat diputus oleh: {roles}",
    },
    "gate.own_unit": {
        _EN: "a reviewer from the owning unit cannot decide its own innovation's gate",
        _ID: "peninjau dari unit pemilik tidak boleh memutus gerbang inovasinya sendiri",
    },
    "gate.proposal_incomplete": {
        _EN: "the proposal is incomplete: {problems}",
        _ID: "proposal belum lengkap: {problems}",
    },
    "gate.scorecard_missing": {
        _EN: "a trial (uji coba) evaluation scorecard is required before approval",
        _ID: "scorecard evaluasi uji coba wajib diisi sebelum persetujuan",
    },
    "gate.act_missing": {
        _EN: "the adopting act (SK / Perkada / Perda) is required before approval",
        _ID: "dasar hukum penerapan (SK / Perkada / Perda) wajib dicatat sebelum persetujuan",
    },
    "gate.evidence_missing": {
        _EN: "at least one piece of implementation evidence is required before approval",
        _ID: "minimal satu bukti penerapan wajib dilampirkan sebelum persetujuan",
    },
    "gate.mandatory_missing": {
        _EN: "mandatory IID indicators lack evidence: {indicators}",
        _ID: "indikator IID wajib belum memiliki bukti dukung: {indicators}",
    },
    "gate.requirements_missing": {_EN: "{parts}", _ID: "{parts}"},
    "gate.reason_required": {
        _EN: "a reason is required to {decision}",
        _ID: "alasan wajib diisi untuk keputusan {decision}",
    },
    "gate.identity_unproven": {
        _EN: "this decision carries no proof of who gives it ({detail}); a typed email address "
        "is not one. Sign in to the Kinanti portal and decide there.",
        _ID: "keputusan ini tidak membawa bukti siapa yang memutus ({detail}); alamat email "
        "yang diketik bukan bukti. Masuk ke portal Kinanti dan putuskan di sana.",
    },
    "gate.not_open": {
        _EN: "{innovation} has no open gate at {stage}{last}",
        _ID: "{innovation} tidak memiliki gerbang terbuka pada tahap {stage}{last}",
    },
    "gate.decided_already": {
        _EN: "the {stage} gate of {innovation} was already decided ({status}); nothing changed",
        _ID: "gerbang {stage} untuk {innovation} sudah diputus ({status}); tidak ada yang berubah",
    },
    "person.unknown": {
        _EN: "person {email!r} is not registered (see `kinanti people list`)",
        _ID: "orang {email!r} tidak terdaftar (lihat `kinanti people list`)",
    },
    "innovation.unknown": {
        _EN: "innovation {innovation!r} does not exist (see `kinanti innovations list`)",
        _ID: "inovasi {innovation!r} tidak ada (lihat `kinanti innovations list`)",
    },
}


def _value(value: Any, language: Language) -> Any:
    if isinstance(value, Mapping) and language in value:
        value = value[language]
    if isinstance(value, list | tuple):
        return "; ".join(str(_value(v, language)) for v in value)
    return value


def render(code: str, language: Language, params: Mapping[str, Any]) -> str | None:
    """The message of ``code`` in ``language``, or ``None`` when the table has none."""
    texts = MESSAGES.get(code)
    if texts is None:
        return None
    values = {k: _value(v, language) for k, v in params.items()}
    try:
        return texts[language].format(**values)
    except (KeyError, IndexError):
        return None
