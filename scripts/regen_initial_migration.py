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
with tempfile.TemporaryDirectory() as tmp:
    url = f"sqlite:///{Path(tmp) / 'empty.db'}"
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url)
    config.attributes["engine"] = make_engine(url)
    command.revision(config, message="initial schema", autogenerate=True, rev_id="0001")
generated = next((MIGRATIONS_DIR / "versions").glob("0001_*.py"))
generated.rename(target)
text = target.read_text().replace("domain.models.UTCDateTime()", "domain.models.UTCDateTime()")
target.write_text(text)
print(f"wrote {target}")
