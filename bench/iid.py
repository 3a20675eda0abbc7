"""Benchmark: the IID of a national-size portfolio, Kinanti's code vs one raw SQL query.

Generates 540 regions (stored as units of kind opd; a national portfolio groups
innovations by their unit), 30,000 innovations and 20 SID claims each (600,000 claims)
in a temporary SQLite database, then computes every region's claimed and verified IID

- through Kinanti (``domain.iid.portfolio.figures_by_unit``: weights sync, one aggregate
  query, the arithmetic of ``domain.iid.scoring``), and
- through one hand-written SQL query doing everything in the database,

checks both agree to 1e-6 for every region, and prints both times (best of 3), the
Python memory peak of Kinanti's run (tracemalloc) and the process's max RSS. The region's
SPD claims are the installation's (one set), applied to every region in both paths.

Last line: ``ratio=<Kinanti time / raw query time>``.  Run: ``python bench/iid.py``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import resource
import sys
import tempfile
import time
import tracemalloc
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text
from sqlalchemy.orm import Session

from domain.iid.catalogue import catalogue_for_year
from domain.iid.portfolio import figures_by_unit, sync_weights
from domain.models import Base
from kinanti.db import make_engine

YEAR = 2023
RAW_QUERY = """
WITH scores AS (
  SELECT c.innovation_id,
         SUM(CASE WHEN c.status <> 'rejected' THEN w.weight * c.claimed_level ELSE 0 END) AS sc,
         SUM(CASE WHEN c.status = 'accepted'
                  THEN w.weight * COALESCE(c.verified_level, c.claimed_level) ELSE 0 END) AS sv
  FROM indicator_claims c
  JOIN iid_weights w ON w.year = c.year AND w.aspect = c.aspect AND w.indicator = c.indicator
  WHERE c.year = :year AND c.aspect = 'sid'
  GROUP BY c.innovation_id
),
spd AS (
  SELECT COALESCE(SUM(CASE WHEN c.status <> 'rejected' THEN w.weight * c.claimed_level
                      ELSE 0 END), 0) AS sc,
         COALESCE(SUM(CASE WHEN c.status = 'accepted'
                      THEN w.weight * COALESCE(c.verified_level, c.claimed_level)
                      ELSE 0 END), 0) AS sv
  FROM indicator_claims c
  JOIN iid_weights w ON w.year = c.year AND w.aspect = c.aspect AND w.indicator = c.indicator
  WHERE c.year = :year AND c.aspect = 'spd'
),
per_unit AS (
  SELECT i.unit_id, COUNT(*) AS n,
         SUM(COALESCE(s.sc, 0)) AS sc, SUM(COALESCE(s.sv, 0)) AS sv
  FROM innovations i LEFT JOIN scores s ON s.innovation_id = i.id
  WHERE i.year = :year
    AND (i.outcome IS NULL OR i.outcome NOT IN ('rejected', 'withdrawn'))
    AND (i.stage IN ('reporting', 'replication')
         OR (i.stage = 'deployment' AND i.implementation_start IS NOT NULL))
  GROUP BY i.unit_id
)
SELECT p.unit_id, p.n,
       (spd.sc + p.sc * 1.0 / MAX(:k, p.n) + :factor * MIN(p.n, :cap)) / 250.0 * 100 AS iid_c,
       (spd.sv + p.sv * 1.0 / MAX(:k, p.n) + :factor * MIN(p.n, :cap)) / 250.0 * 100 AS iid_v
