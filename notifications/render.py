"""Render an outbox row into an email: subject, plain text and HTML, in id or en.

One Jinja2 ``Environment`` for the process (templates are compiled once and cached),
autoescape on for ``.html``, ``StrictUndefined`` everywhere. Each template ``<name>`` has,
per language, ``<lang>/<name>.txt`` (with a ``subject`` block) and ``<lang>/<name>.html``;
both extend the shared ``_base.txt`` / ``_base.html`` (greeting, facts, link, footer).
Rendering and sending are separate steps.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
import pydantic
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from domain.enums import ComplianceStatus, GateDecisionKind, Language, Stage
from domain.errors import ValidationError
from domain.messages import render as render_message
from kinanti.i18n import rupiah
from notifications.contexts import (
    CONTEXT_MODELS,
    ComplianceContext,
    DigestContext,
    EmailContext,
    GeneratedFile,
)

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"

_MONTHS_ID = [
    "Januari",
    "Februari",
    "Maret",
    "April",
    "Mei",
    "Juni",
    "Juli",
    "Agustus",
    "September",
    "Oktober",
    "November",
    "Desember",
]

STAGE_NAMES: dict[Language, dict[Stage, str]] = {
    Language.ID: {
        Stage.PLANNING: "Perencanaan",
        Stage.DEVELOPMENT: "Pengembangan (uji coba)",
        Stage.DEPLOYMENT: "Penerapan",
        Stage.REPORTING: "Pelaporan",
        Stage.REPLICATION: "Replikasi",
    },
    Language.EN: {
        Stage.PLANNING: "Planning",
        Stage.DEVELOPMENT: "Development (trial)",
        Stage.DEPLOYMENT: "Deployment",
        Stage.REPORTING: "Reporting",
        Stage.REPLICATION: "Replication",
    },
}

DECISION_NAMES: dict[Language, dict[GateDecisionKind, str]] = {
    Language.ID: {
        GateDecisionKind.APPROVE: "disetujui",
        GateDecisionKind.REVISE: "perlu revisi",
        GateDecisionKind.REJECT: "ditolak",
    },
    Language.EN: {
        GateDecisionKind.APPROVE: "approved",
        GateDecisionKind.REVISE: "revision requested",
        GateDecisionKind.REJECT: "rejected",
    },
}

COMPLIANCE_NAMES: dict[Language, dict[ComplianceStatus, str]] = {
    Language.ID: {
        ComplianceStatus.COMPLIANT: "memenuhi kewajiban",
        ComplianceStatus.ON_TRACK: "sesuai jalur",
        ComplianceStatus.AT_RISK: "berisiko tidak memenuhi kewajiban",
        ComplianceStatus.NON_COMPLIANT: "tidak memenuhi kewajiban",
        ComplianceStatus.EXEMPT: "dikecualikan",
    },
    Language.EN: {
        ComplianceStatus.COMPLIANT: "compliant",
        ComplianceStatus.ON_TRACK: "on track",
        ComplianceStatus.AT_RISK: "at risk of not complying",
        ComplianceStatus.NON_COMPLIANT: "not compliant",
        ComplianceStatus.EXEMPT: "exempt",
    },
}

#: What the unit does next in each stage, and by when (stage_entered emails).
STAGE_GUIDANCE: dict[Language, dict[Stage, tuple[str, str]]] = {
    Language.ID: {
        Stage.PLANNING: (
            "Lengkapi proposal: profil inovasi, rancang bangun (minimal 300 kata), tujuan, "
            "manfaat dan anggaran. Ajukan konsultasi Klinik Kinanti bila perlu.",
            "sebelum tinjauan gerbang Perencanaan oleh Brida",
        ),
        Stage.DEVELOPMENT: (
            "Mulai uji coba, ikuti pendampingan inovator, lalu isi kartu nilai uji coba "
            "(lima kriteria PP 38/2017).",
            "sebelum tinjauan gerbang Pengembangan; catat tanggal mulai uji coba",
        ),
        Stage.DEPLOYMENT: (
            "Terapkan inovasi, tetapkan dasar hukumnya (SK / Perkada / Perda) dan unggah "
            "bukti penerapan.",
            "sebelum tinjauan gerbang Penerapan",
        ),
        Stage.REPORTING: (
            "Unggah bukti dukung indikator IID (terutama indikator wajib) untuk diverifikasi.",
            "sebelum jendela pengisian nasional IID dibuka (sekitar Juni)",
        ),
        Stage.REPLICATION: (
            "Inovasi siap direplikasi: tanggapi surat minat replikasi dan siapkan dokumen "
            "replikasi bersama Klinik Kinanti.",
            "sepanjang tahun berjalan",
        ),
    },
    Language.EN: {
        Stage.PLANNING: (
            "Complete the proposal: innovation profile, design narrative (at least 300 "
            "words), goals, benefits and budget. Book a Klinik Kinanti consultation if needed.",
            "before Brida's planning gate review",
        ),
        Stage.DEVELOPMENT: (
            "Start the trial, work with your innovator mentor, then file the trial "
            "scorecard (the five PP 38/2017 criteria).",
            "before the development gate review; record the trial start date",
        ),
        Stage.DEPLOYMENT: (
            "Implement the innovation, adopt its act (SK / Perkada / Perda) and upload "
            "implementation evidence.",
            "before the deployment gate review",
        ),
        Stage.REPORTING: (
            "Upload evidence for the IID indicators (mandatory ones first) for verification.",
            "before the national IID collection window opens (around June)",
        ),
        Stage.REPLICATION: (
            "The innovation can be replicated: answer letters of interest and prepare the "
            "replication documents with Klinik Kinanti.",
            "during the current year",
        ),
    },
}

_LABELS: dict[Language, dict[str, str]] = {
    Language.ID: {
        "greeting": "Yth. {name},",
        "greeting_anon": "Yth. Bapak/Ibu,",
        "innovation": "Inovasi",
        "unit": "Unit kerja",
        "stage": "Tahap",
        "year": "Tahun",
        "link": "Buka di Kinanti",
        "footer": "Email ini dikirim otomatis oleh Kinanti, {region}. Mohon tidak membalas "
        "email ini; hubungi Brida bila ada pertanyaan.",
    },
    Language.EN: {
        "greeting": "Dear {name},",
        "greeting_anon": "Dear Sir or Madam,",
        "innovation": "Innovation",
        "unit": "Unit",
        "stage": "Stage",
        "year": "Year",
        "link": "Open in Kinanti",
        "footer": "This email was sent automatically by Kinanti, {region}. Please do not "
        "reply; contact Brida with any questions.",
    },
}

_HEADER_UNSAFE = re.compile(r"[\x00-\x1f\x7f]+")


class TemplateContextError(ValidationError):
    """Raised when an outbox context does not fit its template's model (names the field)."""


