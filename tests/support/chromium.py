"""Finding Debian's Chromium for the tests that drive a real browser (the report screenshot,
the portal's Playwright tests: pass the path as ``executable_path``).

Order: ``CHROMIUM_PATH``, then ``chromium`` and ``chromium-browser`` on PATH. When none is
found the test is skipped with one line naming the install command; under CI (``CI`` set)
it fails instead, because CI always runs the browser tests.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

INSTALL_HINT = "Chromium not found: run `apt-get install -y chromium` (or set CHROMIUM_PATH)"


def find_chromium() -> str | None:
    """The path of a Chromium executable, or ``None``."""
    configured = os.environ.get("CHROMIUM_PATH")
    if configured:
        return configured if Path(configured).is_file() else None
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


def require_chromium() -> str:
    """The Chromium path; skips the test (fails it under CI) when there is none."""
    found = find_chromium()
    if found:
        return found
    if os.environ.get("CI", "").lower() not in ("", "0", "false"):
        pytest.fail(INSTALL_HINT, pytrace=False)
    pytest.skip(INSTALL_HINT)
