"""Prefect adapters and operator actions: announcing events, durable hand-offs, the
reconciler, deciding gates from outside a flow, the local Prefect runtime and serving."""