class UnknownTemplateError(ValidationError):
    """Raised when an outbox row names a template that does not exist."""


@dataclass(frozen=True)
class RenderedEmail:
    """The three parts of an email, ready to be built into a message."""

    subject: str
    text: str
    html: str
    #: attachments made from the context (a consultation's calendar invitation)
    files: tuple[GeneratedFile, ...] = ()


def clean_header(value: str) -> str:
    """One line, no control characters: safe in any header (no injection)."""
    return " ".join(_HEADER_UNSAFE.sub(" ", value).split())


class Labels:
    """Language-bound helpers available in templates as ``L``."""

    def __init__(self, language: Language, zone: dt.tzinfo) -> None:
        self.language = language
        self.zone = zone  # times are shown in the region's local time

    def stage(self, stage: Stage | str | None) -> str:
        if stage is None:
            return "-"
        return STAGE_NAMES[self.language][Stage(stage)]

    def decision(self, decision: GateDecisionKind | str) -> str:
        return DECISION_NAMES[self.language][GateDecisionKind(decision)]

    def compliance(self, status: ComplianceStatus | str) -> str:
        return COMPLIANCE_NAMES[self.language][ComplianceStatus(status)]

    def date(self, value: dt.date | dt.datetime | None) -> str:
        if value is None:
            return "-"
        if isinstance(value, dt.datetime) and value.tzinfo is not None:
            value = value.astimezone(self.zone)
        if self.language is Language.ID:
            text = f"{value.day} {_MONTHS_ID[value.month - 1]} {value.year}"
        else:
            text = f"{value.day} {value.strftime('%B')} {value.year}"
        if isinstance(value, dt.datetime):
            text += value.strftime(" %H:%M")
            if value.tzinfo is not None:
                text += f" {value.tzname() or 'UTC'}"
        return text

    def money(self, amount: Decimal | int | float | str | None) -> str:
        """An amount in Rupiah in this language (``kinanti.i18n.rupiah``)."""
        return rupiah(amount, self.language)

    def guidance(self, stage: Stage | str) -> tuple[str, str]:
        return STAGE_GUIDANCE[self.language][Stage(stage)]

    def reason(self, context: ComplianceContext) -> str | None:
        """A compliance reason in this language (the domain's table of reasons)."""
        if context.reason_key is None:
            return context.reason
        text = render_message(
            f"compliance.{context.reason_key}", self.language, context.reason_values
        )
        return text if text is not None else context.reason


@lru_cache(maxsize=1)
def environment() -> Environment:
    """The process's Jinja2 environment (compiled templates are cached in it)."""
    return Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(enabled_extensions=("html",), default=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,
    )


def validate_context(template: str, context: dict[str, Any]) -> EmailContext:
    """The context as its template's model; a clear error names the template and field."""
    model = CONTEXT_MODELS.get(template)
    if model is None:
        known = ", ".join(sorted(CONTEXT_MODELS))
        raise UnknownTemplateError(f"unknown email template {template!r} (known: {known})")
    try:
        validated = model.model_validate(context)
    except pydantic.ValidationError as exc:
        problems = [
            f"{'.'.join(str(p) for p in err['loc']) or '(context)'}: {err['msg']}"
            for err in exc.errors()
        ]
        raise TemplateContextError(
            f"context of email template {template!r} is invalid", problems
        ) from exc
    if isinstance(validated, DigestContext):
        for item in validated.items:
            if item.template == "digest":
                raise TemplateContextError(f"a digest cannot contain a digest ({template!r})")
            validate_context(item.template, item.context)
    return validated


