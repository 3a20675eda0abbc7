"""The portal's forms (``kinanti/portal/forms.py``) under any input, property-based.

Generated posts (near-valid ones with fields dropped, replaced or added; arbitrary strings,
huge strings, control characters, numbers, lists) go through ``parse`` in Indonesian and
English: a form is either accepted, or refused with errors that each name one of the form's
own fields (the error summary links to it) with a message in the person's language, never a
pydantic dump. A proposal that passes its form then goes the portal's way (the domain's
schema, then ``submit_innovation`` in one transaction): it is submitted, or refused with a
clear error and the database unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError
from sqlalchemy import Engine

from domain.enums import Language, Role
from domain.submission import submit_innovation
from kinanti.db import make_engine, unit_of_work
from kinanti.portal import forms
from kinanti.portal.forms import FieldError, errors_of, parse
from tests.integration.test_bad_input import attempt, counts
from tests.support import snapshots
from tests.support.factories import DESIGN_300, Factory

FAST = settings(
    max_examples=25,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

VALID: dict[type[BaseModel], dict[str, Any]] = {
    forms.SignInForm: {"email": "hendriani.brida@mataramkota.go.id", "password": "x" * 12},
    forms.LinkRequestForm: {"email": "hendriani.brida@mataramkota.go.id"},
    forms.SetPasswordForm: {"password": "kata-sandi-panjang", "confirm": "kata-sandi-panjang"},
    forms.ProposalForm: {
        "code": "SEHAT-KITA",
        "title": "Sehat Kita",
        "unit": "DINKES",
        "year": "2026",
        "initiator": "OPD",
        "jenis": "Digital",
        "bentuk": "Inovasi Pelayanan Publik",
        "urusan_main": "Kesehatan",
        "urusan_other": "Sosial",
        "design": DESIGN_300,
        "budget": "25000000",
        "trial_start": "2026-02-01",
        "consultation_requested": "on",
    },
    forms.ResubmitForm: {"note": "Sudah diperbaiki"},
    forms.EvidenceForm: {"indicator": "sid01", "level": "2", "link": "https://example.go.id"},
    forms.VerifyForm: {"decision": "reject", "note": "Bukti tidak terbaca"},
    forms.DecisionForm: {
        "decision": "approve",
        "reason": "",
        "renewal": "4",
        "benefit": "5",
        "no_burden": "3",
        "authority": "4",
        "replicable": "5",
    },
    # Klinik Kinanti's desk (the registry's forms go through the importer's checks)
    forms.BookForm: {
        "day": "2026-12-14",
        "time": "09:30",
        "unit": "DINKES",
        "topic": "Rancang bangun dan indikator",
    },
    forms.CancelForm: {"reason": "Narasumber berhalangan"},
    forms.FollowUpForm: {
        "text": "Kirim data baseline",
        "owner": "inovasi.dinkes@mataramkota.go.id",
        "due_on": "2026-12-20",
    },
    forms.CompleteForm: {"outcome": "closed", "note": "Tidak diperlukan lagi"},
    forms.VisitForm: {
        "unit": "PKM-AMPENAN",
        "visited_on": "2026-11-20",
        "place": "Puskesmas Ampenan",
        "purpose": "Pendampingan rancang bangun",
    },
    forms.ReplyForm: {"reply": "Terima kasih, usulan Anda kami teruskan."},
}

values = (
    st.text(max_size=40)
    | st.text(min_size=2001, max_size=2100)
    | st.sampled_from(
        ["", " ", "0", "-1", "6", "2100", "1999", "2026-02-30", "abc", "on", "\x00", "a\r\nb"]
    )
    | st.integers(-(10**20), 10**20).map(str)
    | st.decimals(allow_nan=True, allow_infinity=True).map(str)
    | st.lists(st.text(max_size=10), max_size=3)
)


@st.composite
def posts(draw: st.DrawFn, form: type[BaseModel]) -> dict[str, Any]:
    """A valid post of ``form`` with some fields dropped, replaced or added."""
    post = dict(VALID[form])
    for key in draw(st.lists(st.sampled_from(sorted(post)), max_size=3, unique=True)):
        del post[key]
    names = sorted({*form.model_fields, *post, "csrf", "extra"})
    for key in draw(st.lists(st.sampled_from(names), max_size=3)):
        post[key] = draw(values)
    return post


def assert_clear_errors(form: type[BaseModel], found: list[FieldError], lang: Language) -> None:
    assert found, "a refused form says why"
    for error in found:
        assert error.field in form.model_fields, (error, "names no field of the form")
        assert error.message.strip(), error
        for leak in ("errors.pydantic.dev", "validation error for", "input_value", "Traceback"):
            assert leak not in error.message, error


@pytest.mark.parametrize("form", list(VALID), ids=lambda f: f.__name__)
def test_every_form_accepts_or_names_the_field_and_the_problem(form: type[BaseModel]) -> None:
    assert parse(form, VALID[form], Language.ID)[1] == []

    @FAST
    @given(post=posts(form))
    def check(post: dict[str, Any]) -> None:
        results = {lang: parse(form, post, lang) for lang in (Language.ID, Language.EN)}
        for lang, (model, found) in results.items():
            if model is None:
                assert_clear_errors(form, found, lang)
            else:
                assert found == []
        # the same fields refused in both languages
        fields = {lang: sorted(e.field for e in found) for lang, (_, found) in results.items()}
        assert fields[Language.ID] == fields[Language.EN]

    check()


@pytest.fixture
def proposal_engine(tmp_path: Path) -> Iterator[Engine]:
    url = f"sqlite:///{tmp_path / 'forms.db'}"
    snapshots.shared().migrated(url)  # upgrade(url), by copy of a database migrated once
    engine = make_engine(url)
    with unit_of_work(engine) as session:
        make = Factory(session)
        dinkes = make.unit("DINKES", name="Dinas Kesehatan")
        make.person("inovasi.dinkes@mataramkota.go.id", roles=[Role.UNIT_OFFICER], unit=dinkes)
    yield engine
    engine.dispose()


def test_a_proposal_is_submitted_or_refused_clearly_with_the_database_unchanged(
    proposal_engine: Engine,
) -> None:
    submitted: list[str] = []

    @FAST
    @given(post=posts(forms.ProposalForm))
    def check(post: dict[str, Any]) -> None:
        before = counts(proposal_engine)
        model, found = parse(forms.ProposalForm, post, Language.EN)
        if model is None:
            assert_clear_errors(forms.ProposalForm, found, Language.EN)
            assert counts(proposal_engine) == before
            return
        try:
            innovation = model.to_innovation()
        except ValidationError as exc:  # the domain's schema, as the portal reports it
            assert_clear_errors(forms.ProposalForm, errors_of(exc, Language.EN), Language.EN)
            return

        def submit() -> str:
            with unit_of_work(proposal_engine) as session:
                created, _, _ = submit_innovation(
                    session, innovation, actor="inovasi.dinkes@mataramkota.go.id"
                )
                return created.code

        outcome = attempt(proposal_engine, submit)
        if isinstance(outcome, str):
            submitted.append(outcome)

    check()
