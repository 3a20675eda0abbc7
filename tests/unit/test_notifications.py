"""Rendering and message building: every template in both languages, escaping, safety."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from domain.enums import Language
from domain.errors import DeliveryError
from kinanti.settings import Settings
from notifications.config import MailConfig
from notifications.contexts import CONTEXT_MODELS
from notifications.files import FileSender
from notifications.mime import build_message, message_id_for
from notifications.render import TEMPLATES_DIR, Renderer, TemplateContextError, UnknownTemplateError

BASE_URL = "https://kinanti.mataramkota.go.id"
INNOVATION = {
    "innovation_code": "PLN-2026-003",
    "innovation_title": "Maharestu (Mataram Harum Rendah Stunting)",
    "unit_code": "DINKES",
    "unit_name": "Dinas Kesehatan",
    "stage": "planning",
    "year": 2026,
    "recipient_name": "Baiq Nurul Hidayati",
    "flow_run_id": "0b6c8f1e-5a7d-4b7e-9a51-2f0e6d1c9a10",
}
COMPLIANCE = {
    "unit_code": "PKM-AMP",
    "unit_name": "Puskesmas Ampenan",
    "year": 2026,
    "status": "at_risk",
    "innovations_counted": 0,
    "deadline": "2026-12-15",
    "reason": "Belum ada inovasi yang mencapai tahap uji coba tahun ini.",
    "recipient_name": "Kepala Puskesmas Ampenan",
}

CONTEXTS: dict[str, dict[str, Any]] = {
    "stage_entered": {**INNOVATION, "stage": "development"},
    "gate_waiting": {
        **INNOVATION,
        "gate_id": 41,
        "round": 1,
        "due_date": "2026-12-12",
        "checklist": ["Proposal complete", "The five criteria", "Budget is realistic"],
    },
    "gate_assigned": {
        **INNOVATION,
        "gate_id": 41,
        "round": 2,
        "due_date": "2026-12-12",
        "kind": "reassigned",
        "assigned_by": "Operator Brida",
        "reason": "Baiq sedang cuti",
    },
    "queue_digest": {
        "recipient_name": "Reviewer Brida",
        "unassigned": [
            {
                "innovation_code": "PLN-2026-003",
                "innovation_title": "Maharestu",
                "unit_name": "Dinas Kesehatan",
                "stage": "planning",
                "opened_on": "2026-11-20",
                "due_date": "2026-12-04",
            }
        ],
        "others": [
            {
                "innovation_code": "PLN-2026-004",
                "innovation_title": "Sigap",
                "unit_name": "Dinas Sosial",
                "stage": "development",
                "round": 2,
                "opened_on": "2026-11-21",
                "assignee": "Baiq Nurul Hidayati",
            }
        ],
    },
    "gate_decided": {
        **INNOVATION,
        "gate_id": 41,
        "decision": "revise",
        "reason": "Lengkapi data baseline stunting per kelurahan.",
        "reviewer": "reviewer@brida.mataramkota.go.id",
        "next_stage": None,
    },
    "consultation_booked": {
        **INNOVATION,
        "mentor_name": "Dr. Lalu Ahmad Zaini",
        "mentor_email": "zaini@inovator.ntb.id",
        "scheduled_at": "2026-12-02T01:30:00+00:00",
        "topic": "Rancang bangun dan indikator kemanfaatan",
    },
    "reminder": {**INNOVATION, "gate_id": 41, "waiting_days": 4, "due_date": "2026-12-12"},
    "escalation": {
        **INNOVATION,
        "gate_id": 41,
        "waiting_days": 8,
        "opened_on": "2026-11-20",
        "reviewers": ["Reviewer Brida"],
    },
    "compliance_warning": COMPLIANCE,
    "special_evaluation": {**COMPLIANCE, "status": "non_compliant"},
    "report_ready": {
        "year": 2026,
        "report_title": "Laporan IID Kota Mataram 2026",
        "report_path": ".kinanti/reports/iid-2026.xlsx",
        "flow_run_id": "7c1d",
        "recipient_name": "Kepala Brida",
    },
    "delivery_failed": {
        "outbox_id": 512,
        "failed_template": "gate_waiting",
        "failed_recipient": "salah@mataramkota.go.id",
        "error": "550 5.1.1 mailbox unavailable",
        "innovation_code": "PLN-2026-003",
        "recipient_name": "Brida",
    },
    "replication_step": {
        "adoption_id": 7,
        "step": "approved",
        "model": "fasilitasi",
        "stage": "perencanaan_pengembangan",
        "status": "approved",
        "origin_code": "SIDAK-SEHAT",
        "origin_title": "Sidak Sehat",
        "adopter_name": "Puskesmas Ampenan",
        "replica": "SIDAK-SEHAT-PKM-AMPENAN",
    },
    "follow_up_due": {
        "kind": "reminder",
        "follow_up_id": 9,
        "text": "Kirim data baseline stunting per kelurahan",
        "due_on": "2026-12-10",
        "overdue_days": 2,
        "owner_name": "Baiq Nurul Hidayati",
        "unit_code": "DINKES",
        "unit_name": "Dinas Kesehatan",
        "topic": "Rancang bangun dan indikator kemanfaatan",
        "consultation_id": 12,
    },
    "public_request": {
        "kind": "received",
        "reference": "KK-7QH2M9TX",
        "request_kind": "idea",
        "subject": "Bank sampah di setiap lingkungan",
        "requester": "Komunitas Peduli Sampah Ampenan",
    },
    "digest": {
        "recipient_name": "Kepala Brida",
        "items": [
            {"template": "reminder", "context": {**INNOVATION, "gate_id": 1, "waiting_days": 4}},
            {
                "template": "escalation",
                "context": {
                    **INNOVATION,
                    "gate_id": 2,
                    "waiting_days": 9,
                    "opened_on": "2026-11-19",
                },
            },
        ],
    },
    "portal_link": {
        "recipient_name": "Sri Mulyani",
        "link_url": BASE_URL + "/set-password/one-time-token",
        "purpose": "first",
        "valid_hours": 24,
    },
}

STAGE_WORD = {Language.ID: "Perencanaan", Language.EN: "Planning"}


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer(base_url=BASE_URL + "/", zone=ZoneInfo("Asia/Makassar"))


def test_every_template_has_a_context_model_and_both_files_in_both_languages() -> None:
    assert set(CONTEXTS) == set(CONTEXT_MODELS)
    for name in CONTEXT_MODELS:
        for lang in Language:
            for ext in ("txt", "html"):
                assert (TEMPLATES_DIR / lang.value / f"{name}.{ext}").is_file(), (name, lang)


@pytest.mark.parametrize("language", list(Language))
@pytest.mark.parametrize("template", sorted(CONTEXTS))
def test_every_template_renders_in_both_languages(
    renderer: Renderer, template: str, language: Language
) -> None:
    email = renderer.render(template, language, CONTEXTS[template])

    assert email.subject.startswith("[Kinanti] ")
    assert "\n" not in email.subject and "\r" not in email.subject
    assert f'<html lang="{language.value}">' in email.html
    assert BASE_URL + "/" in email.text and f'href="{BASE_URL}/' in email.html
    context = CONTEXTS[template]
    for key in ("innovation_code", "unit_name"):
        if key in context and template != "delivery_failed":
            assert context[key] in email.text, key
    if "recipient_name" in context:
        assert context["recipient_name"] in email.text
    expected_action = "Yang perlu dilakukan" if language is Language.ID else "What to do"
    assert expected_action in email.text
    assert "Yth." in email.text if language is Language.ID else "Dear" in email.text


@pytest.mark.parametrize(
    ("language", "words"),
    [
        (Language.ID, ("Perencanaan", "perlu revisi")),
        (Language.EN, ("Planning", "revision requested")),
    ],
)
def test_stage_and_decision_are_shown_in_the_recipients_language(
    renderer: Renderer, language: Language, words: tuple[str, str]
) -> None:
    email = renderer.render("gate_decided", language, CONTEXTS["gate_decided"])
    for word in words:
        assert word in email.subject + email.text
    assert "planning" not in email.text.replace("Planning", "")
    assert CONTEXTS["gate_decided"]["reason"] in email.text


@pytest.mark.parametrize(
    ("language", "assigned", "words"),
    [
        (Language.ID, True, ("Ditugaskan kepada Anda", "Anggaran: Rp 1.250.000")),
        (Language.EN, True, ("Assigned to you", "Budget: Rp 1,250,000")),
        (Language.ID, False, ("antrean peran", "Anggaran: Rp 1.250.000")),
    ],
)
def test_the_gate_email_says_whose_it_is_and_shows_the_budget_in_rupiah(
    renderer: Renderer, language: Language, assigned: bool, words: tuple[str, ...]
) -> None:
    context = {**CONTEXTS["gate_waiting"], "assigned": assigned, "budget": "1250000.00"}
    email = renderer.render("gate_waiting", language, context)
    for word in words:
        assert word in email.subject + email.text
        assert word in email.html


def test_the_queue_digest_lists_unassigned_gates_and_who_holds_the_others(
    renderer: Renderer,
) -> None:
    email = renderer.render("queue_digest", Language.ID, CONTEXTS["queue_digest"])
    assert "1 belum ditugaskan" in email.subject
    assert "PLN-2026-003 Maharestu (Dinas Kesehatan)" in email.text
    assert "20 November 2026" in email.text and "4 Desember 2026" in email.text
    assert "PLN-2026-004 Sigap" in email.text and "Baiq Nurul Hidayati" in email.text
    assert email.text.index("PLN-2026-003") < email.text.index("PLN-2026-004")


def test_link_points_to_the_flow_run_or_a_sensible_page(renderer: Renderer) -> None:
    with_run = renderer.render("stage_entered", "id", INNOVATION)
    assert f"{BASE_URL}/runs/flow-run/{INNOVATION['flow_run_id']}" in with_run.text
    without = renderer.render("stage_entered", "id", {**INNOVATION, "flow_run_id": None})
    assert f"{BASE_URL}/runs" in without.text and "flow-run" not in without.text


def test_consultation_time_is_shown_in_local_time(renderer: Renderer) -> None:
    email = renderer.render("consultation_booked", "id", CONTEXTS["consultation_booked"])
    assert "2 Desember 2026 09:30 WITA" in email.text
    assert "Dr. Lalu Ahmad Zaini" in email.html
    elsewhere = Renderer(base_url=BASE_URL, zone=ZoneInfo("Asia/Jakarta"))
    email = elsewhere.render("consultation_booked", "en", CONTEXTS["consultation_booked"])
    assert "2 December 2026 08:30 WIB" in email.text


def test_a_context_that_does_not_fit_names_the_template_and_the_field(renderer: Renderer) -> None:
    broken = {k: v for k, v in CONTEXTS["gate_waiting"].items() if k != "gate_id"}
    with pytest.raises(TemplateContextError) as info:
        renderer.render("gate_waiting", "id", broken)
    assert "gate_waiting" in str(info.value) and "gate_id" in str(info.value)

    with pytest.raises(TemplateContextError, match="due_date"):
        renderer.render("gate_waiting", "id", {**CONTEXTS["gate_waiting"], "due_date": "soon"})
    with pytest.raises(UnknownTemplateError, match="no_such_template"):
        renderer.render("no_such_template", "id", {})


def test_a_digest_item_is_validated_with_its_own_model(renderer: Renderer) -> None:
    bad = {"items": [{"template": "reminder", "context": {**INNOVATION}}]}
    with pytest.raises(TemplateContextError, match="waiting_days"):
        renderer.render("digest", "en", bad)


def test_script_in_a_title_is_escaped_in_html_only(renderer: Renderer) -> None:
    context = {**CONTEXTS["gate_waiting"], "innovation_title": "Si <script>alert(1)</script>"}
    email = renderer.render("gate_waiting", "en", context)
    assert "<script>" not in email.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in email.html
    assert "Si <script>alert(1)</script>" in email.text


def config_for(tmp_path: Path, **kw: Any) -> MailConfig:
    return Settings(
        home=tmp_path, database_url=f"sqlite:///{tmp_path / 'k.db'}", **kw
    ).mail_config()


def test_message_has_both_parts_safe_headers_and_a_stable_message_id(
    renderer: Renderer, tmp_path: Path
) -> None:
    config = config_for(tmp_path)
    context = {**CONTEXTS["gate_waiting"], "innovation_title": "Maharestu\r\nBcc: x@y"}
    email = build_message(
        renderer.render("gate_waiting", "id", context),
        config=config,
        to_email="kepala.brida@mataramkota.go.id",
        to_name="Kepala Brida\r\nBcc: evil@example.com",
        key="gate-opened:41|kepala.brida@mataramkota.go.id|gate_waiting",
    )
    msg = email.message
    assert msg.get_all("Bcc") is None
    assert "Bcc: x@y" in str(msg["Subject"]) and "\n" not in str(msg["Subject"])
    assert [a.addr_spec for a in msg["To"].addresses] == ["kepala.brida@mataramkota.go.id"]
    assert msg["Message-ID"] == message_id_for(
        "gate-opened:41|kepala.brida@mataramkota.go.id|gate_waiting", config.region_code
    )
    assert msg["Message-ID"].endswith("@kinanti.5271>")
    assert msg.get_content_type() == "multipart/alternative"
    plain = msg.get_body(("plain",))
    html = msg.get_body(("html",))
    assert plain is not None and html is not None
    assert "Maharestu" in plain.get_content() and "<html" in html.get_content()
    assert email.sender == "kinanti@brida.mataramkota.go.id"
    assert b"\r\n" in email.data and b"\n\n" not in email.data.replace(b"\r\n", b"")


@pytest.mark.parametrize("address", ["a@b\r\nBcc: c@d.go.id", "no-at-sign", "x@", "a b@c.id"])
def test_an_invalid_recipient_address_is_a_permanent_error(
    renderer: Renderer, tmp_path: Path, address: str
) -> None:
    rendered = renderer.render("stage_entered", "id", INNOVATION)
    with pytest.raises(DeliveryError) as info:
        build_message(
            rendered, config=config_for(tmp_path), to_email=address, to_name=None, key="k"
        )
    assert info.value.permanent


def test_attachments_come_only_from_inside_the_evidence_folder(
    renderer: Renderer, tmp_path: Path
) -> None:
    evidence = tmp_path / "evidence"
    (evidence / "PLN-2026-003").mkdir(parents=True)
    (evidence / "PLN-2026-003" / "sk-kepala-dinas.pdf").write_bytes(b"%PDF-1.4 bukti")
    (tmp_path / "secret.txt").write_text("rahasia")
    config = config_for(tmp_path, evidence_dir=evidence)
    rendered = renderer.render("report_ready", "id", CONTEXTS["report_ready"])

    email = build_message(
        rendered,
        config=config,
        to_email="brida@mataramkota.go.id",
        to_name="Brida",
        key="r",
        attachments=["PLN-2026-003/sk-kepala-dinas.pdf"],
    )
    parts = list(email.message.iter_attachments())
    assert [p.get_filename() for p in parts] == ["sk-kepala-dinas.pdf"]
    assert parts[0].get_content() == b"%PDF-1.4 bukti"
    assert email.message.get_body(("html",)) is not None

    for outside in ["../secret.txt", str(tmp_path / "secret.txt"), "PLN-2026-003/../../secret.txt"]:
        with pytest.raises(DeliveryError, match="outside the evidence folder") as info:
            build_message(
                rendered,
                config=config,
                to_email="brida@mataramkota.go.id",
                to_name=None,
                key="r",
                attachments=[outside],
            )
        assert info.value.permanent


def test_file_sender_writes_one_findable_eml_per_message_id(
    renderer: Renderer, tmp_path: Path
) -> None:
    config = config_for(tmp_path)
    rendered = renderer.render("gate_waiting", "id", CONTEXTS["gate_waiting"])
    email = build_message(
        rendered,
        config=config,
        to_email="kepala.brida@mataramkota.go.id",
        to_name="Kepala Brida",
        key="gate-opened:41|kepala|gate_waiting",
        label="PLN-2026-003_gate_waiting",
    )
    with FileSender(config.outbox_dir) as sender:
        first = sender.send(email)
        again = sender.send(email)
    with FileSender(config.outbox_dir) as sender:  # a new batch (another process) also sees it
        later = sender.send(email)
    files = list(config.outbox_dir.glob("*.eml"))
    assert len(files) == 1 and first == again == later == str(files[0])
    name = files[0].name
    assert "PLN-2026-003_gate_waiting_kepala.brida@mataramkota.go.id" in name
    assert name[:17] == dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H%M%S")[:17]
    assert not list(config.outbox_dir.glob(".tmp-*"))

    from email import message_from_bytes
    from email.policy import default

    parsed = message_from_bytes(files[0].read_bytes(), policy=default)
    assert parsed["Message-ID"] == email.message_id
    assert "Menunggu keputusan" in str(parsed["Subject"])
    body = parsed.get_body(("plain",))
    assert body is not None and "Daftar periksa" in body.get_content()


@pytest.mark.parametrize(
    ("template", "path"),
    [
        ("stage_entered", "/innovations/PLN-2026-0001"),
        ("gate_waiting", "/gates/PLN-2026-0001"),
        ("gate_decided", "/innovations/PLN-2026-0001"),
        ("escalation", "/gates/PLN-2026-0001"),
        ("compliance_warning", "/compliance"),
    ],
)
def test_with_a_portal_emails_link_to_the_page_where_the_recipient_acts(
    template: str, path: str
) -> None:
    portal = "https://portal.brida.example"
    renderer = Renderer(base_url=BASE_URL, zone=ZoneInfo("Asia/Makassar"), portal_url=portal + "/")
    context = {**CONTEXTS[template], "innovation_code": "PLN-2026-0001"}
    email = renderer.render(template, Language.ID, context)
    assert portal + path in email.text and f'href="{portal}{path}"' in email.html
    assert BASE_URL not in email.text


def test_only_brida_operators_messages_link_to_prefect_runs() -> None:
    renderer = Renderer(
        base_url=BASE_URL, zone=ZoneInfo("Asia/Makassar"), portal_url="https://portal.brida.example"
    )
    email = renderer.render("delivery_failed", Language.ID, CONTEXTS["delivery_failed"])
    assert BASE_URL in email.text and "portal.brida.example" not in email.text


def test_the_written_message_reads_back_as_the_standard_library_builds_it(
    renderer: Renderer, tmp_path: Path
) -> None:
    from email import message_from_bytes
    from email.headerregistry import Address
    from email.message import EmailMessage
    from email.policy import SMTP, default

    config = config_for(tmp_path)
    title = "Pemantauan gizi “Sehati” — kelurahan Ampenan, Cakranegara dan Sekarbela " * 2
    rendered = renderer.render(
        "gate_waiting", "id", {**CONTEXTS["gate_waiting"], "innovation_title": title}
    )
    key = "gate-opened:41|baiq@mataramkota.go.id|gate_waiting"
    ours = build_message(
        rendered,
        config=config,
        to_email="baiq@mataramkota.go.id",
        to_name="Baiq Nurul Hidayati – Kepala",
        key=key,
    )
    reference = EmailMessage(policy=SMTP)
    reference["Subject"] = rendered.subject
    reference["From"] = Address("Brida Kota Mataram", addr_spec="kinanti@brida.mataramkota.go.id")
    reference["To"] = Address("Baiq Nurul Hidayati – Kepala", addr_spec="baiq@mataramkota.go.id")
    reference["Message-ID"] = message_id_for(key, config.region_code)
    reference["Auto-Submitted"] = "auto-generated"
    reference["X-Kinanti-Key"] = key
    reference.set_content(rendered.text, cte="quoted-printable")
    reference.add_alternative(rendered.html, subtype="html", cte="quoted-printable")

    mine = message_from_bytes(ours.data, policy=default)
    theirs = message_from_bytes(reference.as_bytes(), policy=default)
    for name in ("Subject", "From", "To", "Message-ID", "Auto-Submitted", "X-Kinanti-Key"):
        assert str(mine[name]) == str(theirs[name]), name
    assert [p.get_content_type() for p in mine.walk()] == [
        p.get_content_type() for p in theirs.walk()
    ]
    for kind in ("plain", "html"):
        my_part, their_part = mine.get_body((kind,)), theirs.get_body((kind,))
        assert my_part is not None and their_part is not None
        mine_text, their_text = (
            part.get_content().replace("\r\n", "\n") for part in (my_part, their_part)
        )
        assert mine_text == their_text == getattr(rendered, "text" if kind == "plain" else kind)
        assert my_part.get_content_charset() == "utf-8"
    assert mine["Date"] is not None and mine["MIME-Version"] == "1.0"
    assert max(len(line) for line in ours.data.split(b"\r\n")) <= 78
