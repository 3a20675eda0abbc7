"""Every error Kinanti raises on purpose carries a message code, and every code reads in
both languages with the same placeholders, so ``error.message(lang)`` never falls back to
English (issue 9).

The sources are read as syntax trees (nothing is imported): a class is a Kinanti error when
it derives, by name, from ``KinantiError``; every call that builds one outside
``domain/errors.py`` must pass ``code=``, and a literal code must be in the message table.
"""

from __future__ import annotations

import ast
import string
from pathlib import Path

import pytest

from domain.enums import Language
from domain.messages import MESSAGES

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = ("domain", "kinanti", "flows", "tasks")
ERRORS_MODULE = ROOT / "domain" / "errors.py"


def _sources() -> list[Path]:
    return sorted(p for top in PRODUCTION for p in (ROOT / top).rglob("*.py"))


def _trees() -> dict[Path, ast.Module]:
    trees = {path: ast.parse(path.read_text(), str(path)) for path in _sources()}
    trees[ERRORS_MODULE] = ast.parse(ERRORS_MODULE.read_text())
    return trees


def _name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def kinanti_errors(trees: dict[Path, ast.Module]) -> set[str]:
    """Names of the classes deriving (by name, transitively) from ``KinantiError``."""
    bases: dict[str, set[str]] = {}
    for tree in trees.values():
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                found = {n for n in map(_name, node.bases) if n}
                bases.setdefault(node.name, set()).update(found)
    errors = {"KinantiError"}
    grew = True
    while grew:
        more = {cls for cls, parents in bases.items() if parents & errors} - errors
        errors |= more
        grew = bool(more)
    return errors


def _placeholders(text: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(text) if field is not None}


def test_the_error_classes_are_found() -> None:
    errors = kinanti_errors(_trees())
    # the walk must see the tree, or the checks below would pass on nothing
    assert {"ValidationError", "GateNotOpenError", "BackupError", "UnknownUrusanError"} <= errors


def _calls_without_code(trees: dict[Path, ast.Module]) -> tuple[list[str], set[str]]:
    errors = kinanti_errors(trees)
    missing: list[str] = []
    codes: set[str] = set()
    for path, tree in trees.items():
        if path == ERRORS_MODULE:
            continue
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and _name(node.func) in errors):
                continue
            code = next((k.value for k in node.keywords if k.arg == "code"), None)
            if code is None:
                missing.append(f"{path.relative_to(ROOT)}:{node.lineno} {_name(node.func)}")
            elif isinstance(code, ast.Constant) and isinstance(code.value, str):
                codes.add(code.value)
    return missing, codes


def test_no_kinanti_error_is_built_without_a_message_code() -> None:
    missing, _ = _calls_without_code(_trees())
    assert missing == [], "errors built without code= (give each a code in domain/messages.py)"


def test_every_literal_error_code_has_its_messages() -> None:
    _, codes = _calls_without_code(_trees())
    assert len(codes) > 50
    assert sorted(codes - set(MESSAGES)) == []


@pytest.mark.parametrize("code", sorted(MESSAGES))
def test_each_code_reads_in_both_languages_with_the_same_placeholders(code: str) -> None:
    texts = MESSAGES[code]
    assert set(texts) == {Language.ID, Language.EN}, code
    assert texts[Language.ID].strip() and texts[Language.EN].strip()
    assert _placeholders(texts[Language.ID]) == _placeholders(texts[Language.EN]), code
