"""The SMTP sender: one connection per batch, errors classified at this edge.

A sender is a context manager: enter once for a batch (ONE connection, opened lazily,
reconnected once if the server dropped it), then ``send`` each message. Errors become
``DeliveryError(permanent=...)``:

- permanent (do not retry): 5xx replies (recipient or sender refused, data refused);
- transient (retry later): connection refused or dropped, timeouts, 4xx replies.
  ``SmtpUnavailableError`` (transient) means the server cannot be reached at all, so the
  rest of the batch should wait too.

The password is only ever handed to ``smtplib.login``; no message or log line holds it.
"""

from __future__ import annotations

import contextlib
import logging
import smtplib
import ssl
from collections.abc import Callable

from domain.errors import DeliveryError
from notifications.config import SmtpConfig
from notifications.mime import OutgoingEmail, Sender

log = logging.getLogger(__name__)


class SmtpUnavailableError(DeliveryError):
    """Raised when the SMTP server cannot be reached (refused, dropped twice, timed out)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, permanent=False)


_DROPPED = (smtplib.SMTPServerDisconnected, ConnectionResetError, BrokenPipeError)


class SmtpSender(Sender):
    """SMTP over one connection per batch (STARTTLS / TLS / none, optional login).

    It connects lazily, at the first ``send``: a batch with nothing to send opens no
    connection.
    """

    def __init__(self, config: SmtpConfig) -> None:
        self.config = config
        self._smtp: smtplib.SMTP | None = None

    def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            smtp.close()

    def _connect(self) -> smtplib.SMTP:
        c = self.config
        where = f"{c.host}:{c.port}"
        try:
            smtp: smtplib.SMTP
            if c.security == "tls":
                smtp = smtplib.SMTP_SSL(
                    c.host, c.port, timeout=c.timeout, context=ssl.create_default_context()
                )
            else:
                smtp = smtplib.SMTP(c.host, c.port, timeout=c.timeout)
            smtp.ehlo()
            if c.security == "starttls":
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if c.username:
                password = c.password.get_secret_value() if c.password else ""
                smtp.login(c.username, password)
        except smtplib.SMTPAuthenticationError as exc:
            # Never include the password; the server's reply names the problem.
            raise SmtpUnavailableError(
                f"SMTP login as {c.username!r} at {where} refused ({exc.smtp_code}); "
                "check KINANTI_SMTP_USERNAME / KINANTI_SMTP_PASSWORD"
            ) from None
        except (OSError, smtplib.SMTPException) as exc:
            raise SmtpUnavailableError(
                f"cannot reach SMTP server {where}: {type(exc).__name__}: {exc}"
            ) from exc
        log.debug("connected to SMTP %s", where)
        return smtp

    def send(self, email: OutgoingEmail, before_rcpt: Callable[[], None] | None = None) -> str:
        data = email.data
        try:
            self._send_once(email, data, before_rcpt)
        except _DROPPED as exc:
            log.info("SMTP connection dropped (%s); reconnecting once", type(exc).__name__)
            self.close()
            try:
                self._send_once(email, data, before_rcpt)
            except _DROPPED as again:
                self.close()
                raise SmtpUnavailableError(
                    f"SMTP connection dropped twice: {type(again).__name__}: {again}"
                ) from again
        return email.recipient

    def _send_once(
        self, email: OutgoingEmail, data: bytes, before_rcpt: Callable[[], None] | None
    ) -> None:
        if self._smtp is None:
            self._smtp = self._connect()
        try:
            _transaction(self._smtp, email, data, before_rcpt)
        except smtplib.SMTPResponseException as exc:
            if exc.smtp_code == 421:  # "service not available, closing channel"
                self.close()
                raise SmtpUnavailableError(
                    f"SMTP server is closing the connection: 421 {exc.smtp_error!r}"
                ) from exc
            raise self._refusal(exc) from exc
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            reply = "; ".join(f"{r}: {c} {m!r}" for r, (c, m) in exc.recipients.items())
            raise DeliveryError(
                f"recipient refused: {reply}", permanent=any(c >= 500 for c in codes)
            ) from exc
        except TimeoutError as exc:
            self.close()
            raise SmtpUnavailableError(f"SMTP server timed out: {exc}") from exc
        except _DROPPED:
            raise
        except OSError as exc:
            self.close()
            raise SmtpUnavailableError(f"SMTP connection error: {exc}") from exc

    @staticmethod
    def _refusal(exc: smtplib.SMTPResponseException) -> DeliveryError:
        """5xx is permanent (sender refused, data refused); 4xx is worth a retry."""
        what = "sender refused" if isinstance(exc, smtplib.SMTPSenderRefused) else "refused"
        return DeliveryError(
            f"SMTP server {what}: {exc.smtp_code} {exc.smtp_error!r}",
            permanent=exc.smtp_code >= 500,
        )


def _transaction(
    smtp: smtplib.SMTP,
    email: OutgoingEmail,
    data: bytes,
    before_rcpt: Callable[[], None] | None = None,
) -> None:
    """``smtp.sendmail(email.sender, [email.recipient], data)``, same commands and errors.

    ``sendmail`` re-parses both envelope addresses with ``email.utils.parseaddr`` (about
    0.06 ms a message, a third of smtplib's own client CPU); ours are plain addr-specs
    already checked by ``mime.checked_address`` (no ``<>``, spaces or control
    characters), so they are written as ``<addr>`` directly. Replies are handled exactly
    as ``sendmail`` does. ``before_rcpt`` runs between ``MAIL FROM`` and ``RCPT TO``.
    """
    smtp.ehlo_or_helo_if_needed()
    size = f" size={len(data)}" if smtp.does_esmtp and smtp.has_extn("size") else ""
    smtp.putcmd("mail", f"FROM:<{email.sender}>{size}")
    code, resp = smtp.getreply()
    if code != 250:
        _abort(smtp, code)
        raise smtplib.SMTPSenderRefused(code, resp, email.sender)
    if before_rcpt is not None:
        before_rcpt()
    smtp.putcmd("rcpt", f"TO:<{email.recipient}>")
    code, resp = smtp.getreply()
    if code not in (250, 251):
        _abort(smtp, code)
        raise smtplib.SMTPRecipientsRefused({email.recipient: (code, resp)})
    code, resp = smtp.data(data)
    if code != 250:
        _abort(smtp, code)
        raise smtplib.SMTPDataError(code, resp)


def _abort(smtp: smtplib.SMTP, code: int) -> None:
    """After a refusal: 421 means the server is closing the channel; otherwise RSET."""
    if code == 421:
        smtp.close()
        return
    with contextlib.suppress(smtplib.SMTPServerDisconnected):
        smtp.rset()
