"""The head of Brida's, operators' and reviewers' pages render in both languages, with
their key content; the registry pages change roles; the report downloads."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from domain.enums import Role
from domain.models import Person, PersonRole
from kinanti.db import get_engine, unit_of_work
from tests.browser.conftest import City, sign_in
from tests.browser.support import HEAD, INNOVATOR, OFFICER, OPERATOR, screenshot
from tests.support.engine_support import submit

# a real portal process and Chromium: end-to-end (out of `make test-fast`)
pytestmark = [pytest.mark.e2e]


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


# ---------------------------------------------------------------- Klinik Kinanti, screenshots

PAGES = Path(__file__).resolve().parents[2] / "test-artifacts" / "portal-pages"


def _backend(city: City) -> str:
    return "sqlite" if city.database_url.startswith("sqlite") else "postgresql"


def _both_widths(page: Any, name: str, city: City, *key: Any) -> None:
    """Screenshots at 1280 px and 390 px, each checked not blank, with ``key`` visible."""
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900 if width > 400 else 844})
        for element in key:
            expect(element).to_be_visible()
        screenshot(page, PAGES, f"{_backend(city)}-{name}-{width}")


def test_the_public_form_then_brida_triages_the_request(browser: Any, city: City) -> None:
    """The public form (no account) at both widths; the citizen's request then appears in
    the operator's triage list, reached by the navigation's link."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(90_000)
    page = context.new_page()
    response = page.goto(city.url + "/klinik/public")
    assert response is not None and response.status == 200
    heading = page.get_by_role("heading", level=1, name="Klinik Kinanti: konsultasi dan usulan")
    send = page.get_by_role("button", name="Kirim")
    _both_widths(page, "public-form", city, heading, page.get_by_label("Judul"), send)
    page.set_viewport_size({"width": 1280, "height": 900})
    send.click()  # empty: the errors, in Indonesian
    summary = page.get_by_role("alert")
    expect(summary.get_by_role("heading", name="Ada masalah")).to_be_visible()
    expect(summary.get_by_role("link", name="Isi Nama")).to_be_visible()
    page.get_by_label("Mengusulkan gagasan").check()
    page.get_by_label("Nama", exact=True).fill("Komunitas Peduli Sampah Ampenan")
    page.get_by_label("Judul").fill("Bank sampah di setiap lingkungan")
    page.get_by_label("Pesan").fill(
        "Kami mengusulkan bank sampah di setiap lingkungan Ampenan, dikelola warga."
    )
    page.get_by_role("button", name="Kirim").click()
    reference = page.locator("#reference")
    expect(reference).to_have_text(re.compile(r"KK-[A-Z0-9]{8}"))
    code = reference.inner_text()
    context.close()

    operator = sign_in(browser, city, OPERATOR)
    operator.get_by_role("link", name="Permohonan masyarakat").click()
    title = operator.get_by_role("heading", level=1, name="Permohonan masyarakat")
    row = operator.get_by_role("link", name=code)
    _both_widths(operator, "triage-list", city, title, row)
    operator.context.close()


def test_a_consultation_page_at_both_widths(browser: Any, city: City) -> None:
    import datetime as dt

    from domain import klinik
    from domain.access import actor_of
    from domain.models import utcnow
    from domain.queries import get_person

    with unit_of_work(get_engine()) as session:
        actor = actor_of(session, get_person(session, OPERATOR))
        booked, _ = klinik.book_consultation(
            session, actor, scheduled_at=utcnow() + dt.timedelta(days=7),
            topic="Rancang bangun inovasi halaman", unit_code="DINKES",
            mentor_email=INNOVATOR, place="Ruang Klinik Kinanti", attendees=[OFFICER],
        )  # fmt: skip
        cid = booked.id
    page = sign_in(browser, city, OPERATOR)
    page.get_by_role("link", name="Konsultasi", exact=True).click()
    page.get_by_role("link", name="Rancang bangun inovasi halaman").first.click()
    page.wait_for_url(f"{city.url}/consultations/{cid}")
    heading = page.get_by_role("heading", level=1, name="Rancang bangun inovasi halaman")
    attendees = page.locator("#attendee-list")
    expect(attendees).to_contain_text("Ahmad Tauhid")
    _both_widths(page, "consultation", city, heading, page.locator("#when"), attendees)
    page.context.close()
