"""Messages of the domain (its errors, proposal problems and compliance reasons), per code,
in Bahasa Indonesia and English.

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
    # compliance reasons (``domain.compliance`` verdict keys): the CLI, reports and emails
    "compliance.exempt": {_ID: "{reason}", _EN: "{reason}"},
    "compliance.compliant": {
        _ID: "{counted} inovasi mencapai tahap hitung pada {year}",
        _EN: "{counted} innovation(s) reached the stage in {year}",
    },
    "compliance.non_compliant": {
        _ID: "tidak ada inovasi yang dilaksanakan pada {year}",
        _EN: "no innovation carried out in {year}",
    },
    "compliance.at_risk_late": {
        _ID: "belum ada inovasi yang mencapai tahap hitung ({in_progress} sedang "
        "berjalan); tahun berakhir {year}-12-31",
        _EN: "no innovation has reached the counting stage yet ({in_progress} in "
        "progress); the year ends on {year}-12-31",
    },
    "compliance.on_track": {
        _ID: "{in_progress} inovasi sedang berjalan",
        _EN: "{in_progress} innovation(s) in progress",
    },
    "compliance.not_started": {
        _ID: "belum ada inovasi yang dimulai",
        _EN: "no innovation started yet",
    },
    "person.unknown": {
        _EN: "person {email!r} is not registered (see `kinanti people list`)",
        _ID: "orang {email!r} tidak terdaftar (lihat `kinanti people list`)",
    },
    "innovation.unknown": {
        _EN: "innovation {innovation!r} does not exist (see `kinanti innovations list`)",
        _ID: "inovasi {innovation!r} tidak ada (lihat `kinanti innovations list`)",
    },
    # what a proposal lacks before the planning gate (``domain.lifecycle.proposal_problems``)
    "proposal.design": {
        _EN: "design narrative (rancang bangun) has {words} words; at least {min} are required",
        _ID: "rancang bangun baru {words} kata; minimal {min} kata",
    },
    "proposal.empty": {_EN: "{name} is empty", _ID: "{name} belum diisi"},
    "proposal.budget": {
        _EN: "required budget (anggaran) is not stated",
        _ID: "kebutuhan anggaran belum dicantumkan",
    },
}

#: Names of the profile fields a proposal must fill (the ``name`` in ``proposal.empty``).
FIELD_NAMES: Mapping[str, Mapping[Language, str]] = {
    "goals": {_EN: "goals (tujuan)", _ID: "tujuan"},
    "benefits": {_EN: "benefits (manfaat)", _ID: "manfaat"},
    "urusan_main": {_EN: "main government affair (urusan)", _ID: "urusan pemerintahan utama"},
    "tematik": {_EN: "theme (tematik)", _ID: "tematik"},
    "title": {_EN: "name", _ID: "nama inovasi"},
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
