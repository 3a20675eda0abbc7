"""Bad input at every entry, property-based (hypothesis), on SQLite and PostgreSQL.

Every importer (units, people, innovations; YAML, CSV, JSON), the IID score file and the
gate input (the Prefect form's ``GateDecision``, the domain's ``DecisionCommand`` and
``ScorecardIn``) gets generated records (near-valid ones mutated, arbitrary values,
arbitrary bytes, other encodings) and hand-made malformed files (oversize, deep nesting,
aliases, huge strings, NUL bytes). Whatever comes in either works or raises a Kinanti error
whose message is clear (no traceback, no pydantic dump), and an error leaves every table
as it was.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pydantic
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from domain import gates
from domain.enums import GateDecisionKind, Role
from domain.errors import KinantiError
from domain.iid.scorefile import load_region_file, score_region_file
from domain.models import Base
from domain.safe_yaml import MAX_DEPTH, MAX_FILE_BYTES
from domain.schemas import ScorecardIn
from flows.lifecycle import GateDecision
from kinanti.db import make_engine, unit_of_work, upgrade
from kinanti.importers import import_file
from tests.conftest import BACKENDS
from tests.support import postgres
from tests.support.factories import DESIGN_300, Factory

FAST = settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

VALID: dict[str, dict[str, Any]] = {
    "units": {
        "code": "PUSK-AMPENAN",
        "name": "Puskesmas Ampenan",
        "kind": "uptd",
        "parent": "DINKES",
        "head_email": "kepala.ampenan@mataramkota.go.id",
        "language": "id",
    },
    "people": {
        "email": "baiq.nurul@mataramkota.go.id",
        "name": "Baiq Nurul",
        "roles": ["unit_officer"],
        "unit": "DINKES",
        "phone": "0370-123456",
    },
    "innovations": {
        "code": "SEHAT-KITA",
        "title": "Sehat Kita",
        "unit": "DINKES",
        "year": 2026,
        "initiator": "opd",
        "jenis": "digital",
        "bentuk": "pelayanan_publik",
        "urusan_main": "Kesehatan",
        "urusan_other": ["Sosial"],
        "design": DESIGN_300,
        "budget": "25000000",
        "trial_start": "2026-02-01",
    },
}

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=40)
    | st.text(alphabet=st.characters(max_codepoint=0x1F), max_size=5)
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


@st.composite
def records(draw: st.DrawFn, kind: str) -> dict[str, Any]:
    """A valid record of ``kind`` with some fields dropped, replaced or added."""
    record = dict(VALID[kind])
    for key in draw(st.lists(st.sampled_from(sorted(record)), max_size=3, unique=True)):
        del record[key]
    fields = [*sorted(VALID[kind]), "active", "origin", "goals", "kind", "roles"]
    for key in draw(st.lists(st.sampled_from(fields) | st.text(max_size=6), max_size=3)):
        record[key] = draw(values)
    return record


def _csv(items: list[dict[str, Any]]) -> str:
    columns = sorted({str(k) for item in items for k in item})
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    for item in items:
        writer.writerow(
            [
                ";".join(map(str, v)) if isinstance(v, list) else ("" if v is None else str(v))
                for v in (item.get(c) for c in columns)
            ]
        )
    return out.getvalue()


def _serialise(fmt: str, kind: str, items: list[dict[str, Any]], wrap: bool) -> bytes:
    data: Any = {kind: items} if wrap else items
    if fmt == "json":
        return json.dumps(data, default=str).encode()
    if fmt == "yaml":
        return yaml.safe_dump(data, allow_unicode=True).encode()
    return _csv(items).encode()


# ---------------------------------------------------------------- a database of its own


@pytest.fixture(scope="module", params=BACKENDS)
def input_engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    """A migrated database of this module's own (imports commit), with a small city."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('input') / 'input.db'}"
        context: Any = None
    else:
        context = postgres.temporary_database("kinanti_input")
        url = context.__enter__()
    try:
        upgrade(url)
        engine = make_engine(url)
        with unit_of_work(engine) as session:
            make = Factory(session)
            brida = make.unit("BRIDA", name="Badan Riset dan Inovasi Daerah")
            make.unit("DINKES", name="Dinas Kesehatan")
            make.person("hendriani.brida@mataramkota.go.id", roles=[Role.REVIEWER], unit=brida)
        yield engine
        engine.dispose()
    finally:
        if context is not None:
            context.__exit__(None, None, None)


