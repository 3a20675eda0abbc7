"""Notifications: render outbox rows into emails (Jinja2, id/en) and deliver them.

``render`` turns a template name, a language and a context dict into subject, text and
HTML; ``senders`` builds and sends the message (SMTP or .eml files); ``dispatch`` claims
outbox rows, sends them over one connection and records the outcome of each.
"""
