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
        import uvicorn

        from kinanti.cli import console
        from kinanti.i18n import t
        from kinanti.settings import get_settings

        settings = get_settings()
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
