"""Evidence: claim, verify, reset to pending, and bad files refused cleanly."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.enums import Role, VerificationStatus
from domain.errors import NotAuthorizedError, NotFoundError, ValidationError
from domain.evidence import EvidenceStore, claim_indicator, list_claims, verify_claim
from domain.models import DomainEventRecord, IndicatorClaim
from tests.support.factories import Factory

PDF = b"%PDF-1.4\n% Kinanti test evidence\n" + b"0" * 200
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100
MP4 = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 100


@pytest.fixture
def store(tmp_path: Path) -> EvidenceStore:
    return EvidenceStore(tmp_path / "evidence", max_bytes=10_000)


def _file(tmp_path: Path, name: str, content: bytes) -> Path:
    path = tmp_path / "src" / name
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(content)
    return path


@pytest.fixture
def people(make: Factory) -> dict[str, str]:
    unit = make.unit()
    return {
        "officer": make.person(roles=[Role.UNIT_OFFICER], unit=unit).email,
        "reviewer": make.person(roles=[Role.REVIEWER]).email,
        "innovator": make.person(roles=[Role.INNOVATOR]).email,
    }


def test_claim_with_file_is_stored_by_hash_under_year_and_code(
    session: Session, make: Factory, store: EvidenceStore, tmp_path: Path, people: dict
) -> None:
    inv = make.innovation(year=2026)
    change = claim_indicator(
        session,
        store,
        code=inv.code,
        indicator="sid01",
        level=2,
        actor=people["officer"],
        file=_file(tmp_path, "sk.pdf", PDF),
    )
    claim = change.claim
    stored = Path(claim.file_path or "")
    assert stored.parent == store.root.resolve() / "2026" / inv.code
    assert stored.name == f"{claim.sha256}.pdf" and stored.read_bytes() == PDF
    assert (claim.indicator, claim.claimed_level, claim.status) == (
        "sid01_regulasi",
        2,
        VerificationStatus.PENDING,
    )
    names = session.scalars(select(DomainEventRecord.name)).all()
    assert "kinanti.evidence.claimed" in names


def test_verify_accept_then_changed_claim_resets_to_pending(
    session: Session, make: Factory, store: EvidenceStore, tmp_path: Path, people: dict
) -> None:
    inv = make.innovation(year=2026)
    pdf = _file(tmp_path, "sk.pdf", PDF)
    claim_indicator(
        session,
        store,
        code=inv.code,
        indicator="sid01_regulasi",
        level=3,
        actor=people["officer"],
        file=pdf,
    )
    claim = verify_claim(
        session,
        code=inv.code,
        indicator="sid01",
        decision="accept",
        actor=people["reviewer"],
        level=2,
    )
    assert (claim.status, claim.claimed_level, claim.verified_level) == (
        VerificationStatus.ACCEPTED,
        3,
        2,
    )
    same = claim_indicator(
        session, store, code=inv.code, indicator="sid01", level=3, actor=people["officer"], file=pdf
    )
    assert not same.changed and same.claim.status is VerificationStatus.ACCEPTED
    changed = claim_indicator(
        session, store, code=inv.code, indicator="sid01", level=2, actor=people["officer"], file=pdf
    )
    assert changed.reset
    assert changed.claim.status is VerificationStatus.PENDING
    assert changed.claim.verified_level is None and changed.claim.verified_by is None
    verify_claim(
        session, code=inv.code, indicator="sid01", decision="accept", actor=people["reviewer"]
    )
    other_file = claim_indicator(
        session,
        store,
        code=inv.code,
        indicator="sid01",
        level=2,
        actor=people["officer"],
        file=_file(tmp_path, "b.png", PNG),
    )
    assert other_file.reset and other_file.claim.status is VerificationStatus.PENDING


def test_reject_needs_a_reason_and_a_verifier_role(
    session: Session, make: Factory, store: EvidenceStore, people: dict
) -> None:
    inv = make.innovation(year=2026)
    claim_indicator(
        session,
        store,
        code=inv.code,
        indicator="sid20",
        level=3,
        actor=people["officer"],
        link="https://youtu.be/abc",
    )
    with pytest.raises(ValidationError, match="reason"):
        verify_claim(
            session, code=inv.code, indicator="sid20", decision="reject", actor=people["reviewer"]
        )
    with pytest.raises(NotAuthorizedError):
        verify_claim(
            session, code=inv.code, indicator="sid20", decision="accept", actor=people["innovator"]
        )
    claim = verify_claim(
        session,
        code=inv.code,
        indicator="sid20",
        decision="reject",
        actor=people["reviewer"],
        reason="video tidak menampilkan unsur",
    )
    assert claim.status is VerificationStatus.REJECTED
    (view,) = list_claims(session, inv.code)
    assert view.status == "rejected" and view.reason == "video tidak menampilkan unsur"


def test_spd_claim_belongs_to_the_region(
    session: Session, store: EvidenceStore, tmp_path: Path, people: dict
) -> None:
    change = claim_indicator(
        session,
        store,
        code=None,
        indicator="spd10",
        level=3,
        year=2026,
        actor=people["officer"],
        file=_file(tmp_path, "opini.pdf", PDF),
    )
    assert change.claim.innovation_id is None and change.claim.aspect == "spd"
    assert Path(change.claim.file_path or "").parent.name == "SPD"
    verify_claim(
        session,
        code=None,
        indicator="spd10_opini_bpk",
        decision="accept",
        actor=people["reviewer"],
        year=2026,
    )
    assert list_claims(session, None)[0].status == "accepted"


@pytest.mark.parametrize(
    ("name", "content", "problem"),
    [
        ("missing.pdf", None, "does not exist"),
        ("big.pdf", PDF + b"x" * 20_000, "limit"),
        ("virus.exe", b"MZ" + b"\x00" * 50, "not allowed"),
        ("notes.txt", b"hello", "not allowed"),
        ("fake.pdf", b"<html>not a pdf</html>", "not a real pdf"),
        ("empty.png", b"", "empty"),
    ],
)
def test_bad_files_are_refused_and_leave_nothing(
    session: Session,
    make: Factory,
    store: EvidenceStore,
    tmp_path: Path,
    people: dict,
    name: str,
    content: bytes | None,
    problem: str,
) -> None:
    inv = make.innovation(year=2026)
    path = tmp_path / "src" / name if content is None else _file(tmp_path, name, content)
    with pytest.raises(ValidationError, match=problem):
        claim_indicator(
            session,
            store,
            code=inv.code,
            indicator="sid01",
            level=1,
            actor=people["officer"],
            file=path,
        )
    assert session.scalars(select(IndicatorClaim)).all() == []
    leftovers = list(store.root.rglob("*")) if store.root.exists() else []
    assert [p for p in leftovers if p.is_file()] == []


def test_mp4_and_links_are_accepted_bad_links_are_not(
    session: Session, make: Factory, store: EvidenceStore, tmp_path: Path, people: dict
) -> None:
    inv = make.innovation(year=2026)
    claim_indicator(
        session,
        store,
        code=inv.code,
        indicator="sid20",
        level=2,
        actor=people["officer"],
        file=_file(tmp_path, "v.mp4", MP4),
    )
    for link in ("ftp://example.org/x.pdf", "javascript:alert(1)", "not a url"):
        with pytest.raises(ValidationError, match="http"):
            claim_indicator(
                session,
                store,
                code=inv.code,
                indicator="sid19",
                level=1,
                actor=people["officer"],
                link=link,
            )
    with pytest.raises(ValidationError, match="exactly one"):
        claim_indicator(
            session, store, code=inv.code, indicator="sid19", level=1, actor=people["officer"]
        )


def test_a_folder_outside_the_store_is_refused(store: EvidenceStore) -> None:
    for owner in ("..", "../etc", "A/../../B", ""):
        with pytest.raises(ValidationError):
            store.folder(2026, owner)


def test_unknown_indicator_or_innovation_is_named(
    session: Session, make: Factory, store: EvidenceStore, people: dict
) -> None:
    inv = make.innovation(year=2026)
    with pytest.raises(NotFoundError, match="sid01_regulasi"):
        claim_indicator(
            session,
            store,
            code=inv.code,
            indicator="sid42",
            level=1,
            actor=people["officer"],
            link="https://x.org",
        )
    with pytest.raises(NotFoundError):
        claim_indicator(
            session,
            store,
            code="NOPE-1",
            indicator="sid01",
            level=1,
            actor=people["officer"],
            link="https://x.org",
        )


def test_the_claim_records_the_kemanfaatan_basis_chosen(
    session: Session, make: Factory, store: EvidenceStore, people: dict
) -> None:
    inv = make.innovation(year=2026)
    claim = dict(code=inv.code, indicator="sid18", level=3, actor=people["officer"])
    link = "https://mataramkota.go.id/data/penerima.pdf"
    change = claim_indicator(session, store, link=link, basis="pengguna_layanan", **claim)
    assert change.claim.measurement_basis == "pengguna_layanan"
    again = claim_indicator(session, store, link=link, basis="penerima_manfaat", **claim)
    assert again.changed and again.claim.measurement_basis == "penerima_manfaat"
    with pytest.raises(ValidationError, match="'jumlah' is not one of: penerima_manfaat"):
        claim_indicator(session, store, link=link, basis="jumlah", **claim)
    old = make.innovation(year=2023)
    with pytest.raises(ValidationError, match="none in this year"):
        claim_indicator(
            session, store, link=link, basis="penerima_manfaat", **{**claim, "code": old.code}
        )
