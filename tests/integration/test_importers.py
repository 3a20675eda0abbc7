"""Registry import (kinanti.importers): every bad input is reported, nothing half-written."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from domain.enums import Language, Role, Stage, UnitKind
from domain.errors import NotFoundError, ValidationError
from domain.models import Innovation, Person, PersonRole, Unit
from domain.queries import proposal_problems_of
from kinanti.db import make_engine, upgrade
from kinanti.importers import (
    ImportReport,
    RecordKind,
    import_file,
    import_innovations,
    import_people,
    import_units,
    read_records,
)
from tests.support.factories import DESIGN_300, Factory

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "mataram"


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def _import(session: Session, kind: RecordKind, path: Path) -> ImportReport:
    records = read_records(path, kind)
    if kind == "units":
        return import_units(session, records, path.name)
    if kind == "people":
        return import_people(session, records, path.name)
    return import_innovations(session, records, path.name)


def _count(session: Session, model: type[Unit] | type[Person] | type[Innovation]) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def _innovation_yaml(code: str, unit: str, **extra: str) -> str:
    fields = {
        "code": code,
        "title": f"Inovasi {code}",
        "unit": unit,
        "year": "2026",
        "initiator": "OPD",
        "jenis": "Digital",
        "bentuk": "Inovasi Pelayanan Publik",
        "urusan_main": "Kesehatan",
        "tematik": "Non Tematik",
        "goals": "Mempercepat layanan.",
        "benefits": "Warga terlayani.",
        "budget": "25000000",
        **extra,
    }
    lines = [f"- {k}: {v}" if i == 0 else f"  {k}: {v}" for i, (k, v) in enumerate(fields.items())]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- bad input, one case each

BAD_UNITS = [
    pytest.param(
        "units.yaml",
        "units:\n  - code: [DINKES\n    name: Dinas Kesehatan\n",
        "units.yaml: line 3, column 9: malformed YAML: expected ',' or ']'",
        id="malformed-yaml",
    ),
    pytest.param(
        "units.csv",
        'code,name,kind\nDINKES,Dinas Kesehatan,opd\n"BAPPEDA,Bappeda,opd\n',
        "units.csv: line 3: malformed CSV",
        id="malformed-csv",
    ),
    pytest.param(
        "units.yaml",
        "- {code: DINKES, name: Dinas Kesehatan, kind: dinas}\n",
        "units.yaml: record 1 (code DINKES): kind: 'dinas' is not allowed; "
        "allowed values: 'opd' or 'uptd'",
        id="wrong-enum",
    ),
    pytest.param(
        "units.yaml",
        "- {code: BRIDA, name: Brida, kind: opd}\n"
        "- {code: DINKES, name: Dinas Kesehatan, kind: opd, head_email: 'x@'}\n",
        "units.yaml: record 2 (code DINKES): head_email: 'x@' is not a valid email",
        id="bad-email",
    ),
    pytest.param(
        "units.yaml",
        "- {code: DINKES, kind: opd}\n",
        "record 1 (code DINKES): name: is required but missing",
        id="missing-field",
    ),
    pytest.param(
        "units.yaml",
        "- {code: PKM-X, name: Puskesmas X, kind: uptd, parent: NOPE}\n",
        "record 1 (code PKM-X): parent: unknown unit code 'NOPE'",
        id="unknown-parent",
    ),
    pytest.param(
        "units.yaml",
        "- {code: PKM-X, name: Puskesmas X, kind: uptd}\n",
        "record 1 (code PKM-X): parent: a UPTD must name its parent OPD",
        id="uptd-without-parent",
    ),
    pytest.param(
        "units.yaml",
        "- {code: DINKES, name: Dinas Kesehatan, kind: opd, parent: BRIDA}\n"
        "- {code: BRIDA, name: Brida, kind: opd}\n",
        "record 1 (code DINKES): parent: an OPD has no parent",
        id="opd-with-parent",
    ),
    pytest.param(
        "units.yaml",
        "- {code: LAB-X, name: Lab X, kind: uptd, parent: PKM-X}\n"
        "- {code: PKM-X, name: Puskesmas X, kind: uptd, parent: DINKES}\n"
        "- {code: DINKES, name: Dinas Kesehatan, kind: opd}\n",
        "record 1 (code LAB-X): parent: PKM-X is a UPTD; a UPTD's parent must be an OPD",
        id="uptd-under-uptd-in-file",
    ),
    pytest.param(
        "units.yaml",
        "- {code: LAB-X, name: Lab X, kind: uptd, parent: LAB-X}\n",
        "record 1 (code LAB-X): parent: LAB-X cannot be its own parent",
        id="own-parent",
    ),
    pytest.param(
        "units.yaml",
        "- {code: DINKES, name: Dinas Kesehatan, kind: opd}\n"
        "- {code: dinkes, name: Dinas Kesehatan Lagi, kind: opd}\n",
        "record 2 (code DINKES): code: DINKES appears twice in the file (first at record 1)",
        id="duplicate-code",
    ),
    pytest.param(
        "units.yaml",
        f"- {{code: DINKES, name: {'Dinas ' * 40}, kind: opd}}\n",
        "record 1 (code DINKES): name: text is 239 characters long; at most 200 allowed",
        id="text-over-limit",
    ),
    pytest.param(
        "units.yaml",
        "- {code: 'DIN KES', name: Dinas, kind: opd}\n",
        "code: 'DIN KES': use letters, digits",
        id="bad-code",
    ),
    pytest.param(
        "units.yaml",
        "- {code: DINKES, name: Dinas Kesehatan, kind: opd, colour: red}\n",
        "record 1 (code DINKES): colour: is not a known field",
        id="unknown-field",
    ),
    pytest.param(
        "units.yaml",
        "- just a string\n",
        "record 1: expected a mapping of fields",
        id="record-not-a-mapping",
    ),
    pytest.param(
        "units.yaml",
        "people:\n  - {email: a@b.id}\n",
        "found 'people:' (wrong file for this command?)",
        id="wrong-top-level-key",
    ),
    pytest.param("units.yaml", "# nothing here\n", "units.yaml: no units records", id="empty"),
    pytest.param(
        "units.txt", "code: DINKES\n", "unsupported file type '.txt'", id="unsupported-type"
    ),
    pytest.param(
        "units.csv",
        "code,name,kind\nDINKES,Dinas Kesehatan,opd,extra\n",
        "units.csv: record 1 (code DINKES): the row has more cells than the header",
        id="csv-extra-cells",
    ),
    pytest.param(
        "units.csv",
        "code,name,kind\nDINKES,Dinas Kesehatan,opd\nPKM-X,Puskesmas X,uptd\n",
        "units.csv: record 2 (code PKM-X): parent: a UPTD must name its parent OPD "
        "(e.g. parent: DINKES) (line 3)",
        id="csv-line-number",
    ),
]


@pytest.mark.parametrize(("name", "text", "expected"), BAD_UNITS)
def test_a_bad_units_file_is_refused_with_a_precise_message(
    session: Session, tmp_path: Path, name: str, text: str, expected: str
) -> None:
    before = _count(session, Unit)
    path = _write(tmp_path, name, text)
    with pytest.raises(ValidationError) as info:
        _import(session, "units", path)
    assert any(expected in p for p in info.value.problems), info.value.problems
    assert _count(session, Unit) == before


def test_a_uptd_cannot_hang_under_a_registered_uptd(
    session: Session, make: Factory, tmp_path: Path
) -> None:
    dinkes = make.unit("DINKES-I")
    make.unit("PKM-I", kind=UnitKind.UPTD, parent=dinkes)
    path = _write(tmp_path, "units.yaml", "- {code: LAB-I, name: Lab, kind: uptd, parent: PKM-I}\n")
    with pytest.raises(ValidationError, match="PKM-I is a UPTD"):
        _import(session, "units", path)


def test_an_opd_with_uptds_cannot_become_a_uptd(
    session: Session, make: Factory, tmp_path: Path
) -> None:
    dinkes = make.unit("DINKES-J")
    make.unit("PKM-J", kind=UnitKind.UPTD, parent=dinkes)
    make.unit("OTHER-J")
    path = _write(
        tmp_path, "units.yaml", "- {code: DINKES-J, name: Dinkes, kind: uptd, parent: OTHER-J}\n"
    )
    with pytest.raises(ValidationError, match="DINKES-J is the parent of PKM-J"):
        _import(session, "units", path)


def test_every_problem_of_a_file_is_reported_at_once_in_record_order(
    session: Session, tmp_path: Path
) -> None:
    path = _write(
        tmp_path,
        "units.yaml",
        """
        units:
          - {code: DINKES, name: Dinas Kesehatan, kind: opd, head_email: "x@"}
          - {code: PKM-A, name: Puskesmas A, kind: uptd, parent: NOPE}
          - {code: PKM-B, name: Puskesmas B, kind: klinik, parent: DINKES}
          - {code: DINKES, name: Dinas Kesehatan, kind: opd}
        """,
    )
    with pytest.raises(ValidationError) as info:
        _import(session, "units", path)
    problems = info.value.problems
    assert [p.split(":")[1].strip() for p in problems] == [
        "record 1 (code DINKES)",
        "record 2 (code PKM-A)",
        "record 3 (code PKM-B)",
        "record 4 (code DINKES)",
    ]
    assert all(p.startswith("units.yaml: record ") for p in problems)
    assert problems[0].endswith("(line 2)")
    assert "units.yaml: 4 problems; nothing was written" in str(info.value)


BAD_PEOPLE = [
    pytest.param(
        "- {email: a@mataramkota.go.id, name: A, roles: [boss]}\n",
        "record 1 (email a@mataramkota.go.id): roles.0: 'boss' is not allowed; allowed values: "
        "'brida_operator', 'head_of_brida', 'reviewer', 'innovator', 'unit_officer' or "
        "'unit_head'",
        id="wrong-role",
    ),
    pytest.param(
        "- {email: a@mataramkota.go.id, name: A, roles: [reviewer], unit: NOPE}\n",
        "record 1 (email a@mataramkota.go.id): unit: unknown unit code 'NOPE'",
        id="unknown-unit",
    ),
    pytest.param(
        "- {email: a@mataramkota.go.id, name: A, roles: [reviewer]}\n"
        "- {email: A@MataramKota.go.id, name: B, roles: [innovator]}\n",
        "record 2 (email a@mataramkota.go.id): email: a@mataramkota.go.id appears twice",
        id="duplicate-email",
    ),
    pytest.param(
        "- {email: a@mataramkota.go.id, name: A, roles: [unit_officer]}\n",
        "unit: unit_officer and unit_head must name their 'unit'",
        id="unit-role-without-unit",
    ),
    pytest.param(
        "- {email: a@mataramkota.go.id, name: A}\n",
        "roles: is required but missing",
        id="missing-roles",
    ),
    pytest.param(
        "- {email: not-an-email, name: A, roles: [reviewer]}\n",
        "record 1 (email not-an-email): email: 'not-an-email' is not a valid email",
        id="bad-email",
    ),
]


@pytest.mark.parametrize(("text", "expected"), BAD_PEOPLE)
def test_a_bad_people_file_is_refused_with_a_precise_message(
    session: Session, tmp_path: Path, text: str, expected: str
) -> None:
    before = _count(session, Person)
    with pytest.raises(ValidationError) as info:
        _import(session, "people", _write(tmp_path, "people.yaml", text))
    assert any(expected in p for p in info.value.problems), info.value.problems
    assert _count(session, Person) == before


BAD_INNOVATIONS = [
    pytest.param(
        _innovation_yaml("INV-A", "NOPE"),
        "record 1 (code INV-A): unit: unknown unit code 'NOPE'",
        id="unknown-unit",
    ),
    pytest.param(
        _innovation_yaml("INV-A", "{unit}", origin="INV-NOPE"),
        "record 1 (code INV-A): origin: innovation 'INV-NOPE' does not exist",
        id="unknown-origin",
    ),
    pytest.param(
        _innovation_yaml("INV-A", "{unit}", jenis="Analog"),
        "jenis: 'Analog' is not allowed; allowed values: 'Digital' or 'Non Digital'",
        id="wrong-enum",
    ),
    pytest.param(
        _innovation_yaml("INV-A", "{unit}") + _innovation_yaml("INV-A", "{unit}"),
        "record 2 (code INV-A): code: INV-A appears twice in the file",
        id="duplicate-code",
    ),
    pytest.param(
        _innovation_yaml("INV-A", "{unit}", title="x" * 201),
        "title: text is 201 characters long; at most 200 allowed",
        id="title-over-limit",
    ),
    pytest.param(
        _innovation_yaml("INV-A", "{unit}", year="1999"),
        "year: 1999: Input should be greater than or equal to 2000",
        id="year-out-of-range",
    ),
    pytest.param(
        _innovation_yaml("INV-A", "{unit}", origin="INV-B") + _innovation_yaml("INV-B", "{unit}"),
        "origin: INV-B belongs to {unit}; a unit cannot replicate its own innovation",
        id="replicates-own-unit",
    ),
    pytest.param(
        _innovation_yaml("INV-A", "{unit}", origin="INV-A"),
        "origin: an innovation cannot replicate itself",
        id="replicates-itself",
    ),
    pytest.param(
        _innovation_yaml("INV-A", "{unit}", origin="INV-B")
        + _innovation_yaml("INV-B", "{other}", origin="INV-A"),
        "the 'origin' links of this file form a cycle",
        id="origin-cycle",
    ),
    pytest.param(
        _innovation_yaml("INV-TAKEN", "{unit}"),
        "code: INV-TAKEN is already registered for unit {other}",
        id="code-of-another-unit",
    ),
]


@pytest.mark.parametrize(("text", "expected"), BAD_INNOVATIONS)
def test_a_bad_innovations_file_is_refused_with_a_precise_message(
    session: Session, make: Factory, tmp_path: Path, text: str, expected: str
) -> None:
    unit, other = make.unit(), make.unit()
    make.innovation(other, code="INV-TAKEN")
    before = _count(session, Innovation)
    values = {"unit": unit.code, "other": other.code}
    path = _write(tmp_path, "innovations.yaml", text.format(**values))
    with pytest.raises(ValidationError) as info:
        _import(session, "innovations", path)
    assert any(expected.format(**values) in p for p in info.value.problems), info.value.problems
    assert _count(session, Innovation) == before


def test_a_missing_file_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="file not found"):
        read_records(tmp_path / "nope.yaml", "units")


def test_a_bad_file_writes_nothing_at_all(empty_database_url: str, tmp_path: Path) -> None:
    """Through the real transaction: the last record's problem discards the good ones."""
    upgrade(empty_database_url)
    engine = make_engine(empty_database_url)
    try:
        good = "".join(f"- {{code: OPD{n}, name: Dinas {n}, kind: opd}}\n" for n in range(20))
        path = _write(tmp_path, "units.yaml", good + "- {code: BAD, name: Bad, kind: nope}\n")
        with pytest.raises(ValidationError, match="record 21 \\(code BAD\\): kind"):
            import_file("units", path, engine=engine)
        people = _write(
            tmp_path,
            "people.yaml",
            "- {email: a@mataramkota.go.id, name: A, roles: [reviewer]}\n"
            "- {email: b@mataramkota.go.id, name: B, roles: [reviewer], unit: OPD1}\n",
        )
        with pytest.raises(ValidationError, match="unknown unit code 'OPD1'"):
            import_file("people", people, engine=engine)
        with engine.connect() as conn:
            assert conn.scalar(select(func.count()).select_from(Unit)) == 0
            assert conn.scalar(select(func.count()).select_from(Person)) == 0
    finally:
        engine.dispose()


