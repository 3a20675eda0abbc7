"""The IID catalogue of a year, shipped as data: ``domain/iid/catalogues/<year>.yaml``.

A file holds the year's SID indicators (code, Indonesian and English name, weight,
mandatory flag, three level texts, evidence guidance, alternative measurement bases),
SPD indicators, the minimum divisor ``k``, the count term (factor, cap and the
basic-service rule), the bands as published (lower bound of each band, two decimals), the
implementation window and the minimum design narrative of the national collection, and
whether the year is a ``prognosis``. A file may say ``based_on: <year>`` to inherit every
top-level key it does not set itself.
Loaded once per process and validated (SID weights sum to 37; codes unique).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from functools import cache
from importlib import resources
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic import ValidationError as PydanticValidationError

from domain.errors import NotFoundError, ValidationError
from domain.messages import words

SID_WEIGHT_TOTAL = Decimal(37)
LEVELS = (1, 2, 3)
_PACKAGE = "domain.iid.catalogues"


class Name(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    en: str

    def in_lang(self, lang: str) -> str:
        return self.en if lang == "en" else self.id


class MeasurementBasis(BaseModel):
    """One alternative basis an indicator may be measured on, with its own level texts."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Name
    levels: tuple[str, str, str]


class Indicator(BaseModel):
    """One indicator: score = weight x level (1..3); 0 when empty or not accepted."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str = Field(pattern=r"^(sid|spd)\d{2}_[a-z0-9_]+$", max_length=40)
    name: Name
    weight: Decimal = Field(gt=0, max_digits=6, decimal_places=2)
    mandatory: bool = False
    levels: tuple[str, str, str] = (
        "Tingkat 1 (lihat pedoman teknis tahun berjalan)",
        "Tingkat 2 (lihat pedoman teknis tahun berjalan)",
        "Tingkat 3 (lihat pedoman teknis tahun berjalan)",
    )
    evidence: str = "Dokumen pendukung sesuai pedoman teknis (PDF, gambar atau tautan video)."

    @property
    def aspect(self) -> str:
        return self.code[:3]

    @property
    def max_score(self) -> Decimal:
        return self.weight * 3


class CountTerm(BaseModel):
    """JumlahInovasi = factor x min(n, cap); 0 unless the basic-service rule holds."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    factor: Decimal = Field(ge=0)
    cap: int = Field(gt=0)
    min_basic_service_affairs: int | None = Field(None, ge=1, le=6)


class Bands(BaseModel):
    """The bands as the ministry publishes them: the lower bound of each band, with two
    decimals (2026: Sangat Inovatif 65.01-100.00, Inovatif 40.01-65.00, Kurang Inovatif
    0.01-40.00, Tidak Dapat Dinilai 0).

    The IID is rounded half up to two decimals, then compared with these bounds
    (inclusive). Each published threshold is therefore strict on the rounded IID: in 2026
    40.00 is Kurang Inovatif and 40.01 Inovatif. A rounded IID below ``kurang_inovatif``
    (0.00), or no innovation at all, is Tidak Dapat Dinilai."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sangat_inovatif: Decimal = Field(max_digits=5, decimal_places=2)
    inovatif: Decimal = Field(max_digits=5, decimal_places=2)
    kurang_inovatif: Decimal = Field(Decimal("0.01"), max_digits=5, decimal_places=2)

    @model_validator(mode="after")
    def _ordered(self) -> Bands:
        if not Decimal(0) < self.kurang_inovatif < self.inovatif < self.sangat_inovatif:
            raise ValueError("bands must rise: 0 < kurang_inovatif < inovatif < sangat_inovatif")
        return self


class Window(BaseModel):
    """Implementation start dates the national collection accepts (inclusive)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    start: dt.date
    end: dt.date

    def contains(self, day: dt.date) -> bool:
        return self.start <= day <= self.end