def counts(engine: Engine) -> dict[str, int]:
    with Session(engine) as session:
        return {
            t.name: int(session.scalar(select(func.count()).select_from(t)) or 0)
            for t in Base.metadata.sorted_tables
        }


def assert_clear(error: BaseException) -> None:
    """A Kinanti error whose message a user can act on."""
    assert isinstance(error, KinantiError), repr(error)
    for language in ("id", "en"):
        text = error.message(language)
        assert text.strip(), error
        assert "Traceback" not in text
        assert "errors.pydantic.dev" not in text and "validation error for" not in text
        assert "sqlalchemy" not in text.lower() and "psycopg" not in text.lower()


def attempt(engine: Engine | None, action: Callable[[], object]) -> object:
    """Run ``action``: it works, or raises a clear Kinanti error and changes no row."""
    before = counts(engine) if engine is not None else None
    try:
        return action()
    except Exception as exc:
        assert_clear(exc)
        if engine is not None:
            assert counts(engine) == before, f"{exc} left rows behind"
        return exc


def _file(folder: Path, suffix: str, content: bytes) -> Path:
    with tempfile.NamedTemporaryFile(dir=folder, suffix=suffix, delete=False) as handle:
        handle.write(content)
    return Path(handle.name)


# ---------------------------------------------------------------- importers


@pytest.mark.parametrize("kind", ["units", "people", "innovations"])
def test_every_importer_takes_any_records_or_refuses_them_clearly(
    input_engine: Engine, kind: str, tmp_path: Path
) -> None:
    @FAST
    @given(
        items=st.lists(records(kind) | values, min_size=0, max_size=3),
        fmt=st.sampled_from(["yaml", "json", "csv"]),
        wrap=st.booleans(),
    )
    def check(items: list[Any], fmt: str, wrap: bool) -> None:
        if fmt == "csv":
            items = [i for i in items if isinstance(i, dict)]
        path = _file(
            tmp_path, f".{'yml' if fmt == 'yaml' else fmt}", _serialise(fmt, kind, items, wrap)
        )
        attempt(input_engine, lambda: import_file(kind, path, engine=input_engine))  # type: ignore[arg-type]

    check()


@pytest.mark.parametrize("suffix", [".yaml", ".json", ".csv"])
def test_every_importer_refuses_garbage_bytes_and_foreign_encodings_clearly(
    input_engine: Engine, suffix: str, tmp_path: Path
) -> None:
    @FAST
    @given(
        content=st.binary(max_size=600)
        | st.builds(
            lambda text, encoding: text.encode(encoding, errors="replace"),
            st.text(min_size=1, max_size=200),
            st.sampled_from(["utf-16", "utf-32", "latin-1", "cp1252", "utf-8"]),
        ),
        kind=st.sampled_from(["units", "people", "innovations"]),
    )
    def check(content: bytes, kind: str) -> None:
        path = _file(tmp_path, suffix, content)
        attempt(input_engine, lambda: import_file(kind, path, engine=input_engine))  # type: ignore[arg-type]

    check()


def _deep(depth: int, fmt: str) -> bytes:
    if fmt == "json":
        return ("[" * depth + "]" * depth).encode()
    return ("- " * 1 + "[" * depth + "]" * depth).encode()


