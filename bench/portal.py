"""Benchmark: the portal's pages under load, against a floor page in the same run.

Builds a city with five years of data in a fresh database (bulk inserts: the example
city's units, 200 people, >= 2,000 innovations with history and gates, 40,000 indicator
claims), starts ``kinanti web`` (uvicorn, one process) on a free port, signs in 20 httpx
clients as 20 different people (reviewer + head of Brida, so every page is theirs), and
has them request, concurrently and in a shuffled order, the inbox, an innovation page
(a random innovation each time), the unit list, the city's IID page, and the floor: a
signed-in page rendering a constant template (``/help``).

Prints p50/p95 per page. Last line: ``ratio=<p95 of the slowest page / p95 of the floor>``.
Run: ``python bench/portal.py [--rounds 20] [--database-url postgresql+psycopg://...]``.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import random
import re
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
from sqlalchemy import Engine, insert, select

from domain.enums import (
    Bentuk,
    GateStatus,
    Initiator,
    Jenis,
    Language,
    Role,
    Stage,
    VerificationStatus,
)
from domain.iid.catalogue import catalogue_for_year, known_years
from domain.lifecycle import STAGE_ORDER
from domain.models import (
    GateRequest,
    IndicatorClaim,
    Innovation,
    Person,
    PersonRole,
    PortalAccount,
    StageHistory,
    Unit,
)
from kinanti import db
from kinanti.db import make_engine
from kinanti.importers import import_file
from kinanti.portal.security import hash_password

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "mataram"
YEARS = (2022, 2023, 2024, 2025, 2026)
PAGES = ("inbox", "innovation", "units", "iid", "floor")
CLIENTS = 20


def _catalogue_year(year: int) -> int:
    known = sorted(known_years())
    return max((y for y in known if y <= year), default=known[0])


def build_city(engine: Engine, *, innovations: int, claims_each: int, people: int) -> dict:
    """Bulk-insert the city; returns the codes and the clients' emails and password."""
    rng = random.Random(7)
    with db.unit_of_work(engine) as session:
        unit_ids = list(session.scalars(select(Unit.id)))
        brida = session.scalars(select(Unit.id).where(Unit.code == "BRIDA")).one()
        existing = session.scalars(select(Person.id)).all()
    now = dt.datetime.now(dt.UTC)
    password = secrets.token_urlsafe(12)
    digest = hash_password(password)
    clients = [f"bench.reviewer{i:02d}@mataramkota.go.id" for i in range(CLIENTS)]
    extra = people - len(existing)
    person_rows = [
        {"email": e, "name": f"Peninjau {i}", "unit_id": brida, "language": Language.ID,
         "active": True, "created_at": now, "updated_at": now}
        for i, e in enumerate(clients)
    ] + [
        {"email": f"bench.officer{i:03d}@mataramkota.go.id", "name": f"Petugas {i}",
         "unit_id": rng.choice(unit_ids), "language": Language.ID, "active": True,
         "created_at": now, "updated_at": now}
        for i in range(max(0, extra - CLIENTS))
    ]  # fmt: skip
    started = time.perf_counter()
    with db.unit_of_work(engine) as session:
        session.execute(insert(Person), person_rows)
        ids = dict(session.execute(select(Person.email, Person.id)).all())
        roles = [{"person_id": ids[e], "role": r} for e in clients
                 for r in (Role.REVIEWER, Role.HEAD_OF_BRIDA)]  # fmt: skip
        roles += [{"person_id": ids[r["email"]], "role": Role.UNIT_OFFICER}
                  for r in person_rows[CLIENTS:]]  # fmt: skip
        session.execute(insert(PersonRole), roles)
        session.execute(
            insert(PortalAccount),
            [{"person_id": ids[e], "password_hash": digest, "session_epoch": 1,
              "created_at": now, "updated_at": now} for e in clients],
        )  # fmt: skip
        rows = []
        for n in range(innovations):
            year = YEARS[n % len(YEARS)]
            stage = rng.choice(STAGE_ORDER)
            rows.append(
                {"code": f"BENCH-{year}-{n:05d}", "title": f"Inovasi layanan {n}",
                 "unit_id": rng.choice(unit_ids), "year": year, "stage": stage,
                 "initiator": Initiator.OPD, "jenis": Jenis.DIGITAL,
                 "bentuk": Bentuk.PELAYANAN_PUBLIK, "urusan_main": rng.choice(
                     ["Kesehatan", "Pendidikan", "Sosial", "Perhubungan", "Pariwisata"]),
                 "tematik": "Digitalisasi Layanan Pemerintahan", "design": "Rancang " * 320,
                 "goals": "Tujuan.", "benefits": "Manfaat.", "budget": Decimal("1000000"),
                 "implementation_start": dt.date(year, 6, 1) if stage is not Stage.PLANNING
                 else None, "urusan_other": [], "revision_requested": False,
                 "consultation_requested": False, "replicable": False, "version": 1,
                 "created_at": now, "updated_at": now}
            )  # fmt: skip
        session.execute(insert(Innovation), rows)
        inv = session.execute(select(Innovation.id, Innovation.code, Innovation.year,
                                     Innovation.stage)).all()  # fmt: skip
        history, gates, claims = [], [], []
        for iid, _code, year, stage in inv:
            opened = now - dt.timedelta(days=rng.randint(0, 20), hours=rng.randint(0, 23))
            history.append({"innovation_id": iid, "from_stage": None, "to_stage": Stage.PLANNING,
                            "actor": "bench@mataramkota.go.id", "reason": "submitted",
                            "occurred_at": opened - dt.timedelta(days=30)})  # fmt: skip
            if stage is not Stage.REPLICATION and rng.random() < 0.3:
                gates.append({"innovation_id": iid, "stage": stage, "round": 1,
                              "status": GateStatus.OPEN, "opened_at": opened,
                              "due_at": opened + dt.timedelta(days=14), "attempts": 0,
                              "version": 1})  # fmt: skip
            catalogue = catalogue_for_year(_catalogue_year(year))
            for indicator in rng.sample(
                list(catalogue.sid), k=min(claims_each, len(catalogue.sid))
            ):
                accepted = rng.random() < 0.6
                claims.append(
                    {"year": year, "aspect": "sid", "innovation_id": iid,
                     "indicator": indicator.code, "claimed_level": rng.choice((1, 2, 3)),
                     "link": f"https://bukti.example/{iid}/{indicator.code}",
                     "status": VerificationStatus.ACCEPTED if accepted
                     else VerificationStatus.PENDING,
                     "claimed_by": "bench@mataramkota.go.id", "created_at": now,
                     "updated_at": now}
                )  # fmt: skip
        session.execute(insert(StageHistory), history)
        session.execute(insert(GateRequest), gates)
        for start in range(0, len(claims), 5000):
            session.execute(insert(IndicatorClaim), claims[start : start + 5000])
    took = time.perf_counter() - started
    codes = [code for _i, code, _y, _s in inv]
    print(
        f"data: {len(codes)} innovations, {len(claims)} claims, {len(gates)} open gates, "
        f"{len(existing) + len(person_rows)} people; inserted in {took:.1f} s"
    )
    return {"codes": codes, "clients": clients, "password": password}


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def _sign_in(client: httpx.AsyncClient, email: str, password: str) -> None:
    page = await client.get("/sign-in")
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match, "no CSRF token on the sign-in page"
    response = await client.post(
        "/sign-in",
        data={"csrf_token": match.group(1), "email": email, "password": password, "next": "/"},
    )
    assert response.status_code == 303, f"sign-in failed for {email}: {response.status_code}"


