"""User-facing CLI and report messages in Bahasa Indonesia (default) and English.

``t("key", lang, **values)``. Add a key to both languages; a missing key is a bug and
raises ``KeyError`` in tests.
"""

from __future__ import annotations

from domain.enums import Language

MESSAGES: dict[str, dict[Language, str]] = {
    "db.upgraded": {
        Language.ID: "Basis data siap: {url}",
        Language.EN: "Database is up to date: {url}",
    },
    "error": {Language.ID: "Galat: {message}", Language.EN: "Error: {message}"},
}


def t(key: str, lang: Language | str = Language.ID, /, **values: object) -> str:
    """The message ``key`` in ``lang`` (falls back to Indonesian), formatted with values."""
    entry = MESSAGES[key]
    text = entry.get(Language(lang), entry[Language.ID])
    return text.format(**values)