# ---------------------------------------------------------------- good input


UNITS_YAML = """
units:
  - {code: PKM-MATARAM, name: UPTD Puskesmas Mataram, kind: uptd, parent: DINKES}
  - code: DINKES
    name: Dinas Kesehatan
    kind: opd
    head_name: dr. Baiq Rahmawati
    head_email: Kepala.Dinkes@MataramKota.go.id
  - {code: dpmptsp, name: DPMPTSP, kind: opd, language: en}
"""

UNITS_CSV = """\
code,name,kind,parent,head_email,language,active
PKM-MATARAM,UPTD Puskesmas Mataram,uptd,DINKES,,,
DINKES,Dinas Kesehatan,opd,,kepala.dinkes@mataramkota.go.id,,true
DPMPTSP,DPMPTSP,opd,,,en,yes
"""


@pytest.mark.parametrize(("name", "text"), [("units.yaml", UNITS_YAML), ("units.csv", UNITS_CSV)])
def test_units_whose_parent_comes_later_in_the_file_are_imported(
    session: Session, tmp_path: Path, name: str, text: str
) -> None:
    report = _import(session, "units", _write(tmp_path, name, text))
    assert (report.created, report.updated, report.unchanged) == (3, 0, 0)
    pkm = session.scalar(select(Unit).where(Unit.code == "PKM-MATARAM"))
    dinkes = session.scalar(select(Unit).where(Unit.code == "DINKES"))
    assert pkm is not None and dinkes is not None
    assert (pkm.kind, pkm.parent_id) == (UnitKind.UPTD, dinkes.id)
    assert dinkes.head_email is not None and dinkes.head_email.endswith("@mataramkota.go.id")
    dpmptsp = session.scalar(select(Unit).where(Unit.code == "DPMPTSP"))
    assert dpmptsp is not None and dpmptsp.language is Language.EN


