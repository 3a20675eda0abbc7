"""Evidence (bukti dukung) for IID indicator claims: store, claim, verify, list.

A claim is one indicator level with one piece of evidence: a file (PDF, PNG, JPG/JPEG,
MP4) copied into the evidence store, or an http(s) link (e.g. the SID 20 video). SID
claims belong to an innovation; SPD claims belong to the region (no innovation).

- Files are stored under ``<evidence root>/<year>/<owner code>/<sha256><suffix>``: content
  addressed, written to a temporary file in the same folder and renamed into place, so a
  failed copy leaves nothing half-written; the size limit is checked while copying.
- A changed claim (level, file or link) resets verification to pending. Re-claiming the
  same level with the same evidence changes nothing.
- A verifier (brida_operator, reviewer or head_of_brida) accepts (optionally at a lower
  level) or rejects with a reason. Claimed and verified levels are both kept.

Every change records a domain event. Functions never commit (the caller's transaction).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import tempfile
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from urllib.parse import urlparse

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain import access
from domain.changes import record_event
from domain.enums import Role, VerificationStatus
from domain.errors import NotAuthorizedError, NotFoundError, ValidationError
from domain.iid.catalogue import Indicator, catalogue_for_year
from domain.iid.scoring import check_level
from domain.messages import words
from domain.models import IndicatorClaim, Innovation, Person, utcnow
from domain.queries import get_innovation, get_person, person_roles

VERIFIER_ROLES = frozenset({Role.BRIDA_OPERATOR, Role.REVIEWER, Role.HEAD_OF_BRIDA})
REGION_OWNER = "SPD"
"""Folder name of the region's SPD evidence (beside the innovation codes)."""

#: Allowed suffixes and the magic bytes the file must start with (``None``: checked apart).
ALLOWED_TYPES: dict[str, bytes | None] = {
    ".pdf": b"%PDF-",
    ".png": b"\x89PNG\r\n\x1a\n",
    ".jpg": b"\xff\xd8\xff",
    ".jpeg": b"\xff\xd8\xff",
    ".mp4": None,  # ISO media: bytes 4..8 are b"ftyp"
}
_OWNER_RE = re.compile(r"^[A-Z0-9][A-Z0-9._-]{0,39}$")
_CHUNK = 1024 * 1024


class Decision(StrEnum):
    ACCEPT = "accept"
    REJECT = "reject"


@dataclass(frozen=True)
class StoredFile:
    path: Path
    name: str
    sha256: str
    size: int


@dataclass(frozen=True)
class EvidenceStore:
    """Where evidence files go and how large they may be (from the settings, by the caller)."""

    root: Path
    max_bytes: int

    def folder(self, year: int, owner: str) -> Path:
        if not _OWNER_RE.match(owner):
            raise ValidationError(code="evidence.owner_invalid", owner=owner)
        root = self.root.resolve()
        folder = (root / str(year) / owner).resolve()
        if not folder.is_relative_to(root):
            raise ValidationError(code="evidence.outside_store", folder=str(folder), root=str(root))
        return folder

    def store(self, source: Path, *, year: int, owner: str) -> StoredFile:
        """Copy ``source`` into the store after checking it; returns where it went."""
        source = Path(source).expanduser()
        if not source.exists():
            raise ValidationError(code="evidence.file_missing", file=str(source))
        if not source.is_file():
            raise ValidationError(code="evidence.not_a_file", file=str(source))
        suffix = source.suffix.lower()
        if suffix not in ALLOWED_TYPES:
            allowed = ", ".join(s.lstrip(".") for s in ALLOWED_TYPES)
            raise ValidationError(
                code="evidence.type_refused",
                file=source.name,
                type=suffix or words("(tanpa)", "(none)"),
                allowed=allowed,
            )
        size = source.stat().st_size
        if size == 0:
            raise ValidationError(code="evidence.empty", file=source.name)
        if size > self.max_bytes:
            raise _too_large(source.name, size, self.max_bytes)
        folder = self.folder(year, owner)
        folder.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        written = 0
        fd, tmp_name = tempfile.mkstemp(prefix=".incoming-", dir=folder)
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as out, source.open("rb") as src:
                head = src.read(16)
                _check_magic(source.name, suffix, head)
                chunk = head
                while chunk:
                    written += len(chunk)
                    if written > self.max_bytes:
                        raise _too_large(source.name, written, self.max_bytes)
                    digest.update(chunk)
                    out.write(chunk)
                    chunk = src.read(_CHUNK)
                out.flush()
                os.fsync(out.fileno())
            target = folder / f"{digest.hexdigest()}{suffix}"
            if target.exists():
                tmp.unlink()
            else:
                os.replace(tmp, target)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return StoredFile(target, source.name[:255], digest.hexdigest(), written)


