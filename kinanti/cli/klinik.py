"""``kinanti klinik ...``: the Klinik Kinanti desk from the command line.

Consultations (book, reschedule, cancel, invite, record the session), follow-ups (add,
done, close), mentoring visits, and the public form's requests (list, submit on a
citizen's behalf, triage into a proposal, close with a reply). ``--as EMAIL`` names the
registered person acting (their roles decide, as in the portal). Times are typed in the
region's time zone. Every change is one transaction, then the one publish path.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated

import typer

from domain.changes import ChangeResult
from kinanti.cli.options import Actor, JsonOutput
from kinanti.settings import get_settings


def _actor(session: object, email: str) -> object:
    from domain.access import actor_of
    from domain.queries import get_person

    return actor_of(session, get_person(session, email))  # type: ignore[arg-type]


def _today() -> dt.date:
    from domain.models import utcnow

    return utcnow().astimezone(get_settings().zone).date()


def _local(value: str) -> dt.datetime:
    from domain.klinik import local_datetime

    return local_datetime(value, get_settings().zone)


def _shown(value: dt.datetime) -> str:
    return value.astimezone(get_settings().zone).strftime("%Y-%m-%d %H:%M %Z")


def _say(key: str, **values: object) -> None:
    """One line of the CLI's answer, in the installation's language."""
    from kinanti.i18n import t

    typer.echo(t(key, get_settings().language, **values))


def _commit(
    command: str, target: str | None, change: object, *args: object, **kwargs: object
) -> object:
    """Run ``change(session, actor, ...)`` in one transaction with the CLI's audit row
    (``kinanti klinik <command>``: the ``--as`` person and the OS user, ``kinanti.cli.writes``)
    and publish what it did; return its row's id when it returns ``(row, result)``."""
    from kinanti.cli.engine import after_commit
    from kinanti.cli.writes import cli_write

    actor_email = str(kwargs.pop("actor"))
    with cli_write(f"klinik {command}", actor_email, target) as session:
        outcome = change(session, _actor(session, actor_email), *args, **kwargs)  # type: ignore[operator]
        row, result = outcome if isinstance(outcome, tuple) else (None, outcome)
        assert isinstance(result, ChangeResult)
        ident = getattr(row, "code", None) or getattr(row, "id", None)
        committed = result.committed(session)
    after_commit(committed)
    return ident


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Klinik Kinanti: konsultasi, tindak lanjut, kunjungan, permohonan")
    app.add_typer(group, name="klinik", no_args_is_help=True)

    @group.command("book")
    def book_cmd(
        at: Annotated[str, typer.Option("--at", help="Local time, e.g. '2026-03-10 09:30'")],
        topic: Annotated[str, typer.Option("--topic")],
        actor: Actor,
        unit: str | None = typer.Option(None, "--unit"),
        innovation: str | None = typer.Option(None, "--innovation"),
        adoption: int | None = typer.Option(None, "--adoption"),
        mentor: str | None = typer.Option(None, "--mentor"),
        place: str | None = typer.Option(None, "--place"),
        attendee: list[str] = typer.Option([], "--attendee"),
    ) -> None:
        """Book a consultation (attendees get the invitation with a calendar file)."""
        from domain import klinik

        cid = _commit(
            "book", (unit or innovation or "").upper() or None, klinik.book_consultation,
            actor=actor, scheduled_at=_local(at), topic=topic,
            unit_code=unit, innovation_code=innovation, adoption_id=adoption,
            mentor_email=mentor, place=place, attendees=attendee,
        )  # fmt: skip
        _say("cli.klinik.booked", consultation=cid, when=_shown(_local(at)))

    @group.command("reschedule")
    def reschedule_cmd(
        consultation: int,
        at: Annotated[str, typer.Option("--at")],
        actor: Actor,
        place: str | None = typer.Option(None, "--place"),
    ) -> None:
        """Move a booked consultation."""
        from domain import klinik

        _commit("reschedule", f"consultation/{consultation}", klinik.reschedule_consultation,
                consultation, actor=actor, scheduled_at=_local(at), place=place)  # fmt: skip
        _say("cli.klinik.moved", consultation=consultation, when=_shown(_local(at)))

    @group.command("cancel")
    def cancel_cmd(
        consultation: int,
        reason: Annotated[str, typer.Option("--reason")],
        actor: Actor,
    ) -> None:
        """Cancel a booked consultation."""
        from domain import klinik

        _commit("cancel", f"consultation/{consultation}", klinik.cancel_consultation,
                consultation, actor=actor, reason=reason)  # fmt: skip
        _say("cli.klinik.cancelled", consultation=consultation)

    @group.command("invite")
    def invite_cmd(
        consultation: int,
        attendee: Annotated[list[str], typer.Option("--attendee")],
        actor: Actor,
    ) -> None:
        """Invite more attendees."""
        from domain import klinik

        _commit("invite", f"consultation/{consultation}", klinik.add_attendees, consultation,
                attendee, actor=actor)  # fmt: skip
        _say("cli.klinik.invited", consultation=consultation, emails=", ".join(attendee))

    @group.command("record")
    def record_cmd(
        consultation: int,
        actor: Actor,
        notes: str | None = typer.Option(None, "--notes"),
        present: list[str] = typer.Option([], "--present"),
    ) -> None:
        """After the session: notes and who was present (the others: absent)."""
        from domain import klinik

        _commit("record", f"consultation/{consultation}", klinik.record_session, consultation,
                actor=actor, notes=notes, present=present)  # fmt: skip
        _say("cli.klinik.held", consultation=consultation)

    @group.command("follow-up")
    def follow_up_cmd(
        text: Annotated[str, typer.Option("--text")],
        owner: Annotated[str, typer.Option("--owner")],
        due: Annotated[dt.datetime, typer.Option("--due", formats=["%Y-%m-%d"])],
        actor: Actor,
        consultation: int | None = typer.Option(None, "--consultation"),
        visit: int | None = typer.Option(None, "--visit"),
    ) -> None:
        """Add a follow-up (its owner is told) to a consultation or a visit."""
        from domain import klinik

        parent = f"consultation/{consultation}" if consultation is not None else f"visit/{visit}"
        fid = _commit(
            "follow-up", parent, klinik.add_follow_up, actor=actor, text=text, owner_email=owner,
            due_on=due.date(), today=_today(), consultation_id=consultation, visit_id=visit,
        )  # fmt: skip
        _say("cli.klinik.follow_up_added", follow_up=fid, due=due.date().isoformat())

    @group.command("done")
    def done_cmd(
        follow_up: int,
        actor: Actor,
        close: bool = typer.Option(False, "--close", help="Closed without being done"),
        note: str | None = typer.Option(None, "--note"),
    ) -> None:
        """Mark a follow-up done (or ``--close`` it with a ``--note``)."""
        from domain import klinik

        _commit("done", f"follow-up/{follow_up}", klinik.complete_follow_up, follow_up,
                actor=actor, close=close, note=note)  # fmt: skip
        _say(f"cli.klinik.follow_up_{'closed' if close else 'done'}", follow_up=follow_up)

    @group.command("visit")
    def visit_cmd(
        unit: Annotated[str, typer.Option("--unit")],
        on: Annotated[dt.datetime, typer.Option("--on", formats=["%Y-%m-%d"])],
        place: Annotated[str, typer.Option("--place")],
        purpose: Annotated[str, typer.Option("--purpose")],
        actor: Actor,
        outcome: str | None = typer.Option(None, "--outcome"),
        innovator: str | None = typer.Option(None, "--innovator"),
        innovation: str | None = typer.Option(None, "--innovation"),
    ) -> None:
        """Record a mentoring visit (the innovator's own; an operator may name one)."""
        from domain import klinik

        vid = _commit(
            "visit", unit.upper(), klinik.record_visit, actor=actor, unit_code=unit,
            visited_on=on.date(), place=place, purpose=purpose, outcome=outcome, today=_today(),
            innovator_email=innovator, innovation_code=innovation,
        )  # fmt: skip
        _say("cli.klinik.visit_recorded", visit=vid)

    @group.command("list")
    def list_cmd(as_json: JsonOutput = False) -> None:
        """Consultations, newest first, with their attendees and open follow-ups."""
        from sqlalchemy import select

        from domain import klinik
        from domain.enums import FollowUpStatus
        from domain.models import Consultation, Unit
        from kinanti.db import unit_of_work

        rows = []
        with unit_of_work() as session:
            for c, unit_code in session.execute(
                select(Consultation, Unit.code)
                .join(Unit, Unit.id == Consultation.unit_id)
                .order_by(Consultation.scheduled_at.desc())
            ):
                rows.append({
                    "id": c.id, "at": _shown(c.scheduled_at), "unit": unit_code,
                    "topic": c.topic, "status": c.status.value,
                    "attendees": [p.email for p, _ in klinik.attendees_of(session, c)],
                    "open_follow_ups": [
                        f.text for f, _ in klinik.follow_ups_of(session, consultation_id=c.id)
                        if f.status is FollowUpStatus.OPEN
                    ],
                })  # fmt: skip
        if as_json:
            typer.echo(json.dumps(rows, indent=2))
            return
        for r in rows:
            typer.echo(f"#{r['id']} {r['at']} {r['unit']} [{r['status']}] {r['topic']}")

    @group.command("requests")
    def requests_cmd(as_json: JsonOutput = False) -> None:
        """The public form's requests, new first."""
        from sqlalchemy import select

        from domain.models import PublicRequest
        from kinanti.db import unit_of_work

        with unit_of_work() as session:
            rows = [
                {"reference": r.reference, "kind": r.kind.value, "status": r.status.value,
                 "name": r.name, "subject": r.subject}
                for r in session.scalars(
                    select(PublicRequest).order_by(PublicRequest.created_at.desc())
                )
            ]  # fmt: skip
        rows.sort(key=lambda r: r["status"] != "new")
        if as_json:
            typer.echo(json.dumps(rows, indent=2))
            return
        for r in rows:
            typer.echo(
                f"{r['reference']} [{r['status']}] {r['kind']}: {r['subject']} ({r['name']})"
            )

    @group.command("triage")
    def triage_cmd(
        reference: str,
        unit: Annotated[str, typer.Option("--unit")],
        code: Annotated[str, typer.Option("--code")],
        jenis: Annotated[str, typer.Option("--jenis")],
        bentuk: Annotated[str, typer.Option("--bentuk")],
        urusan: Annotated[str, typer.Option("--urusan")],
        actor: Actor,
        year: int | None = typer.Option(None, "--year"),
        title: str | None = typer.Option(None, "--title"),
    ) -> None:
        """Turn a public request into a proposal owned by a unit (initiator Masyarakat)."""
        from domain import klinik

        created = _commit(
            "triage", reference.upper(), klinik.triage_to_proposal, reference, actor=actor,
            unit_code=unit, code=code, year=year or _today().year, jenis=jenis, bentuk=bentuk,
            urusan_main=urusan, title=title, language=get_settings().language,
        )  # fmt: skip
        _say("cli.klinik.triaged", reference=reference.upper(), innovation=created)

    @group.command("close")
    def close_cmd(
        reference: str,
        reply: Annotated[str, typer.Option("--reply")],
        actor: Actor,
    ) -> None:
        """Close a public request with a reply (emailed to the citizen)."""
        from domain import klinik

        _commit("close", reference.upper(), klinik.close_public_request, reference, actor=actor,
                reply=reply)  # fmt: skip
        _say("cli.klinik.closed", reference=reference.upper())
