"""Urusan pemerintahan (government affairs) as data: ``domain/iid/urusan.yaml``.

The official list of UU 23/2014 art. 12 (6 basic-service, 18 other mandatory, 8 optional
affairs) with aliases. ``canonical_urusan("ketenteraman & ketertiban umum ...")`` returns
the name Kinanti stores; an unknown name raises ``UnknownUrusanError`` naming the nearest
valid names (``difflib``) in the caller's language. The importers, the IID score file,
the domain's input schema and the portal's forms all call ``canonical_urusan``.

Matching ignores case, punctuation, spacing and the joining words "dan", "serta" and "&"
(so "Ketenteraman, Ketertiban Umum, dan Pelindungan Masyarakat" and "ketenteraman
ketertiban umum & pelindungan masyarakat" are one affair); other spellings are aliases in
the data file.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources

import yaml

from domain.enums import Language
from domain.errors import ValidationError
from domain.messages import words

_JOINERS = frozenset({"dan", "serta"})
_NON_WORD = re.compile(r"[^0-9a-z]+")


def normalise(name: str) -> str:
    """The matching key of an urusan name (case, punctuation, spacing, "dan"/"&" ignored)."""
    words = _NON_WORD.sub(" ", name.casefold().replace("&", " dan ")).split()
    return " ".join(w for w in words if w not in _JOINERS)


@dataclass(frozen=True)
class Urusan:
    name: str
    group: str
    basic_service: bool
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class UrusanList:
    items: tuple[Urusan, ...]
    by_key: dict[str, Urusan]
    group_labels: dict[str, dict[str, str]]

    @property
    def basic_service(self) -> tuple[str, ...]:
        return tuple(u.name for u in self.items if u.basic_service)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(u.name for u in self.items)


@cache
def urusan_list() -> UrusanList:
    """The packaged list, loaded and checked once (an alias naming two affairs is an error)."""
    text = resources.files("domain.iid").joinpath("urusan.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    groups = data["groups"]
    items: list[Urusan] = []
    by_key: dict[str, Urusan] = {}
    for raw in data["urusan"]:
        item = Urusan(
            name=raw["name"],
            group=raw["group"],
            basic_service=bool(groups[raw["group"]]["basic_service"]),
            aliases=tuple(raw.get("aliases") or ()),
        )
        items.append(item)
        for spelling in (item.name, *item.aliases):
            key = normalise(spelling)
            other = by_key.get(key)
            if other is not None and other is not item:
                raise ValidationError(
                    code="urusan.ambiguous", spelling=spelling, first=other.name, second=item.name
                )
            by_key[key] = item
    labels = {k: dict(v["label"]) for k, v in groups.items()}
    return UrusanList(tuple(items), by_key, labels)


class UnknownUrusanError(ValidationError):
    """An urusan that is not in the official list; ``suggestions`` are the nearest names.
    ``str()`` is the text in the language asked for (pydantic shows it beside the field)."""

    def __init__(
        self, message: str = "", *, code: str, value: str, suggestions: tuple[str, ...]
    ) -> None:
        self.value = value
        self.suggestions = suggestions
        names = ", ".join(suggestions)
        hint = (
            words(f"; yang terdekat: {names}", f"; nearest: {names}")
            if suggestions
            else words("; lihat daftar: kinanti iid urusan", "; see the list: kinanti iid urusan")
        )
        super().__init__(message, code=code, value=value, hint=hint)


def suggestions_for(value: str, limit: int = 3) -> tuple[str, ...]:
    """The canonical names nearest to ``value`` (difflib on the matching keys)."""
    listing = urusan_list()
    close = difflib.get_close_matches(normalise(value), listing.by_key, n=limit * 3, cutoff=0.6)
    names = dict.fromkeys(listing.by_key[key].name for key in close)
    return tuple(names)[:limit]


def unknown_message(value: str, language: Language | str = Language.EN) -> str:
    error = UnknownUrusanError(
        code="urusan.unknown", value=value, suggestions=suggestions_for(value)
    )
    return error.message(language)


def lookup(value: str) -> Urusan | None:
    """The affair ``value`` names, or ``None``."""
    return urusan_list().by_key.get(normalise(value))


def canonical_urusan(value: str, language: Language | str = Language.EN) -> str:
    """The canonical name of ``value``; ``UnknownUrusanError`` with the nearest names."""
    found = lookup(value)
    if found is None:
        raise UnknownUrusanError(
            unknown_message(value, language),
            code="urusan.unknown",
            value=value,
            suggestions=suggestions_for(value),
        )
    return found.name


def canonical_list(values: Iterable[str], language: Language | str = Language.EN) -> list[str]:
    """Canonical names of ``values`` in order, repeats dropped."""
    return list(dict.fromkeys(canonical_urusan(v, language) for v in values))


def basic_service_names() -> tuple[str, ...]:
    """The six basic-service affairs (canonical names, in the law's order)."""
    return urusan_list().basic_service


def basic_service_of(values: Iterable[str]) -> frozenset[str]:
    """The basic-service affairs among ``values`` (any accepted spelling; unknown ignored)."""
    found = (lookup(v) for v in values)
    return frozenset(u.name for u in found if u is not None and u.basic_service)
