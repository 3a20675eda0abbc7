"""The portal's form errors (``kinanti.portal.forms.errors_of``) come from the translation
table in the person's language: never pydantic's English, nor a validator's (the control
character check, the code's characters, the phone number, the urusan list)."""

from __future__ import annotations

import inspect
import re
import string
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from domain.enums import Language
from domain.errors import ValidationError as DomainValidationError
from domain.klinik import _text
from kinanti.portal import forms
from kinanti.portal.forms import FieldError, ProposalForm, PublicForm, errors_of, parse
from kinanti.portal.texts import MESSAGES

ID, EN = Language.ID, Language.EN

PUBLIC = {
    "kind": "idea",
    "name": "Komunitas Peduli Sampah",
    "subject": "Bank sampah di setiap lingkungan",
    "message": "Kami mengusulkan bank sampah di setiap lingkungan, dikelola warga.",
}
PROPOSAL = {
    "code": "BANK-SAMPAH",
    "title": "Bank Sampah Lingkungan",
    "unit": "DINKES",
    "year": "2026",
    "initiator": "Masyarakat",
    "jenis": "Non Digital",
    "bentuk": "Inovasi Pelayanan Publik",
    "urusan_main": "Lingkungan Hidup",
}


def _errors(form: type[BaseModel], data: dict[str, Any], lang: Language) -> list[FieldError]:
    parsed, errors = parse(form, data, lang)
    assert parsed is None
    return errors


def _domain(form: ProposalForm, lang: Language) -> list[FieldError]:
    with pytest.raises(ValidationError) as raised:
        form.to_innovation()
    return errors_of(raised.value, lang)


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        (ID, "Judul berisi karakter kendali '\\x00' pada posisi 12; hapus karakter itu"),
        (EN, "Subject contains the control character '\\x00' at position 12; remove it"),
    ],
)
def test_the_public_forms_control_character_error_is_in_the_persons_language(
    lang: Language, expected: str
) -> None:
    errors = _errors(PublicForm, {**PUBLIC, "subject": "Bank sampah\x00 lingkungan"}, lang)
    assert [e.field for e in errors] == ["subject"]
    assert errors[0].message.startswith(expected), errors[0].message


def test_the_public_forms_phone_error_is_the_portals() -> None:
    errors = _errors(PublicForm, {**PUBLIC, "phone": "0812; DROP TABLE"}, ID)
    assert errors == [FieldError("phone", MESSAGES["err.phone"][ID])]


@pytest.mark.parametrize(
    ("change", "field", "id_text"),
    [
        ({"code": "BANK SAMPAH"}, "code", "Kode inovasi hanya boleh berisi huruf, angka"),
        ({"design": "Rancang\x07 bangun"}, "design", "Rancang bangun berisi karakter kendali"),
        ({"urusan_main": "Urusan Bulan"}, "urusan_main",
         'Urusan pemerintahan utama: "Urusan Bulan" tidak ada dalam daftar'),
    ],
    ids=["code", "control-character", "urusan"],
)  # fmt: skip
def test_the_domains_own_checks_of_a_proposal_are_said_in_indonesian(
    change: dict[str, str], field: str, id_text: str
) -> None:
    form, errors = parse(ProposalForm, {**PROPOSAL, **change}, ID)
    assert form is not None, errors
    found = _domain(form, ID)
    assert [e.field for e in found] == [field]
    assert found[0].message.startswith(id_text), found[0].message
    assert _domain(form, EN)[0].message != found[0].message


def test_the_nearest_affairs_are_named() -> None:
    form, _ = parse(ProposalForm, {**PROPOSAL, "urusan_main": "Lingkungan Hidupp"}, ID)
    assert form is not None
    message = _domain(form, ID)[0].message
    assert "; yang terdekat: Lingkungan Hidup" in message, message


def test_an_empty_field_with_a_minimum_length_asks_for_it() -> None:
    errors = _errors(ProposalForm, {**PROPOSAL, "code": ""}, ID)
    assert FieldError("code", "Isi Kode inovasi") in errors
    errors = _errors(ProposalForm, {**PROPOSAL, "code": "AB"}, EN)
    assert FieldError("code", "Innovation code needs at least 3 characters") in errors


def test_the_desks_text_checks_name_the_field_in_the_readers_language() -> None:
    with pytest.raises(DomainValidationError) as raised:
        _text("Ruang\x00 Klinik", "place", 200)
    assert raised.value.code == "klinik.text_invalid"
    assert raised.value.params["field"] == "place"
    assert raised.value.message(ID) == (
        "tempat berisi karakter kendali '\\x00' pada posisi 6 (data biner atau berkas rusak?)"
    )
    assert raised.value.message(EN).startswith("the place contains the control character")
    with pytest.raises(DomainValidationError) as empty:
        _text("  ", "purpose", 300)
    assert empty.value.message(ID) == "tujuan kunjungan belum diisi"


# ---------------------------------------------------------------- every form, any input


def _pattern(template: str) -> re.Pattern[str]:
    """A message the template can produce (each ``{value}`` stands for some text)."""
    parts = re.split(r"\{[^}]*\}", template)
    return re.compile(".*?".join(re.escape(p) for p in parts), re.S)


#: Every message the portal can give under Indonesian (a form error may be followed by
#: the nearest affairs, itself a template).
ID_MESSAGES = [_pattern(m[ID]) for m in MESSAGES.values()]
NEAREST = _pattern(MESSAGES["err.urusan_nearest"][ID])
FORMS = [
    cls
    for _, cls in inspect.getmembers(forms, inspect.isclass)
    if issubclass(cls, BaseModel) and cls.__module__ == forms.__name__ and cls.model_fields
]

values = st.one_of(
    st.none(),
    st.text(max_size=12),
    st.text(alphabet=string.printable + "\x00\x01\x07\x1b\x7f", max_size=40),
    st.sampled_from(["", " ", "x" * 5001, "-1", "9999", "2026-02-30", "on", "a@b", "@"]),
    st.lists(st.text(max_size=8), max_size=3),
)


@pytest.mark.parametrize("form", FORMS, ids=lambda f: f.__name__)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_every_form_error_under_indonesian_comes_from_the_translation_table(
    form: type[BaseModel], data: st.DataObject
) -> None:
    posted = data.draw(
        st.dictionaries(st.sampled_from(sorted(form.model_fields)), values, max_size=8)
    )
    parsed, errors = parse(form, posted, ID)
    assert (parsed is None) == bool(errors)
    for error in errors:
        message = NEAREST.split(error.message)[0] if "; yang terdekat" in error.message else (
            error.message
        )  # fmt: skip
        assert any(p.fullmatch(message) for p in ID_MESSAGES), (form.__name__, error)
        assert error.field == "" or error.field in form.model_fields, error
        assert "Value error" not in message and "Input should" not in message, error


@pytest.mark.parametrize("form", FORMS, ids=lambda f: f.__name__)
def test_every_form_field_has_a_label_in_the_table(form: type[BaseModel]) -> None:
    """A message names its field by the label (never the field's identifier)."""
    assert [n for n in form.model_fields if f"field.{n}" not in MESSAGES] == []


def test_a_blank_public_form_asks_for_each_required_field() -> None:
    errors = _errors(PublicForm, {"kind": "idea", "name": " ", "subject": "", "message": ""}, ID)
    assert errors == [
        FieldError("name", "Isi Nama"),
        FieldError("subject", "Isi Judul"),
        FieldError("message", "Isi Pesan"),
    ]
