"""Kinanti's domain: rules and models of regional innovation, free of Prefect, email and env."""
