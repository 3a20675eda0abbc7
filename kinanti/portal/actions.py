"""One path for a signed-in person's form post: parse the form (a pydantic model), apply
the domain change in one transaction, publish it after commit and redirect (303). An
invalid form or a domain refusal shows the page again with its error summary, and nothing
is written."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel
from sqlalchemy.orm import Session

from domain.changes import ChangeResult
from domain.errors import KinantiError
from kinanti.db import unit_of_work
from kinanti.portal import web
from kinanti.portal.delivery import hand_off
from kinanti.portal.forms import FieldError, domain_errors, parse

#: The form's page again, with these errors and the posted values.
Again = Callable[[list[FieldError], dict[str, Any]], Response]


@dataclass(frozen=True)
class Created:
    """What a change that creates a row returns: its result and the new row's page."""

    result: ChangeResult
    page: str


#: A domain change applied with the parsed form, in the caller's transaction.
Change = Callable[[Session, Any], "ChangeResult | Created"]


def act(
    request: Request,
    post: web.Post,
    form_class: type[BaseModel],
    change: Change,
    *,
    again: Again,
    done: str = "",
) -> Response:
    """Parse the posted form, apply ``change`` in one transaction and publish it, then go to
    ``done`` (or the created row's page); on any error show ``again`` with the errors."""
    form, errors = parse(form_class, post.data, post.lang)
    if form is None:
        return again(errors, dict(post.data))
    try:
        with unit_of_work(web.engine_of(request)) as session:
            outcome = change(session, form)
            if isinstance(outcome, Created):
                result, done = outcome.result, outcome.page
            else:
                result = outcome
            committed = result.committed(session)
    except KinantiError as exc:
        return again(domain_errors(exc, form_class, post.lang), dict(post.data))
    hand_off(request, committed)
    return RedirectResponse(done, status_code=303)
