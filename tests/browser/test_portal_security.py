"""Security of the portal, tested as a person (or an attacker) would in a real browser:
access per unit, CSRF, output encoding, uploads, one-time links, throttling, cookies."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from domain.models import AuditRecord, IndicatorClaim
from kinanti.db import get_engine, unit_of_work
from tests.browser.conftest import City, sign_in
from tests.browser.support import INNOVATOR, OFFICER, OTHER_OFFICER, REVIEWER, run_portal
from tests.support.engine_support import submit

# a real portal process and Chromium: end-to-end (out of `make test-fast`)
pytestmark = [pytest.mark.e2e]

PDF = b"%PDF-1.4\n% Kinanti browser test\n" + b"0" * 400


@pytest.fixture(scope="module")
def city(city_without_prefect: City) -> City:
    submit("SEHATKU-A", "DINKES", title="Sehatku Ampenan")
    submit("XSS-TITLE", "DINKES", title="<script>alert('x')</script> Layanan")
    return city_without_prefect


def _audits(event: str) -> list[AuditRecord]:
    with unit_of_work(get_engine()) as session:
        return list(session.scalars(select(AuditRecord).where(AuditRecord.event == event)))


def test_an_officer_sees_their_own_units_innovation(browser: Any, city: City) -> None:
    page = sign_in(browser, city, OFFICER)
    page.goto(city.url + "/innovations/SEHATKU-A")
    expect(page.get_by_role("heading", name="Sehatku Ampenan")).to_be_visible()
    expect(page.get_by_text("Yang perlu dilakukan berikutnya")).to_be_visible()
    page.context.close()


def test_an_officer_of_another_unit_is_refused_reading_and_posting(
    browser: Any, city: City
) -> None:
    page = sign_in(browser, city, OTHER_OFFICER)
    response = page.goto(city.url + "/innovations/SEHATKU-A")
    assert response is not None and response.status == 403
    expect(
        page.get_by_role("heading", name="Anda tidak berwenang membuka halaman ini")
    ).to_be_visible()
    assert "Sehatku Ampenan" not in page.content()
    response = page.goto(city.url + "/innovations/SEHATKU-A/evidence")
    assert response is not None and response.status == 403
    csrf = _csrf_of(page, city.url + "/innovations")
    posted = page.request.post(
        city.url + "/innovations/SEHATKU-A/evidence",
        multipart={"csrf_token": csrf, "indicator": "sid19_media_sosial", "level": "1",
                   "link": "https://x.org/a"},
    )  # fmt: skip
    assert posted.status == 403
    posted = page.request.post(
        city.url + "/innovations/SEHATKU-A/revise", form={"csrf_token": csrf, "title": "x"}
    )
    assert posted.status == 403
    with unit_of_work(get_engine()) as session:
        assert session.scalars(select(IndicatorClaim)).all() == []
    refused = [a for a in _audits("access_refused") if a.actor == OTHER_OFFICER]
    assert {a.detail["method"] for a in refused} == {"GET", "POST"}
    assert all(a.target == "SEHATKU-A" for a in refused)
    page.context.close()


def _csrf_of(page: Any, url: str) -> str:
    page.goto(url)
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    assert token
    return str(token)


@pytest.mark.parametrize("who", [OTHER_OFFICER, INNOVATOR])
def test_the_cli_refuses_evidence_claimed_by_another_unit_or_an_innovator(
    city: City, who: str
) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "kinanti.cli", "evidence", "add", "SEHATKU-A", "sid19",
         "--level", "1", "--link", "https://x.org/cli", "--as", who],
        capture_output=True, text=True, env={**os.environ}, timeout=120,
    )  # fmt: skip
    assert result.returncode == 1
    # the installation's language (Indonesian); the console wraps long lines
    refusal = " ".join(result.stderr.split())
    assert "tidak berwenang mengklaim bukti dukung untuk SEHATKU-A" in refusal, refusal
    with unit_of_work(get_engine()) as session:
        assert session.scalars(select(IndicatorClaim)).all() == []


def test_a_post_without_the_csrf_token_is_refused(browser: Any, city: City) -> None:
    page = sign_in(browser, city, OFFICER)
    before = len(_audits("csrf_refused"))
    for form in ({}, {"csrf_token": "forged"}):
        response = page.request.post(
            city.url + "/innovations/SEHATKU-A/evidence",
            multipart={**form, "indicator": "sid19", "level": "1", "link": "https://x.org/a"},
        )
        assert response.status == 403
        assert "Formulir kedaluwarsa" in response.text()
    assert len(_audits("csrf_refused")) == before + 2
    with unit_of_work(get_engine()) as session:
        assert session.scalars(select(IndicatorClaim)).all() == []
    page.context.close()


def test_a_title_with_a_script_tag_is_shown_escaped(browser: Any, city: City) -> None:
    page = sign_in(browser, city, OFFICER)
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(city.url + "/innovations/XSS-TITLE")
    heading = page.get_by_role("heading", level=1)
    assert heading.inner_text() == "<script>alert('x')</script> Layanan"
    assert "&lt;script&gt;" in page.content()
    page.goto(city.url + "/innovations")
    expect(page.get_by_role("link", name="<script>alert('x')</script> Layanan")).to_be_visible()
    assert dialogs == []
    page.context.close()


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("besar.pdf", PDF + b"0" * 1_300_000, "batasnya 1.0 MB"),
        ("program.exe", b"MZ" + b"0" * 100, "jenis .exe tidak diterima"),
        ("palsu.pdf", b"GIF89a" + b"0" * 100, "bukan berkas pdf yang sebenarnya"),
    ],
)
def test_an_oversize_or_wrong_type_upload_is_refused_with_a_clear_message(
    browser: Any, city: City, tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    page = sign_in(browser, city, OFFICER)
    page.goto(city.url + "/innovations/SEHATKU-A/evidence")
    page.get_by_label("Berkas bukti").set_input_files(str(path))
    page.get_by_role("button", name="Simpan klaim").click()
    summary = page.get_by_role("alert")
    expect(summary.get_by_role("heading", name="Ada masalah")).to_be_visible()
    assert "Bukti ditolak" in summary.inner_text() and message in summary.inner_text()
    summary.get_by_role("link").first.click()
    assert page.evaluate("document.activeElement.id") == "file"
    with unit_of_work(get_engine()) as session:
        assert session.scalars(select(IndicatorClaim)).all() == []
    page.context.close()


def test_a_good_upload_is_claimed_and_shown_pending(
    browser: Any, city: City, tmp_path: Path
) -> None:
    path = tmp_path / "sk-inovasi.pdf"
    path.write_bytes(PDF)
    page = sign_in(browser, city, OFFICER)
    page.goto(city.url + "/innovations/SEHATKU-A/evidence")
    page.get_by_label("Indikator").select_option("sid01_regulasi")
    page.get_by_label("Tingkat yang diklaim").select_option("2")
    page.get_by_label("Berkas bukti").set_input_files(str(path))
    page.get_by_role("button", name="Simpan klaim").click()
    expect(page.get_by_text("Klaim sid01_regulasi tersimpan.")).to_be_visible()
    card = page.locator(".card", has_text="sk-inovasi.pdf")
    assert "menunggu verifikasi" in card.inner_text()
    page.context.close()
    reviewer = sign_in(browser, city, REVIEWER)
    reviewer.goto(city.url + "/innovations/SEHATKU-A/evidence")
    card = reviewer.locator(".card", has_text="sk-inovasi.pdf")
    card.get_by_label("Catatan").fill("SK belum ditandatangani")
    card.get_by_role("button", name="Tolak").click()
    card = reviewer.locator(".card", has_text="sk-inovasi.pdf")
    assert "ditolak" in card.inner_text() and "SK belum ditandatangani" in card.inner_text()
    reviewer.context.close()


def test_a_reset_link_works_once_and_answers_never_reveal_an_address(
    browser: Any, city: City
) -> None:
    context = browser.new_context()
    context.set_default_timeout(90_000)  # a bound for a loaded 2-core machine
    page = context.new_page()
    answers = []
    for email in (INNOVATOR, "tidak.terdaftar@mataramkota.go.id"):
        page.goto(city.url + "/sign-in/link")
        page.get_by_label("Alamat email").fill(email)
        page.get_by_role("button", name="Kirim tautan").click()
        answers.append(page.locator("main").inner_text())
    assert answers[0] == answers[1] and "Periksa email Anda" in answers[0]
    # the mailbox serves every city of the session: this city's link, not an earlier one's
    message = city.mailbox.wait_for(INNOVATOR, city.url + "/set-password/")
    body = message.get_body(("plain",))
    assert body is not None
    link = re.search(r"(http://\S+/set-password/\S+)", body.get_content())
    assert link is not None and link.group(1).startswith(city.url)
    page.goto(link.group(1))
    page.get_by_label("Kata sandi baru").fill("kata-sandi-baru-1")
    page.get_by_label("Ulangi kata sandi").fill("kata-sandi-baru-1")
    page.get_by_role("button", name="Simpan kata sandi dan masuk").click()
    page.wait_for_url(city.url + "/")
    expect(page.get_by_role("heading", name=re.compile("Selamat datang"))).to_be_visible()
    again = page.goto(link.group(1))
    assert again is not None and again.status == 410
    expect(page.get_by_role("heading", name="Tautan tidak berlaku")).to_be_visible()
    with unit_of_work(get_engine()) as session:
        from domain.models import OutboxMessage, PortalLinkToken

        tokens = session.scalars(select(PortalLinkToken.token_hash)).all()
        token = link.group(1).rsplit("/", 1)[1]
        assert token not in tokens and all(len(t) == 64 for t in tokens)
        contexts = [m.context for m in session.scalars(select(OutboxMessage))]
        assert not any(token in str(c) for c in contexts)
    context.close()


def test_throttling_starts_after_repeated_failed_sign_ins(browser: Any, city: City) -> None:
    context = browser.new_context()
    context.set_default_timeout(90_000)  # a bound for a loaded 2-core machine
    page = context.new_page()
    page.goto(city.url + "/sign-in")
    for _ in range(5):
        page.get_by_label("Alamat email").fill(REVIEWER)
        page.get_by_label("Kata sandi").fill("salah-sekali")
        page.get_by_role("button", name="Masuk").click()
        expect(page.get_by_role("alert")).to_contain_text("Alamat email atau kata sandi salah")
    page.get_by_label("Alamat email").fill(REVIEWER)
    page.get_by_label("Kata sandi").fill(city.passwords[REVIEWER])
    page.get_by_role("button", name="Masuk").click()
    expect(page.get_by_role("alert")).to_contain_text("Terlalu banyak percobaan")
    assert page.url.startswith(city.url + "/sign-in")
    assert len([a for a in _audits("sign_in_failed") if a.actor == REVIEWER]) >= 5
    assert [a for a in _audits("sign_in_throttled") if a.actor == REVIEWER]
    context.close()


def test_the_session_cookie_is_httponly_samesite_lax_and_rotated_at_sign_in(
    browser: Any, city: City
) -> None:
    context = browser.new_context()
    context.set_default_timeout(90_000)  # a bound for a loaded 2-core machine
    page = context.new_page()
    page.goto(city.url + "/sign-in")
    before = {c["name"]: c for c in context.cookies()}["kinanti_session"]["value"]
    page.get_by_label("Alamat email").fill(OFFICER)
    page.get_by_label("Kata sandi").fill(city.passwords[OFFICER])
    page.get_by_role("button", name="Masuk").click()
    page.wait_for_url(city.url + "/")
    cookie = {c["name"]: c for c in context.cookies()}["kinanti_session"]
    assert cookie["httpOnly"] is True and cookie["sameSite"] == "Lax"
    assert cookie["secure"] is False  # plain http on loopback
    assert cookie["value"] != before
    context.close()


def test_behind_https_the_session_cookie_is_secure(city: City) -> None:
    env = {**os.environ, "KINANTI_PORTAL_URL": "https://portal.brida.example"}
    with run_portal(city.home, env) as portal:
        response = httpx.get(portal.url + "/sign-in")
    header = response.headers["set-cookie"].lower()
    assert "kinanti_session=" in header and "secure" in header
    assert "httponly" in header and "samesite=lax" in header
    assert response.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
