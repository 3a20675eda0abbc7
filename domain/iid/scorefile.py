"""Score a region described in a YAML or JSON file, without the database.

Format (YAML shown; the same keys in JSON work; see docs/iid-score-file.md)::

    year: 2023                  # optional when given on the command line (--year)
    region: Kota Mataram        # optional, shown in the output
    spd:                        # the region's SPD levels: indicator -> level
      spd01_visi_misi: 3        # a level 1..3 (0 or missing = empty)
      spd10_opini_bpk: {level: 3, status: pending}
    innovations:
      - code: PENDEKAR-SERASI
        title: Pendekar Serasi  # optional
        urusan: [Kesehatan]     # main and other affairs (the 2026 basic-service rule)
        sid:
          sid01_regulasi: 2
          sid20_kualitas: {level: 3, status: rejected}
          sid18_kemanfaatan: {level: 3, status: accepted, verified_level: 2}

Urusan are checked against the official list (``domain.iid.urusan``): any accepted
spelling or alias counts, an unknown one is refused with the nearest valid names. The
file may not use YAML anchors or aliases, and is at most ``MAX_FILE_BYTES`` long.

An indicator is named by its full code (``sid01_regulasi``) or its short one (``sid01``).
A bare level is an accepted claim (claimed = verified). In the long form ``status`` is
``accepted`` (default), ``pending`` or ``rejected``; ``verified_level`` defaults to
``level``. Both the claimed and the verified IID are computed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic import ValidationError as PydanticValidationError

from domain.enums import Language, VerificationStatus
from domain.errors import ValidationError
from domain.iid.catalogue import Catalogue, catalogue_for_year
from domain.iid.scoring import (
    Basis,
    Claim,
    Gain,
    InnovationLevels,
    RegionScore,
    largest_gains,
    levels_of,
    missing_mandatory,
    region_score,
    sid_score,
)
from domain.safe_yaml import MAX_FILE_BYTES, load_json, load_yaml, read_bounded
from domain.schemas import UrusanName

Level = Annotated[int, Field(ge=0, le=3)]


class LevelClaim(BaseModel):
    model_config = ConfigDict(extra="forbid")

    level: Level
    status: VerificationStatus = VerificationStatus.ACCEPTED
    verified_level: Level | None = None


class InnovationEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=40)
    title: str | None = None
    urusan: list[UrusanName] = Field(default_factory=list)
    sid: dict[str, Level | LevelClaim] = Field(default_factory=dict)

    @field_validator("urusan")
    @classmethod
    def _urusan_once(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(value))


class RegionFile(BaseModel):
    """A region to score: its SPD levels and each innovation's SID levels and urusan."""

    model_config = ConfigDict(extra="forbid")

    year: int | None = None
    region: str | None = None
    spd: dict[str, Level | LevelClaim] = Field(default_factory=dict)
    innovations: list[InnovationEntry] = Field(default_factory=list)


@dataclass(frozen=True)
class InnovationResult:
    code: str
    title: str | None
    sid_claimed: object
    sid_verified: object
    missing_mandatory: tuple[str, ...]
    gains: list[Gain]


@dataclass(frozen=True)
class FileScore:
    region: str | None
    catalogue: Catalogue
    claimed: RegionScore
    verified: RegionScore
    innovations: list[InnovationResult]
    spd_gains: list[Gain]


def _claims(catalogue: Catalogue, aspect: str, raw: dict[str, int | LevelClaim]) -> list[Claim]:
    claims = []
    for key, value in raw.items():
        code = catalogue.indicator(aspect, key).code
        if isinstance(value, LevelClaim):
            claims.append(Claim(code, value.level, value.status, value.verified_level))
        else:
            claims.append(Claim(code, value, VerificationStatus.ACCEPTED, value))
    return claims


def load_region_file(
    path: Path, language: Language | str = Language.EN, max_bytes: int = MAX_FILE_BYTES
) -> RegionFile:
    """Read and validate a region file (``.yaml``, ``.yml`` or ``.json``); messages about
    the urusan come in ``language``."""
    text = read_bounded(path, max_bytes)
    if path.suffix.lower() == ".json":
        data = load_json(text, path.name)
    else:
        data = load_yaml(text, path.name)
    try:
        return RegionFile.model_validate(data or {}, context={"language": str(language)})
    except PydanticValidationError as exc:
        raise ValidationError(
            problems=[
                f"{'.'.join(map(str, e['loc']))}: {str(e['msg']).removeprefix('Value error, ')}"
                for e in exc.errors()
            ],
            code="file.invalid",
            file=str(path),
        ) from exc


def score_region_file(region: RegionFile, year: int | None = None) -> FileScore:
    """Score ``region`` with the catalogue of ``year`` (or the file's year)."""
    if year is not None and region.year is not None and year != region.year:
        raise ValidationError(code="iid.year_differs", year=year, file_year=region.year)
    chosen = year or region.year
    if chosen is None:
        raise ValidationError(code="iid.year_required")
    catalogue = catalogue_for_year(chosen)
    spd = _claims(catalogue, "spd", region.spd)
    entries = [(e, _claims(catalogue, "sid", e.sid)) for e in region.innovations]
    n = len(entries)
    scores = {}
    results = []
    for basis in Basis:
        items = [
            InnovationLevels(e.code, levels_of(claims, basis), tuple(e.urusan))
            for e, claims in entries
        ]
        scores[basis] = region_score(catalogue, levels_of(spd, basis), items, basis)
    for e, claims in entries:
        claimed = levels_of(claims, Basis.CLAIMED)
        verified = levels_of(claims, Basis.VERIFIED)
        results.append(
            InnovationResult(
                code=e.code,
                title=e.title,
                sid_claimed=sid_score(catalogue, claimed),
                sid_verified=sid_score(catalogue, verified),
                missing_mandatory=missing_mandatory(catalogue, verified),
                gains=largest_gains(catalogue, "sid", verified, n=n),
            )
        )
    return FileScore(
        region=region.region,
        catalogue=catalogue,
        claimed=scores[Basis.CLAIMED],
        verified=scores[Basis.VERIFIED],
        innovations=results,
        spd_gains=largest_gains(catalogue, "spd", levels_of(spd, Basis.VERIFIED)),
    )