FROM per_unit p CROSS JOIN spd
ORDER BY p.unit_id
"""


def generate(session: Session, regions: int, innovations: int, seed: int = 7) -> int:
    """Bulk-insert the portfolio; returns the number of claims."""
    rng = random.Random(seed)
    catalogue = catalogue_for_year(YEAR)
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    conn = session.connection()
    conn.exec_driver_sql(
        "INSERT INTO units (id, code, name, kind, language, active, created_at, updated_at) "
        "VALUES (?, ?, ?, 'opd', 'id', 1, ?, ?)",
        [(r, f"R{r:04d}", f"Daerah {r}", now, now) for r in range(1, regions + 1)],
    )
    stages = ["reporting"] * 17 + ["replication", "deployment", "development"]
    rows = []
    for i in range(1, innovations + 1):
        stage = rng.choice(stages)
        outcome = "rejected" if rng.random() < 0.03 else None
        impl = "2023-02-01" if stage == "deployment" and rng.random() < 0.7 else None
        rows.append(
            (
                i,
                f"N{i:06d}",
                f"Inovasi {i}",
                rng.randint(1, regions),
                YEAR,
                stage,
                outcome,
                impl,
                now,
                now,
            )
        )
    conn.exec_driver_sql(
        "INSERT INTO innovations (id, code, title, unit_id, year, stage, outcome, "
        "implementation_start, created_at, updated_at, revision_requested, initiator, jenis, "
        "bentuk, urusan_main, urusan_other, consultation_requested, replicable, version) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 'OPD', 'Digital', "
        "'Inovasi Pelayanan Publik', 'Kesehatan', '[]', 0, 0, 1)",
        rows,
    )
    statuses = ["accepted"] * 6 + ["pending"] * 3 + ["rejected"]
    claims = 0
    batch: list[tuple[object, ...]] = []
    sql = (
        "INSERT INTO indicator_claims (year, aspect, innovation_id, indicator, claimed_level, "
        "status, verified_level, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
    )
    for i in range(1, innovations + 1):
        for ind in catalogue.sid:
            level = rng.randint(1, 3)
            status = rng.choice(statuses)
            verified = rng.randint(1, level) if status == "accepted" else None
            batch.append((YEAR, "sid", i, ind.code, level, status, verified, now, now))
        if len(batch) >= 100_000:
            conn.exec_driver_sql(sql, batch)
            claims += len(batch)
            batch = []
    for ind in catalogue.spd:
        batch.append((YEAR, "spd", None, ind.code, rng.randint(1, 3), "accepted", None, now, now))
    conn.exec_driver_sql(sql, batch)
    claims += len(batch)
    sync_weights(session, catalogue)
    session.commit()
    conn = session.connection()
    conn.exec_driver_sql("ANALYZE")
    session.commit()
    return claims


def kinanti_run(session: Session) -> dict[int, tuple[Decimal, Decimal]]:
    return {g.unit_id: (g.claimed.iid, g.verified.iid) for g in figures_by_unit(session, YEAR)}


def raw_run(session: Session) -> dict[int, tuple[float, float]]:
    catalogue = catalogue_for_year(YEAR)
    params = {
        "year": YEAR,
        "k": catalogue.k,
        "factor": float(catalogue.count_term.factor),
        "cap": catalogue.count_term.cap,
    }
    return {r[0]: (r[2], r[3]) for r in session.execute(text(RAW_QUERY), params)}


def best_of(n: int, fn, session: Session) -> tuple[float, object]:  # type: ignore[no-untyped-def]
    best, result = float("inf"), None
    for _ in range(n):
        session.rollback()
        start = time.perf_counter()
        result = fn(session)
        best = min(best, time.perf_counter() - start)
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--regions", type=int, default=540)
    parser.add_argument("--innovations", type=int, default=30_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kinanti-bench-") as tmp:
        engine = make_engine(f"sqlite:///{tmp}/bench.db")
        Base.metadata.create_all(engine)
        with Session(engine) as session:
            start = time.perf_counter()
            claims = generate(session, args.regions, args.innovations)
            print(
                f"generated {args.regions} regions, {args.innovations} innovations, "
                f"{claims} claims in {time.perf_counter() - start:.1f} s"
            )
            raw_time, raw = best_of(args.repeat, raw_run, session)
            kin_time, kin = best_of(args.repeat, kinanti_run, session)
            assert isinstance(raw, dict) and isinstance(kin, dict)
            if set(raw) != set(kin):
                sys.exit(f"MISMATCH: regions differ ({len(raw)} raw vs {len(kin)} Kinanti)")
            worst = max(abs(float(kin[u][b]) - raw[u][b]) for u in raw for b in (0, 1))
            if worst > 1e-6:
                sys.exit(f"MISMATCH: largest IID difference {worst}")
            session.rollback()
            tracemalloc.start()
            kinanti_run(session)
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            verified = sorted(float(v) for _, v in kin.values())
        engine.dispose()
    maxrss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"regions scored: {len(kin)}; both agree (max |diff| = {worst:.2e})")
    print(
        f"verified IID: min {verified[0]:.2f}, median {verified[len(verified) // 2]:.2f}, "
        f"max {verified[-1]:.2f}"
    )
    print(f"raw SQL query:  {raw_time * 1000:.1f} ms (best of {args.repeat})")
    print(f"Kinanti:        {kin_time * 1000:.1f} ms (best of {args.repeat})")
    print(
        f"memory peak (tracemalloc, Kinanti run): {peak / 1_048_576:.2f} MB; "
        f"process max RSS: {maxrss_mb:.0f} MB"
    )
    print(f"ratio={kin_time / raw_time:.2f}")


if __name__ == "__main__":
    main()
