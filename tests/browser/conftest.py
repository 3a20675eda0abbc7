"""Fixtures of the portal's browser tests: the example city in a fresh migrated database,
``kinanti web`` as a child process, SMTP to a real aiosmtpd, headless Debian chromium."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.browser.support import (
    SIGNED_IN_PEOPLE,
    Mailbox,
    Portal,
    free_port,
    give_passwords,
    run_portal,
    smtp_env,
)
from tests.conftest import BACKENDS
from tests.support.chromium import require_chromium


@dataclass
class City:
    """A running portal over the example city, with everyone's generated password."""

    url: str
    home: Path
    database_url: str
    passwords: dict[str, str]
    mailbox: Mailbox
    portal: Portal


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's chromium driven by Playwright (no browser download): headless, no sandbox.

    Module-scoped on purpose: while Playwright's sync API is open, its event loop counts as
    running on this thread, so Prefect's sync calls in any other test of the same worker
    would return coroutines. It closes when the worker leaves the module."""
    from playwright.sync_api import sync_playwright

    executable = require_chromium()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox(port=free_port())
    box.start()
    yield box
    box.stop()


def sign_in(browser: Any, city: City, email: str, *, width: int = 1280) -> Any:
    """A new browser context signed in as ``email`` through the sign-in form."""
    context = browser.new_context(viewport={"width": width, "height": 900})
    context.set_default_timeout(90_000)  # a bound for a loaded 2-core machine
    page = context.new_page()
    page.goto(city.url + "/sign-in")
    page.get_by_label("Alamat email").fill(email)
    page.get_by_label("Kata sandi").fill(city.passwords[email])
    page.get_by_role("button", name="Masuk").click()
    page.wait_for_url(city.url + "/")
    return page


@pytest.fixture(scope="module", params=BACKENDS)
def city_without_prefect(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, mailbox: Mailbox
) -> Iterator[City]:
    """The example city on each backend, a portal with a 1 MB evidence limit, no Prefect."""
    import os

    from tests.support.engine_support import kinanti_env, load_city, new_database

    home = tmp_path_factory.mktemp(f"portal-city-{request.param}")
    with new_database(request.param, home) as url, kinanti_env(home, url, **smtp_env(mailbox)):
        load_city()
        passwords = give_passwords(url, SIGNED_IN_PEOPLE)
        env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
        env["KINANTI_EVIDENCE_MAX_BYTES"] = str(1024 * 1024)
        with run_portal(home, env) as portal:
            yield City(portal.url, home, url, passwords, mailbox, portal)