def test_reimporting_units_is_idempotent_and_counts_updates(
    session: Session, tmp_path: Path
) -> None:
    path = _write(tmp_path, "units.yaml", UNITS_YAML)
    _import(session, "units", path)
    again = _import(session, "units", path)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)

    changed = _write(tmp_path, "units.yaml", UNITS_YAML.replace("DPMPTSP, kind", "DPM-PTSP, kind"))
    report = _import(session, "units", changed)
    assert (report.created, report.updated, report.unchanged) == (0, 1, 2)
    assert session.scalar(select(func.count()).select_from(Unit).where(Unit.code == "DINKES")) == 1


PEOPLE_CSV = """\
email,name,roles,unit,phone
Reviewer@MataramKota.go.id,Baiq Hendriani,reviewer;brida_operator,{unit},+62 812 1
innovator@unram.ac.id,Ahmad Tauhid,innovator,,
"""


def test_people_are_imported_from_csv_and_roles_are_replaced_on_reimport(
    session: Session, make: Factory, tmp_path: Path
) -> None:
    unit = make.unit()
    path = _write(tmp_path, "people.csv", PEOPLE_CSV.format(unit=unit.code))
    report = _import(session, "people", path)
    assert (report.created, report.updated, report.unchanged) == (2, 0, 0)

    def roles(email: str) -> set[Role]:
        return set(
            session.scalars(select(PersonRole.role).join(Person).where(Person.email == email))
        )

    assert roles("reviewer@mataramkota.go.id") == {Role.REVIEWER, Role.BRIDA_OPERATOR}
    assert _import(session, "people", path).unchanged == 2

    fewer = PEOPLE_CSV.format(unit=unit.code).replace("reviewer;brida_operator", "head_of_brida")
    report = _import(session, "people", _write(tmp_path, "people.csv", fewer))
    assert (report.updated, report.unchanged) == (1, 1)
    session.expire_all()
    assert roles("reviewer@mataramkota.go.id") == {Role.HEAD_OF_BRIDA}
    assert _count(session, Person) >= 2
    assert (
        session.scalar(
            select(func.count()).select_from(Person).where(Person.email.like("%unram.ac.id"))
        )
        == 1
    )