async def _load(url: str, city: dict, rounds: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {p: [] for p in PAGES}
    rng = random.Random(3)
    paths = {"inbox": "/gates", "units": "/units", "iid": "/city", "floor": "/help"}
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    clients = [httpx.AsyncClient(base_url=url, timeout=120, limits=limits) for _ in range(CLIENTS)]
    try:
        # the first IID page syncs the catalogue's weights; then every client signs in
        # (idle keep-alive connections would be closed by the server meanwhile)
        await _sign_in(clients[0], city["clients"][0], city["password"])
        await clients[0].get("/city")
        others = zip(clients[1:], city["clients"][1:], strict=True)
        await asyncio.gather(*(_sign_in(c, e, city["password"]) for c, e in others))

        async def one(client: httpx.AsyncClient, seed: int) -> None:
            order = [p for _ in range(rounds) for p in PAGES]
            random.Random(seed).shuffle(order)
            for page in order:
                path = paths.get(page) or f"/innovations/{rng.choice(city['codes'])}"
                started = time.perf_counter()
                response = await client.get(path)
                elapsed = time.perf_counter() - started
                if response.status_code != 200:
                    log = Path(os.environ["KINANTI_HOME"]) / "portal.log"
                    raise SystemExit(f"{path}: {response.status_code}\n{log.read_text()[-4000:]}")
                times[page].append(elapsed)

        # warm-up: one request per client, not measured
        await asyncio.gather(*(c.get("/help") for c in clients))
        await asyncio.gather(*(one(c, i) for i, c in enumerate(clients)))
    finally:
        await asyncio.gather(*(c.aclose() for c in clients))
    return times


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--innovations", type=int, default=2000)
    parser.add_argument("--claims-each", type=int, default=20)
    parser.add_argument("--people", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=20, help="Requests per page per client")
    parser.add_argument("--database-url", default=None, help="Default: a temporary SQLite file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kinanti-bench-portal-") as tmp:
        home = Path(tmp)
        url = args.database_url or f"sqlite:///{home / 'kinanti.db'}"
        port = _free_port()
        env = {**os.environ, "KINANTI_HOME": str(home), "KINANTI_DATABASE_URL": url,
               "KINANTI_PORTAL_URL": f"http://127.0.0.1:{port}", "KINANTI_WEB_PORT": str(port),
               "KINANTI_EMAIL_BACKEND": "file", "PYTHONUNBUFFERED": "1"}  # fmt: skip
        env.pop("PREFECT_API_URL", None)
        os.environ.update({k: env[k] for k in ("KINANTI_HOME", "KINANTI_DATABASE_URL")})
        db.upgrade(url)
        import_file("units", EXAMPLES / "units.yaml")
        import_file("people", EXAMPLES / "people.yaml")
        engine = make_engine(url)
        city = build_city(
            engine, innovations=args.innovations, claims_each=args.claims_each, people=args.people
        )
        engine.dispose()
        log = (home / "portal.log").open("wb")
        process = subprocess.Popen(
            [sys.executable, "-m", "kinanti.cli", "web"], env=env, stdout=log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(base + "/sign-in", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline or process.poll() is not None:
                    raise SystemExit((home / "portal.log").read_text()[-3000:])
                time.sleep(0.2)
            started = time.perf_counter()
            times = asyncio.run(_load(base, city, args.rounds))
            took = time.perf_counter() - started
        finally:
            process.terminate()
            process.wait(10)
            log.close()
    total = sum(len(v) for v in times.values())
    print(f"load: {CLIENTS} signed-in clients, {total} requests in {took:.1f} s "
          f"({total / took:.0f} req/s)")  # fmt: skip
    p95: dict[str, float] = {}
    for page in PAGES:
        values = times[page]
        p95[page] = _pct(values, 0.95)
        print(
            f"{page:<11} n={len(values):<5} p50={statistics.median(values) * 1000:7.1f} ms  "
            f"p95={p95[page] * 1000:7.1f} ms"
        )
    slowest = max((p for p in PAGES if p != "floor"), key=lambda p: p95[p])
    print(f"slowest page: {slowest}")
    print(f"ratio={p95[slowest] / p95['floor']:.2f}")


if __name__ == "__main__":
    main()
