"""Matching: which units of the city could adopt an offered innovation, and why.

A unit is suggested for an offer when it runs nothing similar (no active innovation in the
origin's urusan with the same tematik) and, at least one of:

- **same kind**: a unit like the owner (another UPTD of the same OPD, e.g. another
  puskesmas or school; another kecamatan or kelurahan);
- **same urusan**: it works in the origin's urusan (an innovation there, of another theme);
- **at risk**: it may miss the yearly obligation (``domain.compliance``): replicating a
  proven innovation is a fast way to comply.

The owner's side, and units that already adopt the innovation (an open or completed
adoption), are never suggested. Reasons are codes with values, so every reader (CLI, portal,
the monthly Klinik Kinanti digest) words them in its own language
(``kinanti.i18n``: ``match.<code>``). Reads only.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.changes import ChangeResult, emails
from domain.compliance import ComplianceRules, evaluate
from domain.enums import AdoptionStatus, ComplianceStatus, UnitKind
from domain.models import Adoption, Innovation, ReplicationOffer, Unit
from domain.outbox import unit_recipients
from domain.queries import get_innovation

#: First words of a unit's name that say nothing about what kind of unit it is.
_GENERIC = frozenset({"dinas", "badan", "kantor", "sekretariat", "satuan", "inspektorat", "uptd"})
_AT_RISK = frozenset({ComplianceStatus.AT_RISK, ComplianceStatus.NON_COMPLIANT})


@dataclass(frozen=True)
class Reason:
    """Why a unit is suggested: a code (``same_kind``, ``same_urusan``, ``at_risk``) and
    the values its message needs."""

    code: str
    values: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class Suggestion:
    """One unit suggested as an adopter of one offer."""

    innovation_code: str
    innovation_title: str
    unit_id: int
    unit_code: str
    unit_name: str
    reasons: tuple[Reason, ...]


def _peer_key(unit: Unit) -> tuple[object, ...] | None:
    """What makes two units "of the same kind": UPTDs of the same OPD, or units whose name
    starts with the same telling word (Kecamatan, Kelurahan, ...; not "Dinas", "Badan")."""
    if unit.kind is UnitKind.UPTD and unit.parent_id is not None:
        return ("uptd", unit.parent_id)
    words = unit.name.lower().split()
    return ("name", words[0]) if words and words[0] not in _GENERIC else None


def suggest_adopters(
    session: Session,
    *,
    year: int,
    today: dt.date,
    rules: ComplianceRules,
    codes: list[str] | None = None,
    limit: int = 10,
) -> dict[str, list[Suggestion]]:
    """Suggested adopters for every active offer (or those of ``codes``), best first (more
    reasons first, then by unit code); at most ``limit`` per offer."""
    offers = select(ReplicationOffer, Innovation).join(
        Innovation, Innovation.id == ReplicationOffer.innovation_id
    )
    offers = offers.where(ReplicationOffer.active.is_(True), Innovation.outcome.is_(None))
    if codes is not None:
        for code in codes:
            get_innovation(session, code)  # an unknown code is a clear error
        offers = offers.where(Innovation.code.in_([c.strip().upper() for c in codes]))
    rows = session.execute(offers.order_by(Innovation.code)).all()
    if not rows:
        return {}
    units = list(session.scalars(select(Unit).where(Unit.active.is_(True)).order_by(Unit.code)))
    by_id = {u.id: u for u in units}
    running: dict[int, set[tuple[str, str | None]]] = defaultdict(set)
    for unit_id, urusan, tematik in session.execute(
        select(Innovation.unit_id, Innovation.urusan_main, Innovation.tematik).where(
            Innovation.outcome.is_(None)
        )
    ):
        running[unit_id].add((urusan, tematik))
    adopting: dict[int, set[int]] = defaultdict(set)
    for offer_id, adopter_id in session.execute(
        select(Adoption.offer_id, Adoption.adopter_unit_id).where(
            Adoption.adopter_unit_id.is_not(None), Adoption.status != AdoptionStatus.REJECTED
        )
    ):
        if offer_id is not None and adopter_id is not None:
            adopting[offer_id].add(adopter_id)
    at_risk = {
        c.unit_code: c
        for c in evaluate(session, year=year, today=today, rules=rules)
        if c.status in _AT_RISK
    }
    result: dict[str, list[Suggestion]] = {}
    for offer, origin in rows:
        owner = by_id.get(origin.unit_id) or session.get_one(Unit, origin.unit_id)
        side = {owner.id} | ({owner.parent_id} if owner.parent_id else set())
        owner_key = _peer_key(owner)
        found: list[Suggestion] = []
        for unit in units:
            if unit.id in side or unit.parent_id == owner.id or unit.id in adopting[offer.id]:
                continue
            themes = running[unit.id]
            if (origin.urusan_main, origin.tematik) in themes:
                continue  # it runs something similar already
            reasons: list[Reason] = []
            if owner_key is not None and _peer_key(unit) == owner_key:
                reasons.append(Reason("same_kind", {"owner": owner.name}))
            if any(urusan == origin.urusan_main for urusan, _ in themes):
                reasons.append(Reason("same_urusan", {"urusan": origin.urusan_main}))
            if unit.code in at_risk:
                counted = at_risk[unit.code].innovations_counted
                reasons.append(Reason("at_risk", {"year": year, "counted": counted}))
            if reasons:
                found.append(
                    Suggestion(
                        origin.code, origin.title, unit.id, unit.code, unit.name, tuple(reasons)
                    )
                )
        found.sort(key=lambda s: (-len(s.reasons), s.unit_code))
        result[origin.code] = found[:limit]
    return result


def digest_by_unit(suggestions: dict[str, list[Suggestion]]) -> dict[int, list[Suggestion]]:
    """The same suggestions grouped per suggested unit (what its digest lists)."""
    grouped: dict[int, list[Suggestion]] = defaultdict(list)
    for items in suggestions.values():
        for suggestion in items:
            grouped[suggestion.unit_id].append(suggestion)
    return dict(grouped)


DIGEST_TEMPLATE = "klinik_digest"


def enqueue_klinik_digest(
    session: Session, *, year: int, today: dt.date, rules: ComplianceRules, month: str
) -> ChangeResult:
    """The monthly Klinik Kinanti digest: one email to each suggested unit listing what it
    could replicate and why (keyed by month and unit: a second run sends nothing twice)."""
    result = ChangeResult()
    grouped = digest_by_unit(suggest_adopters(session, year=year, today=today, rules=rules))
    owners = {
        code: name
        for code, name in session.execute(
            select(Innovation.code, Unit.name).join(Unit, Unit.id == Innovation.unit_id)
        )
    }
    for unit_id, items in sorted(grouped.items()):
        unit = session.get_one(Unit, unit_id)
        emails(
            session,
            result,
            event_key=f"klinik-digest:{month}:{unit.code}",
            template=DIGEST_TEMPLATE,
            recipients=unit_recipients(session, unit),
            context={
                "unit_code": unit.code,
                "unit_name": unit.name,
                "month": month,
                "items": [
                    {
                        "code": s.innovation_code,
                        "title": s.innovation_title,
                        "owner": owners.get(s.innovation_code, "-"),
                        "reasons": [{"code": r.code, **r.values} for r in s.reasons],
                    }
                    for s in items
                ],
            },
            innovation=None,
        )
    if grouped:
        result.event(
            session,
            "kinanti.replication.digest-queued",
            None,
            {"month": month, "units": len(grouped), "emails": len(result.outbox_ids)},
        )
    return result


__all__ = [
    "DIGEST_TEMPLATE",
    "Reason",
    "Suggestion",
    "digest_by_unit",
    "enqueue_klinik_digest",
    "suggest_adopters",
]