def test_innovations_are_submitted_with_replicas_after_their_origin_and_reimport_is_idempotent(
    session: Session, make: Factory, tmp_path: Path
) -> None:
    dukcapil, pkm = make.unit(), make.unit()
    text = "innovations:\n" + textwrap.indent(
        _innovation_yaml("AKTA-PKM", pkm.code, origin="AKTA-JEMPUT")
        + _innovation_yaml("AKTA-JEMPUT", dukcapil.code, design=DESIGN_300),
        "  ",
    )
    path = _write(tmp_path, "innovations.yaml", text)
    report = _import(session, "innovations", path)
    assert (report.created, report.updated, report.unchanged) == (2, 0, 0)

    replica = session.scalar(select(Innovation).where(Innovation.code == "AKTA-PKM"))
    origin = session.scalar(select(Innovation).where(Innovation.code == "AKTA-JEMPUT"))
    assert replica is not None and origin is not None
    assert replica.origin_id == origin.id and replica.stage is Stage.PLANNING

    again = _import(session, "innovations", path)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    changed = _write(tmp_path, "innovations.yaml", text.replace("Warga terlayani.", "Lebih cepat."))
    assert _import(session, "innovations", changed).updated == 2


def test_a_single_innovation_record_and_json_are_accepted(
    session: Session, make: Factory, tmp_path: Path
) -> None:
    unit = make.unit()
    single = _innovation_yaml("SATU-SAJA", unit.code).replace("- code", "code", 1)
    single = single.replace("\n  ", "\n")
    assert _import(session, "innovations", _write(tmp_path, "one.yaml", single)).created == 1
    record = {
        "code": "JSON-1",
        "title": "Dari JSON",
        "unit": unit.code,
        "year": 2026,
        "initiator": "ASN",
        "jenis": "Non Digital",
        "bentuk": "Inovasi Pelayanan Publik",
        "urusan_main": "Sosial",
    }
    as_json = json.dumps({"innovations": [record]})
    assert _import(session, "innovations", _write(tmp_path, "many.json", as_json)).created == 1


