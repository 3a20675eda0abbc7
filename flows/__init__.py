"""Prefect flows: thin, they call tasks and return a small summary."""
