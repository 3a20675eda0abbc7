"""The portal end to end in a real browser against a real Prefect API: an officer submits,
a reviewer approves from the inbox, the waiting run resumes, the officer sees the next
stage, and the email in a real SMTP server links to that page. Screenshots at 1280 px and
390 px are kept under ``test-artifacts/portal/`` and checked to render."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from domain.enums import GateStatus, Stage
from domain.models import AuditRecord, GateRequest, Innovation
from kinanti.db import get_engine, unit_of_work
from kinanti.demo.actors import FULL_DESIGN_APPENDIX
from kinanti.orchestration.handoff import LIFECYCLE_DEPLOYMENT
from kinanti.orchestration.runs import paused_runs
from kinanti.orchestration.runtime import spawn_runner, stop_process_group, wait_for_deployments
from kinanti.settings import get_settings
from tests.browser.conftest import City, sign_in
from tests.browser.support import (
    OFFICER,
    REVIEWER,
    SIGNED_IN_PEOPLE,
    Mailbox,
    free_port,
    give_passwords,
    run_portal,
    screenshot,
    smtp_env,
)
from tests.conftest import BACKENDS
from tests.support.engine_support import (
    kinanti_env,
    load_city,
    new_database,
    step_of,
    wait_until,
)

pytestmark = [pytest.mark.e2e, pytest.mark.prefect]

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "portal"
CODE = "SEHATKU-PORTAL"
TITLE = "Sehatku: antrean puskesmas dari ponsel"


@pytest.fixture(scope="module", params=BACKENDS)
def city(
    request: pytest.FixtureRequest,
    prefect_api: str,
    tmp_path_factory: pytest.TempPathFactory,
    mailbox: Mailbox,
) -> Iterator[City]:
    home = tmp_path_factory.mktemp(f"portal-e2e-{request.param}")
    port = free_port()
    # the runner's emails must link to this portal
    extra = {
        **smtp_env(mailbox),
        "PREFECT_API_URL": prefect_api,
        "KINANTI_PORTAL_URL": f"http://127.0.0.1:{port}",
    }
    with new_database(request.param, home) as url, kinanti_env(home, url, **extra):
        load_city()
        passwords = give_passwords(url, SIGNED_IN_PEOPLE)
        runner = spawn_runner(get_settings(), prefect_api, only="lifecycle")
        try:
            wait_for_deployments([LIFECYCLE_DEPLOYMENT], runner)
            with run_portal(home, extra, port) as portal:
                yield City(portal.url, home, url, passwords, mailbox, portal)
        finally:
            stop_process_group(runner)


def _screenshot(page: Any, name: str, backend: str) -> Path:
    return screenshot(page, ARTIFACTS, f"{backend}-{name}")


def _gate_waiting(code: str) -> bool:
    step = step_of(code)
    return bool(
        step.action == "gate"
        and step.gate_flow_run_id
        and step.gate_flow_run_id in paused_runs([step.gate_flow_run_id])
    )


def test_officer_submits_reviewer_approves_run_resumes_and_the_email_links_back(
    browser: Any, city: City, request: pytest.FixtureRequest
) -> None:
    backend = request.node.callspec.params["city"]
    code = f"{CODE}-{backend[:2].upper()}"

    # 1. the officer signs in and submits a proposal, checking the answers first
    officer = sign_in(browser, city, OFFICER)
    officer.get_by_role("link", name="Inovasi unit saya").click()
    officer.get_by_role("link", name="Ajukan proposal baru").click()
    officer.get_by_label("Kode inovasi").fill(code)
    officer.get_by_label("Nama inovasi").fill(TITLE)
    officer.get_by_label("Inisiator", exact=True).select_option("OPD")
    officer.get_by_label("Jenis inovasi").select_option("Digital")
    officer.get_by_label("Bentuk inovasi").select_option("Inovasi Pelayanan Publik")
    officer.get_by_label("Urusan pemerintahan utama").fill("Kesehatan")
    officer.get_by_label("Tematik").fill("Digitalisasi Layanan Pemerintahan")
    officer.get_by_label("Rancang bangun").fill(FULL_DESIGN_APPENDIX * 2)
    officer.get_by_label("Tujuan").fill("Memangkas waktu tunggu di puskesmas.")
    officer.get_by_label("Manfaat").fill("Warga tidak perlu antre berjam-jam.")
    officer.get_by_label("Anggaran (Rp)").fill("25000000")
    officer.get_by_role("button", name="Lanjut: periksa jawaban").click()
    expect(officer.get_by_role("heading", name="Periksa jawaban Anda")).to_be_visible()
    words = len((FULL_DESIGN_APPENDIX * 2).split())
    expect(officer.get_by_text(f"{words} kata (minimal 300)")).to_be_visible()
    _screenshot(officer, "check-answers-1280", backend)
    officer.get_by_role("button", name="Ajukan proposal").click()
    officer.wait_for_url(re.compile(f"/innovations/{code}"))
    expect(officer.get_by_role("heading", name=TITLE)).to_be_visible()
    assert "Perencanaan" in officer.locator(".step-current").inner_text()

    # the portal started the lifecycle run; it waits at the planning gate
    wait_until(lambda: _gate_waiting(code), timeout=180, what="the planning gate to wait")

    # the gate has one assignee, who alone is emailed; they hand it back to the role's queue
    assignee = _assignee_hands_back(city, code)

    # 2. the reviewer signs in, finds it in the inbox, claims it there, approves it
    reviewer = sign_in(browser, city, REVIEWER)
    reviewer.get_by_role("link", name="Gerbang menunggu", exact=True).click()
    item = reviewer.locator(".card", has_text=TITLE)
    assert "Perencanaan" in item.inner_text() and "batas" in item.inner_text()
    assert "Belum ditugaskan" in item.inner_text(), assignee
    item.get_by_role("button", name="Ambil gerbang ini").click()
    expect(reviewer.get_by_text("Gerbang ini kini ditugaskan kepada Anda.")).to_be_visible()
    item = reviewer.locator(".card", has_text=TITLE)
    assert "Ditugaskan kepada Anda" in item.inner_text()
    assert item.get_by_role("button", name="Ambil gerbang ini").count() == 0
    _screenshot(reviewer, "inbox-1280", backend)
    reviewer.set_viewport_size({"width": 390, "height": 844})
    _screenshot(reviewer, "inbox-390", backend)
    reviewer.set_viewport_size({"width": 1280, "height": 900})
    item.get_by_role("link", name=TITLE).click()
    expect(reviewer.get_by_role("heading", name=re.compile("Gerbang Perencanaan"))).to_be_visible()
    _screenshot(reviewer, "gate-1280", backend)
    with unit_of_work(get_engine()) as session:
        innovation = session.scalars(select(Innovation).where(Innovation.code == code)).one()
        gate = session.scalars(
            select(GateRequest).where(GateRequest.innovation_id == innovation.id)
        ).one()
        run_id = gate.flow_run_id
    assert run_id and run_id in paused_runs([run_id])
    reviewer.get_by_label("Setujui").check()
    reviewer.get_by_label("Alasan").fill("Lengkap dan sesuai lima kriteria")
    reviewer.get_by_role("button", name="Kirim keputusan").click()
    reviewer.wait_for_url(re.compile(f"/innovations/{code}"))

    # 3. the waiting run resumed and recorded the decision of the signed-in reviewer
    with unit_of_work(get_engine()) as session:
        innovation = session.scalars(select(Innovation).where(Innovation.code == code)).one()
        gate = session.get_one(GateRequest, gate.id)
        assert innovation.stage is Stage.DEVELOPMENT
        assert gate.status is GateStatus.APPROVED and gate.decided_by == REVIEWER
        audited = session.scalars(
            select(AuditRecord).where(AuditRecord.event == "decision", AuditRecord.target == code)
        ).one()
        assert audited.actor == REVIEWER and audited.detail["via"] == "resume"
    assert run_id not in paused_runs([run_id])
    _assert_run_resumed(run_id)

    # 4. the officer's page shows the next stage
    officer.reload()
    assert "Pengembangan" in officer.locator(".step-current").inner_text()
    assert "Perencanaan" in officer.locator(".step-done").first.inner_text()
    _screenshot(officer, "innovation-1280", backend)
    officer.set_viewport_size({"width": 390, "height": 844})
    phone = _screenshot(officer, "innovation-390", backend)
    expect(officer.get_by_role("heading", name=TITLE)).to_be_visible()
    assert officer.locator(".timeline").bounding_box()["width"] <= 390  # type: ignore[index]
    del phone

    # 5. the email in the real SMTP server links to that page
    link = f"{city.url}/innovations/{code}"
    message = city.mailbox.wait_for(OFFICER, link)
    assert code in str(message["Subject"])
    html = message.get_body(("html",))
    assert html is not None and f'href="{link}"' in html.get_content()
    officer.goto(link)
    assert "Pengembangan" in officer.locator(".step-current").inner_text()
    officer.context.close()
    reviewer.context.close()


def _assignee_hands_back(city: City, code: str) -> str:
    """The gate's assignee got the gate's email and no other reviewer did; then they hand
    it back (the domain's change, as the portal's button makes it)."""
    from domain.access import actor_of
    from domain.assignment import By, hand_back_gate
    from domain.enums import Role
    from domain.models import Person, PersonRole
    from kinanti.publish import publish

    with unit_of_work(get_engine()) as session:
        innovation = session.scalars(select(Innovation).where(Innovation.code == code)).one()
        gate = session.scalars(
            select(GateRequest).where(GateRequest.innovation_id == innovation.id)
        ).one()
        assert gate.assignee_id is not None
        assignee = session.get_one(Person, gate.assignee_id)
        reviewers = set(
            session.scalars(
                select(Person.email).join(PersonRole).where(PersonRole.role == Role.REVIEWER)
            )
        )
    city.mailbox.wait_for(assignee.email, code)
    for other in reviewers - {assignee.email}:
        assert not [m for m in city.mailbox.to(other) if code in str(m["Subject"])], other
    with unit_of_work(get_engine()) as session:
        person = session.get_one(Person, assignee.id)
        result = hand_back_gate(session, code, By(actor_of(session, person)), "dinas luar")
        committed = result.committed(session)
    publish(committed)
    return assignee.email


def _assert_run_resumed(run_id: str) -> None:
    from prefect import get_client
    from prefect.client.schemas.objects import StateType

    def moved_on() -> bool:
        with get_client(sync_client=True) as client:
            run = client.read_flow_run(UUID(run_id))
        return run.state is not None and run.state.type is not StateType.PAUSED

    wait_until(moved_on, timeout=60, what="the flow run to resume")


@pytest.fixture(scope="module", autouse=True)
def _fresh_artifacts() -> None:
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
