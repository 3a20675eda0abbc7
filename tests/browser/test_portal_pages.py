"""The head of Brida's, operators' and reviewers' pages render in both languages, with
their key content; the registry pages change roles; the report downloads."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from domain.enums import Role
from domain.models import Person, PersonRole
from kinanti.db import get_engine, unit_of_work
from tests.browser.conftest import City, sign_in
from tests.browser.support import HEAD, INNOVATOR, OFFICER, OPERATOR
from tests.support.engine_support import submit


@pytest.fixture(scope="module")
def city(city_without_prefect: City) -> City:
    submit("PAGES-ONE", "DINKES", title="Inovasi halaman")
    return city_without_prefect


@pytest.mark.parametrize(
    ("path", "heading"),
    [
        ("/city", re.compile(r"IID kota \d{4}")),
        ("/city/compliance", re.compile(r"Kepatuhan tahunan \d{4}")),
        ("/city/escalations", "Eskalasi"),
        ("/units", "Unit kerja"),
        ("/gates", "Gerbang menunggu keputusan"),
        ("/innovations", "Inovasi"),
    ],
)
def test_the_head_of_brida_sees_the_citys_pages(
    browser: Any, city: City, path: str, heading: Any
) -> None:
    page = sign_in(browser, city, HEAD)
    response = page.goto(city.url + path)
    assert response is not None and response.status == 200
    expect(page.get_by_role("heading", level=1, name=heading)).to_be_visible()
    page.context.close()


def test_the_city_page_shows_iid_seats_and_affairs_and_the_report_downloads(
    browser: Any, city: City
) -> None:
    page = sign_in(browser, city, HEAD)
    page.goto(city.url + "/city")
    for text in ("Terverifikasi", "Diklaim", "Kursi kosong", "Urusan pelayanan dasar"):
        expect(
            page.get_by_role("heading", name=text).or_(page.get_by_text(text)).first
        ).to_be_visible()
    expect(page.get_by_text(re.compile(r"inovasi lagi sampai n mencapai k"))).to_be_visible()
    with page.expect_download() as download:
        page.get_by_role("link", name="Ekspor inovasi (CSV)").click()
    assert download.value.suggested_filename.endswith("innovations.csv")
    page.context.close()


def test_an_officer_may_not_open_the_citys_pages(browser: Any, city: City) -> None:
    page = sign_in(browser, city, OFFICER)
    for path in ("/city", "/units", "/gates", "/admin/people", "/city/report/innovations.csv"):
        response = page.goto(city.url + path)
        assert response is not None and response.status == 403, path
    page.context.close()


def test_an_innovator_sees_no_unit_innovation(browser: Any, city: City) -> None:
    page = sign_in(browser, city, INNOVATOR)
    response = page.goto(city.url + "/innovations/PAGES-ONE")
    assert response is not None and response.status == 403
    page.context.close()


def test_an_operator_changes_a_persons_roles(browser: Any, city: City) -> None:
    page = sign_in(browser, city, OPERATOR)
    page.get_by_role("link", name="Pengguna dan peran").first.click()
    page.get_by_role("link", name="Prof. Dr. Ahmad Tauhid").click()
    page.get_by_label("Peninjau").check()
    page.get_by_role("button", name="Simpan").click()
    expect(page.get_by_label("Peninjau")).to_be_checked()
    with unit_of_work(get_engine()) as session:
        person = session.scalars(select(Person).where(Person.email == INNOVATOR)).one()
        roles = set(
            session.scalars(select(PersonRole.role).where(PersonRole.person_id == person.id))
        )
    assert roles == {Role.INNOVATOR, Role.REVIEWER}
    for box in page.get_by_role("checkbox").all():
        if box.get_attribute("name") == "roles":
            box.uncheck()
    page.get_by_role("button", name="Simpan").click()
    expect(page.get_by_role("alert")).to_contain_text("Pilih sedikitnya satu peran")
    page.get_by_label("Inovator").check()  # back to what the registry says
    page.get_by_role("button", name="Simpan").click()
    expect(page.get_by_label("Peninjau")).not_to_be_checked()
    page.context.close()


def test_english_is_available_per_person(browser: Any, city: City) -> None:
    page = sign_in(browser, city, OFFICER)
    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("heading", name=re.compile("Welcome"))).to_be_visible()
    page.goto(city.url + "/innovations/PAGES-ONE")
    expect(page.get_by_text("What is needed next")).to_be_visible()
    page.goto(city.url + "/innovations/new")
    page.get_by_role("button", name="Continue: check your answers").click()
    summary = page.get_by_role("alert")
    expect(summary.get_by_role("heading", name="There is a problem")).to_be_visible()
    expect(summary).to_contain_text("Enter Innovation code")
    page.get_by_role("button", name="Bahasa Indonesia").click()
    expect(page.get_by_role("heading", name="Proposal inovasi baru")).to_be_visible()
    page.context.close()


def test_an_innovator_sees_the_consultations_they_mentor_only(browser: Any, city: City) -> None:
    import datetime as dt

    from domain.models import Consultation, Unit

    with unit_of_work(get_engine()) as session:
        dinkes = session.scalars(select(Unit).where(Unit.code == "DINKES")).one()
        mine = session.scalars(select(Person).where(Person.email == INNOVATOR)).one()
        other = session.scalars(
            select(Person).where(Person.email == "sri.rahayu@unram.ac.id")
        ).one()
        when = dt.datetime(2026, 11, 20, 2, 0, tzinfo=dt.UTC)
        session.add_all([
            Consultation(unit_id=dinkes.id, mentor_id=mine.id, scheduled_at=when,
                         topic="Pendampingan rancang bangun Sehatku"),
            Consultation(unit_id=dinkes.id, mentor_id=other.id, scheduled_at=when,
                         topic="Sesi mentor lain"),
        ])  # fmt: skip
    page = sign_in(browser, city, INNOVATOR)
    page.get_by_role("link", name="Konsultasi", exact=True).click()
    expect(page.get_by_role("heading", name="Pendampingan rancang bangun Sehatku")).to_be_visible()
    assert "Sesi mentor lain" not in page.content()
    page.context.close()
    officer = sign_in(browser, city, OFFICER)
    officer.goto(city.url + "/consultations")
    expect(officer.get_by_role("heading", name="Sesi mentor lain")).to_be_visible()
    officer.context.close()
