"""Regenerate kinanti/migrations/versions/0001_initial.py from the models (pre-release).

Usage: python scripts/regen_initial_migration.py
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from alembic import command
from alembic.config import Config

from kinanti.db import MIGRATIONS_DIR, make_engine

target = MIGRATIONS_DIR / "versions" / "0001_initial.py"
target.unlink(missing_ok=True)
# Later (data) migrations revise 0001: move them aside while 0001 is regenerated.
later = [
    path
    for path in sorted((MIGRATIONS_DIR / "versions").glob("*.py"))
    if not path.name.startswith("0001_")
]
aside = Path(tempfile.mkdtemp())
for path in later:
    path.rename(aside / path.name)
with tempfile.TemporaryDirectory() as tmp:
    url = f"sqlite:///{Path(tmp) / 'empty.db'}"
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url)
    config.attributes["engine"] = make_engine(url)
    command.revision(config, message="initial schema", autogenerate=True, rev_id="0001")
generated = next((MIGRATIONS_DIR / "versions").glob("0001_*.py"))
generated.rename(target)
for path in later:
    (aside / path.name).rename(path)
text = target.read_text().replace("domain.models.UTCDateTime()", "domain.models.UTCDateTime()")
target.write_text(text)
print(f"wrote {target}")