class Catalogue(BaseModel):
    """Everything the IID of one year needs."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    year: int
    k: int = Field(gt=0, description="Minimum divisor of the SID sum")
    max_total: Decimal = Decimal(250)
    count_term: CountTerm
    bands: Bands
    spd_assumed: bool = False
    prognosis: bool = Field(
        False, description="Figures forecast from a guideline, not yet published for the year"
    )
    implementation_window: Window | None = None
    min_design_words: int = Field(300, ge=0)
    sid: tuple[Indicator, ...]
    spd: tuple[Indicator, ...]
    measurement_bases: dict[str, dict[str, MeasurementBasis]] = Field(
        default_factory=dict,
        description="Indicator code -> its alternative measurement bases (key -> level texts)",
    )

    @field_validator("sid")
    @classmethod
    def _sid_weights(cls, value: tuple[Indicator, ...]) -> tuple[Indicator, ...]:
        total = sum((i.weight for i in value), Decimal(0))
        if total != SID_WEIGHT_TOTAL:
            raise ValueError(f"SID weights sum to {total}, expected {SID_WEIGHT_TOTAL}")
        if any(i.aspect != "sid" for i in value):
            raise ValueError("every SID indicator code starts with 'sid'")
        return value

    @field_validator("spd")
    @classmethod
    def _spd_codes(cls, value: tuple[Indicator, ...]) -> tuple[Indicator, ...]:
        if any(i.aspect != "spd" for i in value):
            raise ValueError("every SPD indicator code starts with 'spd'")
        return value

    @model_validator(mode="after")
    def _unique_codes(self) -> Catalogue:
        codes = [i.code for i in (*self.sid, *self.spd)]
        dupes = sorted({c for c in codes if codes.count(c) > 1})
        if dupes:
            raise ValueError(f"indicator codes repeat: {', '.join(dupes)}")
        unknown = sorted(set(self.measurement_bases) - set(codes))
        if unknown:
            raise ValueError(f"measurement_bases name unknown indicators: {', '.join(unknown)}")
        return self

    def bases_of(self, code: str) -> dict[str, MeasurementBasis]:
        """The alternative measurement bases of indicator ``code`` (empty when it has one)."""
        return self.measurement_bases.get(code, {})

    def basis(self, code: str, key: str) -> MeasurementBasis:
        """Basis ``key`` of indicator ``code``; ``ValidationError`` lists the valid keys."""
        bases = self.bases_of(code)
        if key in bases:
            return bases[key]
        known = ", ".join(bases) or words("(tidak ada pada tahun ini)", "(none in this year)")
        raise ValidationError(
            code="iid.basis_unknown", indicator=code, year=self.year, basis=key, known=known
        )

    def levels_of(self, code: str, basis: str | None = None) -> tuple[str, str, str]:
        """Level texts of ``code``, on ``basis`` when given."""
        if basis:
            return self.basis(code, basis).levels
        return self.indicator(code[:3], code).levels

    def indicators(self, aspect: str) -> tuple[Indicator, ...]:
        if aspect == "sid":
            return self.sid
        if aspect == "spd":
            return self.spd
        raise ValidationError(code="iid.aspect_invalid", aspect=aspect)

    def indicator(self, aspect: str, code: str) -> Indicator:
        """The indicator ``code`` of ``aspect``; a short code like ``sid01`` or ``1`` works."""
        wanted = code.strip().lower()
        for indicator in self.indicators(aspect):
            prefix = indicator.code.split("_", 1)[0]
            if wanted in (indicator.code, prefix) or (
                wanted.isdigit() and int(wanted) == int(prefix[3:])
            ):
                return indicator
        known = ", ".join(i.code for i in self.indicators(aspect))
        raise NotFoundError(
            code="iid.indicator_unknown",
            aspect=aspect.upper(),
            indicator=code,
            year=self.year,
            known=known,
        )

    @property
    def sid_max(self) -> Decimal:
        return sum((i.max_score for i in self.sid), Decimal(0))

    @property
    def spd_max(self) -> Decimal:
        return sum((i.max_score for i in self.spd), Decimal(0))

    @property
    def mandatory_sid(self) -> tuple[str, ...]:
        return tuple(i.code for i in self.sid if i.mandatory)


@cache
def known_years() -> tuple[int, ...]:
    """Years with a catalogue file, ascending (the package's files; read once)."""
    files = resources.files(_PACKAGE).iterdir()
    return tuple(
        sorted(int(f.name[:-5]) for f in files if f.name.endswith(".yaml") and f.name[:4].isdigit())
    )


def _raw(year: int, chain: tuple[int, ...] = ()) -> dict[str, Any]:
    if year in chain:
        raise ValidationError(code="catalogue.loop", year=year, chain=str(chain))
    if year not in known_years():
        years = ", ".join(str(y) for y in known_years())
        raise NotFoundError(code="catalogue.unknown_year", year=year, years=years)
    text = resources.files(_PACKAGE).joinpath(f"{year}.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text) or {}
    if not isinstance(data, dict):
        raise ValidationError(code="catalogue.not_mapping", year=year)
    base = data.pop("based_on", None)
    if base is None:
        return data
    merged = _raw(int(base), (*chain, year))
    merged.update(data)
    return merged


@cache
def catalogue_for_year(year: int) -> Catalogue:
    """The validated catalogue of ``year``; ``NotFoundError`` lists the known years."""
    data = _raw(int(year))
    try:
        catalogue = Catalogue.model_validate({**data, "year": int(year)})
    except PydanticValidationError as exc:
        raise ValidationError(
            problems=[f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()],
            code="file.invalid",
            file=words(f"katalog IID {year}.yaml", f"IID catalogue {year}.yaml"),
        ) from exc
    if data.get("year") not in (None, year):
        raise ValidationError(code="catalogue.year_differs", year=year, said=data.get("year"))
    return catalogue
