"""Mentoring visits through the portal (/visits, /visits/{id}): an innovator records their
own, Brida sees every one, a unit sees the visits it received and is refused the others;
form errors are shown at their field and in the summary, in Indonesian and English."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from domain import klinik
from domain.access import actor_of
from domain.enums import Role
from domain.models import DomainEventRecord, MentoringVisit, Person, utcnow
from domain.queries import get_person
from kinanti.db import unit_of_work
from kinanti.portal.accounts import set_demo_password
from tests.integration.test_klinik_portal import (
    HEAD,
    INNOVATOR,
    OFFICER,
    OPERATOR,
    OTHER_OFFICER,
    World,
    _post,
    _sign_in,
    _token,
    _world,
)

SECOND_INNOVATOR = "sri.rahayu@unram.ac.id"
WRITTEN = (MentoringVisit, DomainEventRecord)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    """The Klinik world, with a second innovator's visit to DKP already recorded."""
    made = _world(tmp_path, "Asia/Makassar")
    with unit_of_work(made.engine) as session:
        from tests.support.factories import Factory

        sri = Factory(session).person(SECOND_INNOVATOR, roles=[Role.INNOVATOR], name="Sri Rahayu")
        klinik.record_visit(
            session, actor_of(session, sri), unit_code="DKP", visited_on=_today(),
            place="Pelabuhan Ampenan", purpose="Pendampingan data nelayan", outcome=None,
            today=_today(),
        )  # fmt: skip
        made.passwords[OTHER_OFFICER] = "kata-sandi-dkp-yang-panjang"
        set_demo_password(session, OTHER_OFFICER, made.passwords[OTHER_OFFICER])
    yield made
    made.engine.dispose()


def _today() -> dt.date:
    from zoneinfo import ZoneInfo

    return utcnow().astimezone(ZoneInfo("Asia/Makassar")).date()


def _dkp_visit(world: World) -> int:
    with unit_of_work(world.engine) as session:
        return session.scalars(
            select(MentoringVisit.id).where(MentoringVisit.place == "Pelabuhan Ampenan")
        ).one()


VISIT = {
    "unit": "dinkes",
    "place": "Puskesmas Pagesangan",
    "purpose": "Pendampingan rancang bangun Maharestu",
    "outcome": "Data baseline dikumpulkan bersama petugas.",
    "innovation": "maharestu",
}


def _record(client: TestClient, **change: str) -> Any:
    data = {**VISIT, "visited_on": _today().isoformat(), **change}
    return _post(client, "/visits", "/visits", data)


def _places(html: str) -> set[str]:
    return set(re.findall(r'<h2><a href="/visits/\d+">([^<]+)</a></h2>', html))


def test_an_innovator_records_their_own_visit_and_sees_only_their_own(world: World) -> None:
    client = _sign_in(world, INNOVATOR)
    assert _places(client.get("/visits").text) == set()

    answer = _record(client, innovator=SECOND_INNOVATOR)  # not theirs to name: ignored

    assert answer.status_code == 200, answer.text[:800]
    assert re.search(r"/visits/\d+\?done=visit$", str(answer.url)), answer.url
    assert 'role="status"' in answer.text
    assert "<h1>Puskesmas Pagesangan</h1>" in answer.text and "Ahmad Tauhid" in answer.text
    with unit_of_work(world.engine) as session:
        visit = session.scalars(
            select(MentoringVisit).where(MentoringVisit.place == "Puskesmas Pagesangan")
        ).one()
        innovator = session.get_one(Person, visit.innovator_id)
        assert (innovator.email, visit.recorded_by) == (INNOVATOR, INNOVATOR)
        assert visit.visited_on == _today() and visit.outcome == VISIT["outcome"]
        assert visit.innovation_id is not None
    assert _places(client.get("/visits").text) == {"Puskesmas Pagesangan"}
    assert client.get(f"/visits/{_dkp_visit(world)}").status_code == 403


def test_brida_sees_every_visit(world: World) -> None:
    _record(_sign_in(world, INNOVATOR))
    for email in (HEAD, OPERATOR):
        client = _sign_in(world, email)
        listing = client.get("/visits")
        assert listing.status_code == 200
        assert _places(listing.text) == {"Puskesmas Pagesangan", "Pelabuhan Ampenan"}
        page = client.get(f"/visits/{_dkp_visit(world)}")
        assert page.status_code == 200 and "Sri Rahayu" in page.text


