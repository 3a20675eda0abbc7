"""Files posted with a form (evidence, request letters): which file was chosen, a file or a
link but not both, and the upload saved where the evidence store checks it."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePath

from fastapi import Request
from starlette.datastructures import UploadFile

from domain.enums import Language
from domain.evidence import EvidenceStore
from kinanti.portal import web
from kinanti.portal.forms import FieldError
from kinanti.portal.texts import t


def uploaded(post: web.Post, name: str) -> UploadFile | None:
    """The file posted in the field ``name``, if one was chosen."""
    upload = post.raw.get(name)
    return upload if isinstance(upload, UploadFile) and upload.filename else None


def file_or_link(
    upload: UploadFile | None, link: str | None, name: str, lang: Language
) -> list[FieldError]:
    """The error (at the field ``name``) unless exactly one of a file and a link was given."""
    if (upload is not None) == bool(link):
        return [FieldError(name, t("err.file_or_link", lang))]
    return []


def incoming(home: Path) -> Path:
    """The folder for files on their way in or out (below the Kinanti home), created."""
    root = home / "incoming"
    root.mkdir(parents=True, exist_ok=True)
    return root


@contextmanager
def received(
    request: Request, upload: UploadFile | None
) -> Iterator[tuple[EvidenceStore, Path | None]]:
    """The evidence store, and the upload (if any) saved in a temporary folder under
    ``incoming`` for its checks; the folder is removed afterwards."""
    settings = web.settings_of(request)
    store = EvidenceStore(settings.resolved_evidence_dir, settings.evidence_max_bytes)
    with tempfile.TemporaryDirectory(dir=incoming(settings.home)) as tmp:
        yield store, _save(upload, Path(tmp)) if upload is not None else None


def _save(upload: UploadFile, folder: Path) -> Path:
    """Copy the upload to ``folder`` under its own (sanitised) name."""
    name = PurePath(upload.filename or "upload").name.replace("\x00", "")[:200] or "upload"
    path = folder / name
    with path.open("wb") as out:
        shutil.copyfileobj(upload.file, out, 1024 * 1024)
    return path