def _too_large(name: str, size: int, limit: int) -> ValidationError:
    return ValidationError(
        code="evidence.too_large",
        file=name,
        size=f"{size / 1_048_576:.1f}",
        limit=f"{limit / 1_048_576:.1f}",
    )


def _check_magic(name: str, suffix: str, head: bytes) -> None:
    magic = ALLOWED_TYPES[suffix]
    ok = head[4:8] == b"ftyp" if magic is None else head.startswith(magic)
    if not ok:
        raise ValidationError(code="evidence.fake_type", file=name, type=suffix.lstrip("."))


def check_link(link: str) -> str:
    """An http(s) URL with a host, at most 1000 characters."""
    link = link.strip()
    parsed = urlparse(link)
    if parsed.scheme not in ("http", "https") or not parsed.netloc or len(link) > 1000:
        raise ValidationError(code="evidence.link_invalid", link=link)
    return link


def check_claimant(session: Session, person: Person, innovation: Innovation | None) -> None:
    """Refuse a claim by someone who does not act for the innovation's unit.

    An innovation's (SID) evidence is claimed by an officer of its unit (or of the UPTD's
    parent OPD) or by a Brida operator; the region's (SPD) evidence by a Brida operator.
    """
    scope = access.innovation_scope(session, innovation) if innovation else access.REGION
    what = innovation.code if innovation else words("bukti SPD daerah", "the region's SPD evidence")
    actor = access.actor_of(session, person)
    if not access.can(actor, access.Action.CLAIM_EVIDENCE, scope):
        who = (
            words(
                "petugas unitnya atau operator Brida", "an officer of its unit or a Brida operator"
            )
            if innovation
            else words("operator Brida", "a Brida operator")
        )
        raise NotAuthorizedError(
            code="evidence.claim_refused", email=person.email, what=what, who=who
        )


@dataclass(frozen=True)
class ClaimChange:
    claim: IndicatorClaim
    changed: bool
    reset: bool


def _find_claim(
    session: Session, year: int, aspect: str, innovation_id: int | None, indicator: str
) -> IndicatorClaim | None:
    stmt = select(IndicatorClaim).where(
        IndicatorClaim.year == year,
        IndicatorClaim.aspect == aspect,
        IndicatorClaim.indicator == indicator,
        IndicatorClaim.innovation_id.is_(None)
        if innovation_id is None
        else IndicatorClaim.innovation_id == innovation_id,
    )
    return session.scalar(stmt)


def _resolve(
    session: Session, code: str | None, indicator: str, year: int | None
) -> tuple[Innovation | None, int, str, Indicator]:
    if code is None:
        if year is None:
            raise ValidationError(code="evidence.year_required")
        return None, year, "spd", catalogue_for_year(year).indicator("spd", indicator)
    innovation = get_innovation(session, code)
    year = year or innovation.year
    return innovation, year, "sid", catalogue_for_year(year).indicator("sid", indicator)


def claim_indicator(
    session: Session,
    store: EvidenceStore,
    *,
    code: str | None,
    indicator: str,
    level: int,
    actor: str,
    file: Path | None = None,
    link: str | None = None,
    year: int | None = None,
    basis: str | None = None,
) -> ClaimChange:
    """Claim ``level`` for an SID indicator of innovation ``code`` (or, with ``code=None``,
    an SPD indicator of the region) with one piece of evidence. ``basis`` names the
    measurement basis chosen, for an indicator the year's catalogue lets be measured on
    alternative bases (2026: Kemanfaatan); it is recorded on the claim.

    Checks everything before storing the file, and stores the file before touching the
    database, so a refused claim leaves no row and no partial file.
    """
    if (file is None) == (link is None):
        raise ValidationError(code="evidence.one_source")
    if check_level(level) == 0:
        raise ValidationError(code="evidence.level_invalid")
    person = get_person(session, actor)
    actor = person.email
    innovation, year, aspect, ind = _resolve(session, code, indicator, year)
    check_claimant(session, person, innovation)
    if basis is not None:
        catalogue_for_year(year).basis(ind.code, basis)  # refuses a basis not in the year
    checked_link = check_link(link) if link is not None else None
    stored = (
        store.store(file, year=year, owner=innovation.code if innovation else REGION_OWNER)
        if file is not None
        else None
    )
    claim = _find_claim(session, year, aspect, innovation.id if innovation else None, ind.code)
    new = claim is None
    if claim is None:
        claim = IndicatorClaim(
            year=year,
            aspect=aspect,
            innovation_id=innovation.id if innovation else None,
            indicator=ind.code,
        )
        session.add(claim)
    same = (
        not new
        and claim.claimed_level == level
        and claim.sha256 == (stored.sha256 if stored else None)
        and claim.link == checked_link
        and claim.measurement_basis == basis
    )
    if same:
        return ClaimChange(claim, changed=False, reset=False)
    reset = not new and claim.status is not VerificationStatus.PENDING
    claim.claimed_level = level
    claim.claimed_by = actor
    claim.file_path = str(stored.path) if stored else None
    claim.file_name = stored.name if stored else None
    claim.sha256 = stored.sha256 if stored else None
    claim.size_bytes = stored.size if stored else None
    claim.link = checked_link
    claim.measurement_basis = basis
    claim.status = VerificationStatus.PENDING
    claim.verified_level = None
    claim.verified_by = None
    claim.verified_at = None
    claim.verification_reason = None
    session.flush()
    record_event(
        session,
        "kinanti.evidence.claimed",
        innovation,
        {
            "year": year,
            "aspect": aspect,
            "indicator": ind.code,
            "level": level,
            "actor": actor,
            "sha256": claim.sha256,
            "link": claim.link,
            "measurement_basis": basis,
            "verification_reset": reset,
        },
    )
    return ClaimChange(claim, changed=True, reset=reset)


