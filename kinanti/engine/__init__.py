"""The engine around the flows: hand-offs, events, gates, reconciliation, serving, demo."""
