"""Notifications: render outbox rows into emails (Jinja2, id/en) and deliver them.

``render`` turns a template name, a language and a context dict into subject, text and
HTML; ``mime`` builds the message; ``smtp`` and ``files`` send it (SMTP, or ``.eml``
files); ``dispatch`` claims outbox rows, sends them over one connection and records the
outcome of each; ``reminders`` writes the reminder and digest emails the domain's
reminder policy finds due. Everything takes a ``config.MailConfig``; nothing here reads
Kinanti's settings or imports Prefect.
"""
