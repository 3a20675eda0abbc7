"""Serve every deployment from one process (the embedded engine, ``kinanti serve``); the
deployments are declared once, in ``flows.deployments``."""

from __future__ import annotations

from kinanti.settings import Settings


def serve_all(settings: Settings, only: set[str] | None = None) -> None:
    """Block serving the deployments (all, or those named in ``only``), at most
    ``settings.runner_limit`` runs at once."""
    from prefect import serve

    from flows.deployments import to_runner_deployments

    chosen = to_runner_deployments(settings, only)
    serve(*chosen, limit=settings.runner_limit, print_starting_message=False)