class Renderer:
    """Renders templates with links built from ``base_url`` and times in the region's time
    zone; reuse one per process/batch.

    With ``portal_url``, emails link to the portal page where the recipient acts; only
    messages for Brida's operators (a failed delivery) link to the Prefect UI.
    """

    def __init__(
        self,
        *,
        base_url: str,
        zone: dt.tzinfo,
        region_name: str = "Kota Mataram",
        portal_url: str | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.portal_url = portal_url.rstrip("/") if portal_url else None
        self.region_name = region_name
        self.env = environment()
        #: Per (template, language): the compiled text and HTML templates, looked up once.
        self._templates: dict[tuple[str, Language], tuple[jinja2.Template, jinja2.Template]] = {}
        #: Per language: the ``L`` helpers and the footer (they depend on nothing else).
        self._labels = {lang: Labels(lang, zone) for lang in Language}
        self._footers = {
            lang: _LABELS[lang]["footer"].format(region=region_name) for lang in Language
        }

    def _pair(self, template: str, lang: Language) -> tuple[jinja2.Template, jinja2.Template]:
        pair = self._templates.get((template, lang))
        if pair is None:
            pair = (
                self.env.get_template(f"{lang.value}/{template}.txt"),
                self.env.get_template(f"{lang.value}/{template}.html"),
            )
            self._templates[(template, lang)] = pair
        return pair

    def render(
        self, template: str, language: Language | str, context: dict[str, Any]
    ) -> RenderedEmail:
        """Validate ``context`` against the template's model and render all three parts."""
        lang = Language(language)
        model = validate_context(template, context)
        return self._render_model(template, lang, model)

    def _render_model(self, template: str, lang: Language, model: EmailContext) -> RenderedEmail:
        labels = self._labels[lang]
        text_template, html_template = self._pair(template, lang)
        variables: dict[str, Any] = {
            "c": model,
            "lang": lang.value,
            "L": labels,
            "link": self._link(model),
            "facts": self._facts(labels, model),
            "greeting": self._greeting(lang, model.recipient_name),
            "link_label": _LABELS[lang]["link"],
            "footer": self._footers[lang],
            "region_name": self.region_name,
            "items": self._digest_items(lang, model),
        }
        subject = self._subject(text_template, variables)
        variables["subject"] = subject
        try:
            text = text_template.render(variables)
            html = html_template.render(variables)
        except jinja2.UndefinedError as exc:
            raise TemplateContextError(f"email template {template!r}: {exc}") from exc
        return RenderedEmail(
            subject=subject, text=text, html=html, files=tuple(model.generated_files())
        )

    def _link(self, model: EmailContext) -> str:
        path = model.portal_path() if self.portal_url else None
        return f"{self.portal_url}{path}" if path else model.link(self.base_url)

    def _subject(self, template: jinja2.Template, variables: dict[str, Any]) -> str:
        block = template.blocks.get("subject")
        if block is None:
            raise UnknownTemplateError(f"{template.name} has no subject block")
        return clean_header("".join(block(template.new_context(variables))))

    def _digest_items(self, lang: Language, model: EmailContext) -> list[dict[str, Any]]:
        if not isinstance(model, DigestContext):
            return []
        items = []
        for item in model.items:
            sub = CONTEXT_MODELS[item.template].model_validate(item.context)
            labels = self._labels[lang]
            text_template, _html = self._pair(item.template, lang)
            subject = self._subject(
                text_template,
                {
                    "c": sub,
                    "lang": lang.value,
                    "L": labels,
                    "link": self._link(sub),
                    "items": [],
                },
            )
            items.append(
                {
                    "template": item.template,
                    "subject": subject,
                    "link": self._link(sub),
                    "c": sub,
                }
            )
        return items

    @staticmethod
    def _greeting(lang: Language, name: str | None) -> str:
        if name and name.strip():
            return _LABELS[lang]["greeting"].format(name=clean_header(name))
        return _LABELS[lang]["greeting_anon"]

    @staticmethod
    def _facts(labels: Labels, model: EmailContext) -> list[tuple[str, str]]:
        words = _LABELS[labels.language]
        facts: list[tuple[str, str]] = []
        code = getattr(model, "innovation_code", None)
        title = getattr(model, "innovation_title", None)
        if code or title:
            facts.append((words["innovation"], " - ".join(x for x in (code, title) if x)))
        unit_name = getattr(model, "unit_name", None)
        if unit_name:
            unit_code = getattr(model, "unit_code", None)
            facts.append((words["unit"], f"{unit_name} ({unit_code})" if unit_code else unit_name))
        stage = getattr(model, "stage", None)
        if stage is not None and (code or title):
            facts.append((words["stage"], labels.stage(stage)))
        year = getattr(model, "year", None)
        if year is not None:
            facts.append((words["year"], str(year)))
        return facts