def test_an_operator_records_a_visit_naming_the_innovator(world: World) -> None:
    answer = _record(_sign_in(world, OPERATOR), innovator=SECOND_INNOVATOR)
    assert answer.status_code == 200, answer.text[:800]
    with unit_of_work(world.engine) as session:
        visit = session.scalars(
            select(MentoringVisit).where(MentoringVisit.place == "Puskesmas Pagesangan")
        ).one()
        assert visit.innovator_id == get_person(session, SECOND_INNOVATOR).id
        assert visit.recorded_by == OPERATOR


def test_a_unit_sees_the_visits_it_received_and_is_refused_the_others(world: World) -> None:
    _record(_sign_in(world, INNOVATOR))
    with unit_of_work(world.engine) as session:
        dinkes_visit = session.scalars(
            select(MentoringVisit.id).where(MentoringVisit.place == "Puskesmas Pagesangan")
        ).one()
    officer = _sign_in(world, OFFICER)
    assert _places(officer.get("/visits").text) == {"Puskesmas Pagesangan"}
    assert officer.get(f"/visits/{dinkes_visit}").status_code == 200
    refused = officer.get(f"/visits/{_dkp_visit(world)}")
    assert refused.status_code == 403 and "Pelabuhan Ampenan" not in refused.text

    other = _sign_in(world, OTHER_OFFICER)
    assert _places(other.get("/visits").text) == {"Pelabuhan Ampenan"}
    assert other.get(f"/visits/{dinkes_visit}").status_code == 403
    # a unit does not record visits: it has no form, and a post is refused
    assert 'action="/visits"' not in other.get("/visits").text
    before = world.count(*WRITTEN)
    refused = _record(other, unit="DKP")
    assert refused.status_code == 400 and "bukan inovator" in refused.text
    assert world.count(*WRITTEN) == before


def _in(client: TestClient, language: str) -> TestClient:
    token = _token(client, "/visits")
    client.post("/language", data={"csrf_token": token, "language": language, "next": "/visits"})
    return client


@pytest.mark.parametrize(
    ("language", "place", "date", "summary"),
    [
        ("id", "Isi Tempat", "Tanggal kunjungan harus tanggal yang benar", "Ada masalah"),
        ("en", "Enter Place", "Visit date must be a real date", "There is a problem"),
    ],
)
def test_form_errors_are_shown_at_their_field_and_in_the_summary(
    world: World, language: str, place: str, date: str, summary: str
) -> None:
    client = _in(_sign_in(world, INNOVATOR), language)
    before = world.count(*WRITTEN)

    answer = _record(client, place="", visited_on="10/03/2026", purpose="ab")

    assert answer.status_code == 400
    assert summary in answer.text
    for field in ("place", "visited_on", "purpose"):
        assert f'href="#{field}"' in answer.text, field  # the summary links to the field
        assert f'id="{field}-error"' in answer.text, field  # which shows its own message
    assert place in answer.text and date in answer.text
    assert ("Tujuan kunjungan minimal 3 karakter" if language == "id" else
            "Purpose of the visit needs at least 3 characters") in answer.text  # fmt: skip
    assert 'value="Pendampingan rancang bangun Maharestu"' not in answer.text  # purpose "ab"
    assert 'value="Puskesmas Pagesangan"' not in answer.text
    assert 'value="dinkes"' in answer.text  # what was typed is kept
    assert world.count(*WRITTEN) == before


@pytest.mark.parametrize(
    ("language", "words"),
    [("id", "belum tiba"), ("en", "has not come yet")],
)
def test_a_visit_day_still_to_come_is_refused_at_the_date_field(
    world: World, language: str, words: str
) -> None:
    client = _in(_sign_in(world, INNOVATOR), language)
    before = world.count(*WRITTEN)
    tomorrow = (_today() + dt.timedelta(days=1)).isoformat()

    answer = _record(client, visited_on=tomorrow)

    assert answer.status_code == 400
    assert 'href="#visited_on"' in answer.text and 'id="visited_on-error"' in answer.text
    error = re.search(r'id="visited_on-error">(.*?)</p>', answer.text, re.S)
    assert error and words in error.group(1), answer.text[:1500]
    assert world.count(*WRITTEN) == before