def test_malformed_json_names_the_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "innovations.json", '[\n  {"code": "A",\n]\n')
    with pytest.raises(
        ValidationError, match=r"innovations.json: line 3, column 1: malformed JSON"
    ):
        read_records(path, "innovations")


def test_the_example_city_loads_and_reloads_unchanged(session: Session) -> None:
    units = _import(session, "units", EXAMPLES / "units.yaml")
    people = _import(session, "people", EXAMPLES / "people.yaml")
    innovations = _import(session, "innovations", EXAMPLES / "innovations.yaml")
    assert 35 <= units.created <= 45 and units.total == units.created
    assert people.created >= 15
    assert innovations.created == 40

    loaded = session.scalars(select(Innovation).where(Innovation.year == 2026)).all()
    incomplete = [i.code for i in loaded if proposal_problems_of(i)]
    assert 3 <= len(incomplete) <= 5
    assert sum(i.consultation_requested for i in loaded) >= 10
    assert any(i.origin_id for i in loaded)
    assert {i.jenis for i in loaded} == {"Digital", "Non Digital"}
    assert len({i.bentuk for i in loaded}) == 3

    for kind, name in (("units", "units"), ("people", "people"), ("innovations", "innovations")):
        again = _import(session, kind, EXAMPLES / f"{name}.yaml")  # type: ignore[arg-type]
        assert again.created == again.updated == 0, kind


