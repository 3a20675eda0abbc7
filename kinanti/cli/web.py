"""``kinanti web``: run the portal alone (uvicorn). It is stateless: run several replicas
behind a load balancer with the same database and ``KINANTI_SECRET_KEY``."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    @app.command("web")
    def web(
        host: str = typer.Option(None, "--host", help="Default: KINANTI_WEB_HOST (127.0.0.1)"),
        port: int = typer.Option(None, "--port", help="Default: KINANTI_WEB_PORT (8000)"),
        workers: int = typer.Option(1, "--workers", min=1, help="Worker processes"),
    ) -> None:
        """Run the Kinanti portal (sign-in, units', reviewers' and Brida's pages)."""
        import os

        import uvicorn

        from kinanti.cli import console
        from kinanti.i18n import t
        from kinanti.orchestration.runtime import auth_env
        from kinanti.settings import get_settings

        settings = get_settings()
        for key, value in auth_env(settings).items():  # before prefect is imported
            os.environ.setdefault(key, value)
        host = host or settings.web_host
        port = port if port is not None else settings.web_port
        console.print(t("web.serving", settings.language, url=settings.resolved_portal_url))
        uvicorn.run(
            "kinanti.portal.app:app_from_settings",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            proxy_headers=True,
            log_level="warning",
        )

    @app.command("demo-accounts")
    def demo_accounts(
        yes: bool = typer.Option(
            False, "--yes", help="Really replace these people's passwords (demo cities only)"
        ),
    ) -> None:
        """Give one person of each role a fresh random portal password and print it.

        For the demo city: passwords are generated now, never fixed in code. For a real
        city, people get a one-time link instead (the portal's "first sign-in" page).
        """
        from domain.errors import ValidationError
        from kinanti.cli import console
        from kinanti.cli.writes import cli_write
        from kinanti.portal.accounts import give_demo_passwords
        from kinanti.settings import get_settings

        if not yes:
            raise ValidationError(code="cli.demo_accounts_yes")
        with cli_write("demo-accounts", None) as session:
            rows = give_demo_passwords(session)
        console.print(f"Portal: {get_settings().resolved_portal_url}")
        for role_name, email, password in rows:
            console.print(f"  {role_name:<15} {email:<40} {password}", markup=False)