MALFORMED: dict[str, tuple[str, Callable[[], bytes]]] = {
    "oversize": (".yaml", lambda: b"# " + b"x" * MAX_FILE_BYTES + b"\n"),
    "deep-json": (".json", lambda: _deep(100_000, "json")),
    "deep-json-parsed": (".json", lambda: _deep(MAX_DEPTH + 5, "json")),
    "deep-yaml": (".yaml", lambda: _deep(10_000, "yaml")),
    "billion-laughs": (
        ".yaml",
        lambda: b'a: &a ["lol","lol"]\nb: &b [*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b]\n',
    ),
    "huge-title": (
        ".json",
        lambda: json.dumps([{**VALID["innovations"], "title": "T" * 3_000_000}]).encode(),
    ),
    "huge-csv-cell": (".csv", lambda: b"code,name,kind\nX," + b"n" * 200_000 + b",opd\n"),
    "nul-in-json": (".json", lambda: json.dumps([{**VALID["units"], "name": "a\x00b"}]).encode()),
    "nul-bytes": (".csv", lambda: b"code,name,kind\nDIN\x00KES,Dinas,opd\n"),
    "utf16-bom": (".yaml", lambda: yaml.safe_dump([VALID["units"]]).encode("utf-16")),
    "latin-1": (".csv", lambda: "code,name,kind\nDPK,Dinas Pariwisata Ñ,opd\n".encode("latin-1")),
    "not-a-list": (".json", lambda: b'"just a string"'),
    "empty": (".yaml", lambda: b""),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_and_oversize_files_are_refused_clearly_and_write_nothing(
    input_engine: Engine, case: str, tmp_path: Path
) -> None:
    suffix, content = MALFORMED[case]
    kinds = ("units", "people", "innovations")
    for kind in (kinds[sorted(MALFORMED).index(case) % 3],):  # reading is the same for all
        path = _file(tmp_path, suffix, content())
        outcome = attempt(input_engine, lambda: import_file(kind, path, engine=input_engine))  # type: ignore[arg-type]  # noqa: B023
        assert isinstance(outcome, KinantiError), f"{case} was accepted for {kind}"


# ---------------------------------------------------------------- the IID score file

SCORES = ["renewal", "benefit", "no_burden", "authority", "replicable"]

REGION: dict[str, Any] = {
    "year": 2026,
    "region": "Kota Mataram",
    "spd": {"spd01": 3, "spd10": {"level": 3, "status": "pending"}},
    "innovations": [
        {
            "code": "PENDEKAR",
            "urusan": ["Kesehatan"],
            "sid": {"sid01": 2, "sid20": {"level": 3, "status": "rejected"}},
        }
    ],
}


@st.composite
def regions(draw: st.DrawFn) -> Any:
    region: dict[str, Any] = json.loads(json.dumps(REGION))
    choice = draw(st.integers(0, 5))
    if choice == 0:
        region[draw(st.sampled_from(["year", "region", "spd", "innovations", "x"]))] = draw(values)
    elif choice == 1:
        region["spd"][draw(st.text(max_size=10))] = draw(values)
    elif choice == 2:
        region["innovations"][0]["sid"][draw(st.sampled_from(["sid01", "sid99", ""]))] = draw(
            values
        )
    elif choice == 3:
        region["innovations"][0][draw(st.sampled_from(["code", "urusan", "title", "sid"]))] = draw(
            values
        )
    elif choice == 4:
        region["year"] = draw(st.integers(-5, 10_000))
    else:
        return draw(values)
    return region


def test_the_iid_score_file_scores_any_region_or_refuses_it_clearly(tmp_path: Path) -> None:
    @FAST
    @given(
        region=regions(),
        fmt=st.sampled_from(["json", "yaml"]),
        year=st.none() | st.integers(1990, 2100),
    )
    def check(region: Any, fmt: str, year: int | None) -> None:
        text = json.dumps(region, default=str) if fmt == "json" else yaml.safe_dump(region)
        path = _file(tmp_path, f".{fmt}", text.encode())
        attempt(None, lambda: score_region_file(load_region_file(path), year))

    check()


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_score_files_are_refused_clearly(case: str, tmp_path: Path) -> None:
    suffix, content = MALFORMED[case]
    suffix = ".json" if suffix == ".json" else ".yaml"
    path = _file(tmp_path, suffix, content())
    outcome = attempt(None, lambda: score_region_file(load_region_file(path), 2026))
    if case not in ("empty",):  # an empty file is an empty region, scored (all zero)
        assert isinstance(outcome, KinantiError), f"{case} was scored"


# ---------------------------------------------------------------- the gate input


def _open_gate(engine: Engine, code: str) -> int:
    with unit_of_work(engine) as session:
        make = Factory(session)
        unit = make.unit()
        innovation = make.innovation(unit, code=code)
        gate, _ = gates.open_gate(
            session, innovation, round_=1, flow_run_id=None, timeout=dt.timedelta(days=14),
            notify_reviewers=False,
        )  # fmt: skip
        session.flush()
        return gate.id


texts = (
    st.text(max_size=30)
    | st.text(min_size=2001, max_size=2100)
    | st.sampled_from(
        ["hendriani.brida@mataramkota.go.id", "HENDRIANI.BRIDA@mataramkota.go.id ", "-", "system"]
    )
)


def test_the_gate_input_decides_or_refuses_clearly_and_never_half_writes(
    input_engine: Engine,
) -> None:
    gate_ids = [_open_gate(input_engine, "GERBANG-PROP")]
    opened: list[int] = []

    @FAST
    @given(
        form=st.dictionaries(
            st.sampled_from(
                [
                    "decision",
                    "reason",
                    "proof",
                    "renewal",
                    "benefit",
                    "no_burden",
                    "authority",
                    "replicable",
                    "extra",
                ]
            ),
            values | st.sampled_from(["approve", "revise", "reject", "APPROVE", 3, 6, "4"]),
            max_size=8,
        ),
        decider=st.none() | texts,
        channel=st.sampled_from(["cli", "prefect", "portal", "import", "x" * 20]),
        os_user=st.none() | texts,
    )
    def check(form: dict[str, Any], decider: str | None, channel: str, os_user: str | None) -> None:
        try:  # the Prefect form (Prefect's API and UI report its validation themselves)
            decision = GateDecision.model_validate(form)
        except pydantic.ValidationError:
            return

        def decide() -> object:
            scores = decision.scorecard()
            command = gates.DecisionCommand(
                decision.decision,
                reason=decision.reason if channel == "prefect" else str(form.get("reason", "")),
                channel=channel,
                decider=decider,
                proof=decision.proof or None,
                scorecard=ScorecardIn.parse(scores) if scores else None,
                os_user=os_user,
            )
            with unit_of_work(input_engine) as session:
                return gates.decide_gate(session, gate_ids[0], command, continue_in_run=False)

        outcome = attempt(input_engine, decide)
        if isinstance(outcome, gates.DecisionOutcome) and outcome.accepted:
            gate_ids[0] = _open_gate(input_engine, f"GERBANG-{len(opened)}")  # a fresh gate
            opened.append(gate_ids[0])
        elif isinstance(outcome, gates.DecisionOutcome):
            assert outcome.refusal is not None
            assert_clear(outcome.refusal)

    check()


def test_a_scorecard_out_of_range_is_a_clear_kinanti_error() -> None:
    @FAST
    @given(st.dictionaries(st.sampled_from([*SCORES, "notes", "x"]), values, max_size=7))
    def check(data: dict[str, Any]) -> None:
        attempt(None, lambda: ScorecardIn.parse(data))

    check()
    error = attempt(
        None,
        lambda: ScorecardIn.parse(
            dict.fromkeys(["renewal", "benefit", "no_burden", "authority", "replicable"], 9)
        ),
    )
    assert isinstance(error, KinantiError) and "renewal" in str(error)
    assert gates.GateDecisionKind is GateDecisionKind
