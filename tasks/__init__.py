"""Prefect tasks: each does one piece of I/O, takes ids and reloads in its own session."""
