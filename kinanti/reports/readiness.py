"""Readiness blockers, compliance reasons and the count-term explanation in the reader's
language (``kinanti.i18n``).

The domain returns typed results (``domain.iid.readiness.Blocker``, the compliance
verdict's key and values, ``domain.iid.scoring.CountTermExplanation``); this module words
them, for the CLI, the report and the export.
"""

from __future__ import annotations

from domain.compliance import UnitCompliance
from domain.iid.readiness import Blocker, BlockerKind, InnovationReadiness
from domain.iid.scoring import RegionScore
from kinanti.i18n import t


def blocker_text(blocker: Blocker, lang: str) -> str:
    """One blocker as a person reads it."""
    codes = ", ".join(blocker.codes)
    kind = blocker.kind
    if kind is BlockerKind.PROFILE_FIELD:
        return t("readiness.profile_field", lang, field=t(f"field.{blocker.field}", lang))
    if kind is BlockerKind.DESIGN_WORDS:
        return t("readiness.design_words", lang, words=blocker.words, min=blocker.minimum)
    if kind is BlockerKind.NO_IMPLEMENTATION:
        return t("readiness.no_implementation", lang)
    if kind is BlockerKind.OUTSIDE_WINDOW:
        assert blocker.date is not None and blocker.window is not None
        window = blocker.window
        return t(
            "readiness.outside_window",
            lang,
            date=blocker.date.isoformat(),
            start=window.start.isoformat(),
            end=window.end.isoformat(),
        )
    if kind is BlockerKind.ENDED:
        return t("readiness.ended", lang, outcome=t(f"registry.outcome.{blocker.field}", lang))
    return t(f"readiness.{kind.value}", lang, codes=codes)


def blockers_text(item: InnovationReadiness, lang: str, separator: str = "; ") -> str:
    return separator.join(blocker_text(b, lang) for b in item.blockers)


def compliance_reason(unit: UnitCompliance, lang: str) -> str:
    """The unit's compliance reason in ``lang``."""
    return t(f"compliance.{unit.reason_key}", lang, **unit.reason_values)


def explanation_lines(score: RegionScore, lang: str) -> list[str]:
    """Why the count term is what it is, and the empty seats ("kursi kosong")."""
    e = score.explanation
    if e is None:
        return []
    names = "; ".join
    have = len(e.present)
    if e.required is None:
        head = t("iid.count_term.no_rule", lang, year=score.year)
    elif e.applies:
        head = t("iid.count_term.applies", lang, have=have, need=e.required)
    else:
        head = t("iid.count_term.zero", lang, have=have, need=e.required, short=e.required - have)
    lines = [
        head,
        t("iid.basic_present", lang, names=names(e.present) or "-"),
        t("iid.basic_missing", lang, names=names(e.missing) or "-"),
    ]
    if e.empty_seats:
        lines.append(t("iid.empty_seats", lang, seats=e.empty_seats, k=e.k, n=e.n))
    else:
        lines.append(t("iid.no_empty_seats", lang, k=e.k, n=e.n))
    return lines