def verify_claim(
    session: Session,
    *,
    code: str | None,
    indicator: str,
    decision: Decision | str,
    actor: str,
    reason: str | None = None,
    level: int | None = None,
    year: int | None = None,
) -> IndicatorClaim:
    """Accept (at ``level``, default the claimed one) or reject (``reason`` required)."""
    decision = Decision(decision)
    person = get_person(session, actor)
    if not person.active or not person_roles(session, person) & VERIFIER_ROLES:
        roles = ", ".join(sorted(r.value for r in VERIFIER_ROLES))
        raise NotAuthorizedError(code="evidence.verify_refused", email=actor, roles=roles)
    if decision is Decision.REJECT and not (reason and reason.strip()):
        raise ValidationError(code="evidence.reason_required")
    innovation, year, aspect, ind = _resolve(session, code, indicator, year)
    claim = _find_claim(session, year, aspect, innovation.id if innovation else None, ind.code)
    if claim is None:
        owner = innovation.code if innovation else words("daerah (SPD)", "the region (SPD)")
        raise NotFoundError(
            code="evidence.claim_unknown", owner=owner, indicator=ind.code, year=year
        )
    if decision is Decision.ACCEPT:
        verified = check_level(level) if level is not None else claim.claimed_level
        if not 1 <= verified <= claim.claimed_level:
            raise ValidationError(code="evidence.level_above_claim", claimed=claim.claimed_level)
        claim.status, claim.verified_level = VerificationStatus.ACCEPTED, verified
    else:
        claim.status, claim.verified_level = VerificationStatus.REJECTED, None
    claim.verification_reason = reason.strip() if reason else None
    claim.verified_by = person.email
    claim.verified_at = utcnow()
    session.flush()
    record_event(
        session,
        "kinanti.evidence.verified",
        innovation,
        {
            "year": year,
            "aspect": aspect,
            "indicator": ind.code,
            "decision": decision.value,
            "verified_level": claim.verified_level,
            "reason": claim.verification_reason,
            "verifier": person.email,
        },
    )
    return claim


@dataclass(frozen=True)
class ClaimView:
    """A claim as listed (CLI / JSON)."""

    year: int
    aspect: str
    indicator: str
    name: str
    mandatory: bool
    claimed_level: int
    status: str
    verified_level: int | None
    evidence: str | None
    reason: str | None
    verified_by: str | None
    verified_at: dt.datetime | None
    measurement_basis: str | None = None


def list_claims(
    session: Session, code: str | None, *, year: int | None = None, lang: str = "id"
) -> list[ClaimView]:
    """Claims of innovation ``code`` (or the region's SPD claims with ``code=None``)."""
    stmt = select(IndicatorClaim).order_by(IndicatorClaim.year, IndicatorClaim.indicator)
    if code is None:
        stmt = stmt.where(IndicatorClaim.aspect == "spd")
    else:
        stmt = stmt.where(IndicatorClaim.innovation_id == get_innovation(session, code).id)
    if year is not None:
        stmt = stmt.where(IndicatorClaim.year == year)
    views = []
    for claim in session.scalars(stmt):
        try:
            ind = catalogue_for_year(claim.year).indicator(claim.aspect, claim.indicator)
            name, mandatory = ind.name.in_lang(lang), ind.mandatory
        except NotFoundError:
            name, mandatory = claim.indicator, False
        views.append(
            ClaimView(
                year=claim.year,
                aspect=claim.aspect,
                indicator=claim.indicator,
                name=name,
                mandatory=mandatory,
                claimed_level=claim.claimed_level,
                status=claim.status.value,
                verified_level=claim.verified_level,
                evidence=claim.link or claim.file_name,
                reason=claim.verification_reason,
                verified_by=claim.verified_by,
                verified_at=claim.verified_at,
                measurement_basis=claim.measurement_basis,
            )
        )
    return views