# ---------------------------------------------------------------- urusan and untrusted YAML


def test_urusan_are_stored_canonical_and_an_unknown_one_is_refused_with_suggestions(
    session: Session, make: Factory, tmp_path: Path
) -> None:
    unit = make.unit()
    good = _write(
        tmp_path,
        "innovations.yaml",
        _innovation_yaml("URU-A", unit.code, urusan_main="'Trantibum Linmas'")
        + "  urusan_other: [kominfo, 'Pekerjaan Umum', 'Ketenteraman/Ketertiban Umum dan"
        " Pelindungan Masyarakat']\n",
    )
    _import(session, "innovations", good)
    stored = session.scalars(select(Innovation).where(Innovation.code == "URU-A")).one()
    assert stored.urusan_main == "Ketenteraman, Ketertiban Umum, dan Pelindungan Masyarakat"
    assert stored.urusan_other == [
        "Komunikasi dan Informatika",
        "Pekerjaan Umum dan Penataan Ruang",
        "Ketenteraman, Ketertiban Umum, dan Pelindungan Masyarakat",
    ]
    bad = _write(
        tmp_path,
        "bad.csv",
        "code,title,unit,year,initiator,jenis,bentuk,urusan_main,urusan_other\n"
        f"URU-B,Inovasi B,{unit.code},2026,OPD,Digital,Inovasi Pelayanan Publik,Kesehtan,"
        '"Sosial;Pariwsata"\n',
    )
    records = read_records(bad, "innovations")
    with pytest.raises(ValidationError) as caught:
        import_innovations(session, records, bad.name, language="id")
    problems = caught.value.problems
    assert problems == [
        "bad.csv: record 1 (code URU-B): urusan_main: urusan 'Kesehtan' tidak dikenal "
        "(UU 23/2014 pasal 12); yang terdekat: Kesehatan, Kehutanan, Kelautan dan Perikanan"
        " (line 2)",
        "bad.csv: record 1 (code URU-B): urusan_other.1: urusan 'Pariwsata' tidak dikenal "
        "(UU 23/2014 pasal 12); yang terdekat: Pariwisata (line 2)",
    ]
    assert session.scalar(select(func.count()).where(Innovation.code == "URU-B")) == 0


BILLION_LAUGHS = "\n".join(
    [
        'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
        *(
            f"{name}: &{name} [{','.join([f'*{prev}'] * 9)}]"
            for prev, name in zip("abcdefgh", "bcdefghi", strict=True)
        ),
    ]
)


@pytest.mark.parametrize("kind", ["units", "people", "innovations"])
def test_billion_laughs_is_refused_before_validation(tmp_path: Path, kind: RecordKind) -> None:
    path = _write(tmp_path, f"{kind}.yaml", BILLION_LAUGHS)
    assert len(path.read_text().splitlines()) == 9
    with pytest.raises(ValidationError, match=r"line 1, column 4: .*anchors \(&a\)"):
        read_records(path, kind)


def test_an_oversize_import_file_is_refused_before_it_is_read(tmp_path: Path) -> None:
    path = _write(tmp_path, "units.csv", "code,name,kind\n" + "X1,Unit,opd\n" * 100)
    with pytest.raises(ValidationError, match="at most 500 bytes accepted"):
        read_records(path, "units", max_bytes=500)
