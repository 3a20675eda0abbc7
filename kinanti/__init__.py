"""Kinanti: event-driven workflow engine for regional innovation on Prefect 3."""

__version__ = "0.1.0"
