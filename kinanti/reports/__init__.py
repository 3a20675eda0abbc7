"""The yearly portfolio report: one self-contained HTML page (inline SVG charts, no
scripts, no external files), plus a CSV and an XLSX export of the innovations.

Figures come from ``domain.reports.yearly_figures``; this package only renders them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from sqlalchemy.orm import Session

from domain.enums import Language
from domain.iid.readiness import Readiness, national_readiness
from domain.iid.scoring import display
from domain.reports import ReportFigures, yearly_figures
from kinanti.reports.charts import bar_chart, breakdown_chart, funnel_chart, grid_chart
from kinanti.reports.export import write_csv, write_xlsx
from kinanti.reports.labels import LABELS, STATUS_COLOURS, label
from kinanti.reports.readiness import blockers_text, compliance_reason, explanation_lines
from kinanti.settings import Settings

TOP_UNITS = 15
HTML_NAME, CSV_NAME, XLSX_NAME = "report.html", "innovations.csv", "innovations.xlsx"

_env = Environment(
    loader=PackageLoader("kinanti.reports", ""),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


@dataclass(frozen=True)
class ReportFiles:
    html: Path
    csv: Path
    xlsx: Path
    figures: ReportFigures

    @property
    def paths(self) -> list[Path]:
        return [self.html, self.csv, self.xlsx]


def render_html(
    figures: ReportFigures, lang: str = "id", readiness: Readiness | None = None
) -> str:
    """The report page for ``figures`` in ``lang`` (``id`` or ``en``)."""
    lang = "en" if lang == "en" else "id"
    year = figures.year
    words = {k: v for k, v in LABELS[lang].items() if "." not in k and k != "readiness"}
    words["title"] = label(lang, "title", year=year)
    words["generated"] = label(
        lang, "generated", date=figures.generated_on.isoformat(), region=figures.region_name
    )
    words["funnel_note"] = label(lang, "funnel_note", year=year)
    words["per_unit"] = label(lang, "per_unit", n=TOP_UNITS)
    name_of = (lambda c: c.name_en) if lang == "en" else (lambda c: c.name_id)
    sid = [c for c in figures.contributions if c.aspect == "sid"]
    spd = [c for c in figures.contributions if c.aspect == "spd"]
    legend = (label(lang, "maximum"), label(lang, "claimed"), label(lang, "verified"))
    status_legend = {s: label(lang, f"status.{s}") for s in STATUS_COLOURS}

    def contrib(items: list[Any]) -> list[tuple[str, float, float, float]]:
        return [
            (
                f"{c.code.split('_')[0].upper()} {name_of(c)}{' *' if c.mandatory else ''}",
                float(c.claimed),
                float(c.verified),
                float(c.max_points),
            )
            for c in items
        ]

    charts = {
        "funnel": funnel_chart(
            words["funnel"], [(label(lang, f"stage.{s.value}"), n) for s, n in figures.funnel]
        ),
        "per_unit": bar_chart(
            words["per_unit"], [(f"{c} · {n}", v) for c, n, v in figures.per_unit[:TOP_UNITS]]
        ),
        "sid": breakdown_chart(words["breakdown_sid"], contrib(sid), legend),
        "spd": breakdown_chart(words["breakdown_spd"], contrib(spd), legend),
        "compliance": grid_chart(
            words["compliance"],
            [(u.unit_code, u.unit_name, u.status.value) for u in figures.compliance],
            STATUS_COLOURS,
            status_legend,
        ),
    }
    template = _env.get_template("report.html.j2")
    return template.render(
        lang=lang,
        L=words,
        iid={
            "claimed": figures.portfolio.claimed.as_dict(),
            "verified": figures.portfolio.verified.as_dict(),
        },
        total=figures.total_innovations,
        outcomes=[(label(lang, f"outcome.{k}"), v) for k, v in sorted(figures.outcomes.items())],
        has_units=bool(figures.per_unit),
        charts=charts,
        spd_assumed=figures.catalogue.spd_assumed,
        prognosis=figures.catalogue.prognosis,
        explanation=explanation_lines(figures.portfolio.verified, lang),
        readiness=(
            label(lang, "readiness", ready=readiness.ready, total=len(readiness.innovations))
            if readiness is not None
            else ""
        ),
        compliance=[
            {
                "code": u.unit_code,
                "name": u.unit_name,
                "status": status_legend[u.status.value],
                "colour": STATUS_COLOURS[u.status.value],
                "counted": u.innovations_counted,
                "reason": compliance_reason(u, lang),
            }
            for u in figures.compliance
        ],
        files=[CSV_NAME, XLSX_NAME],
        lineage=[
            {
                "rows": [(depth, n.label, ", ".join(n.facts())) for depth, n in tree.root.walk()],
                "level": tree.derived.level,
                "note": tree.derived.note(Language(lang)),
            }
            for tree in figures.lineage
        ],
        incoming=[(n.label, ", ".join(n.facts())) for n in figures.incoming],
    )


def build_report(
    session: Session,
    year: int,
    out_dir: Path,
    *,
    settings: Settings,
    lang: str = "id",
    today: dt.date | None = None,
) -> ReportFiles:
    """Compute the figures of ``year`` and write report.html, innovations.csv/.xlsx."""
    figures = yearly_figures(
        session,
        year,
        region_name=settings.region_name,
        today=today or dt.date.today(),
        compliance_rules=settings.compliance_rules(),
    )
    readiness = national_readiness(session, year)
    by_code = readiness.by_code()
    rows = []
    for row in figures.rows:
        item = by_code[row["code"]]
        rows.append({**row, "national_ready": item.ready, "blockers": blockers_text(item, lang)})
    out_dir.mkdir(parents=True, exist_ok=True)
    html = out_dir / HTML_NAME
    html.write_text(render_html(figures, lang, readiness), encoding="utf-8")
    return ReportFiles(
        html=html,
        csv=write_csv(out_dir / CSV_NAME, figures.catalogue, rows),
        xlsx=write_xlsx(out_dir / XLSX_NAME, figures.catalogue, rows),
        figures=figures,
    )


def summary_table(figures: ReportFigures) -> list[dict[str, Any]]:
    """The headline figures as table rows (for Prefect artifacts and JSON output)."""
    c, v = figures.portfolio.claimed, figures.portfolio.verified
    rows: list[dict[str, Any]] = [
        {"figure": "IID", "claimed": display(c.iid), "verified": display(v.iid)},
        {"figure": "band", "claimed": c.band.value, "verified": v.band.value},
        {"figure": "SPD", "claimed": display(c.spd), "verified": display(v.spd)},
        {"figure": "SID", "claimed": display(c.sid), "verified": display(v.sid)},
        {"figure": "n", "claimed": c.n, "verified": v.n},
        {"figure": "prognosis", "claimed": c.prognosis, "verified": v.prognosis},
        {
            "figure": "JumlahInovasi",
            "claimed": display(c.count_term),
            "verified": display(v.count_term),
        },
    ]
    rows += [{"figure": f"stage:{s.value}", "claimed": n, "verified": n} for s, n in figures.funnel]
    return rows
