"""Email over SMTP: plain, STARTTLS or implicit TLS, optional AUTH; a text and an HTML part."""

from __future__ import annotations

import smtplib
import ssl
import time
from dataclasses import replace
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from core.alerts.channels import render
from core.alerts.channels.base import Clock, action_of
from core.alerts.channels.secrets import mask
from core.kernel.records.alerts import Notification
from core.kernel.records.notifications import Delivery
from core.kernel.settings.channels import EmailChannel


def tls_context(settings: EmailChannel) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=settings.ca_file)
    if not settings.verify_tls:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


def recipients(n: Notification, settings: EmailChannel) -> list[str]:
    """The channel's ``to``, or the addresses an escalation step names (``n.extra["to"]``)."""
    return list(n.extra.get("to") or settings.to)


def build_message(n: Notification, settings: EmailChannel, now_s: float) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = render.subject(n)
    msg["From"] = settings.sender
    msg["To"] = ", ".join(recipients(n, settings))
    msg["Date"] = format_datetime(datetime.fromtimestamp(now_s, UTC))
    msg["Message-ID"] = make_msgid(domain=settings.sender.rsplit("@", 1)[-1])
    msg["X-Pulse-Receiver"] = n.receiver
    msg.set_content(render.text_body(n))
    msg.add_alternative(render.html_body(n), subtype="html")
    return msg


class Email:
    def __init__(self, settings: EmailChannel, clock: Clock = time.time) -> None:
        self.settings = settings
        self.name = settings.name
        self.clock = clock

    def secrets(self) -> list[str]:
        pw = self.settings.password
        return [pw.get_secret_value()] if pw is not None else []

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        if s.security == "ssl":
            return smtplib.SMTP_SSL(
                s.host, s.port, local_hostname=s.hello, timeout=s.timeout_s, context=tls_context(s)
            )
        smtp = smtplib.SMTP(s.host, s.port, local_hostname=s.hello, timeout=s.timeout_s)
        try:
            if s.security == "starttls":
                smtp.ehlo()
                if not smtp.has_extn("starttls"):
                    raise smtplib.SMTPNotSupportedError(
                        f"{s.host}:{s.port} does not offer STARTTLS: use security 'ssl' or 'none'"
                    )
                smtp.starttls(context=tls_context(s))
            smtp.ehlo()
        except BaseException:
            smtp.close()
            raise
        return smtp

    def send(self, n: Notification) -> Delivery:
        s = self.settings
        now = self.clock()
        started = time.monotonic()
        base = Delivery(
            channel=self.name,
            at_ms=int(now * 1000),
            ok=False,
            action=action_of(n),
            group_key=n.group_key,
            alerts=len(n.alerts),
        )
        code: int | None = None
        error, retryable = "", True
        try:
            with self._connect() as smtp:
                if s.username is not None and s.password is not None:
                    smtp.login(s.username, s.password.get_secret_value())
                refused = smtp.send_message(
                    build_message(n, s, now), from_addr=s.sender, to_addrs=recipients(n, s)
                )
                code = 250
                if refused:
                    error = "refused recipients: " + ", ".join(f"{k} ({v[0]})" for k, v in refused.items())
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [c for c, _ in exc.recipients.values()]
            code = codes[0] if codes else None
            error = "every recipient was refused: " + ", ".join(
                f"{k} ({c})" for k, (c, _) in exc.recipients.items()
            )
            retryable = any(400 <= c < 500 for c in codes)
        except smtplib.SMTPResponseException as exc:  # AUTH refused, sender refused, data refused
            code = exc.smtp_code
            reply = (
                exc.smtp_error.decode(errors="replace")
                if isinstance(exc.smtp_error, bytes)
                else exc.smtp_error
            )
            error = f"{type(exc).__name__}: {code} {reply}"
            retryable = 400 <= code < 500
        except ssl.SSLCertVerificationError as exc:
            error = f"TLS certificate of {s.host} not trusted: {exc.verify_message}; set ca_file or fix the certificate"
            retryable = False
        except (smtplib.SMTPException, OSError) as exc:  # refused, timed out, disconnected, no STARTTLS
            error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        took = int((time.monotonic() - started) * 1000)
        ok = code == 250
        return replace(
            base,
            ok=ok,
            outcome="delivered" if ok else "failed",
            status_code=code,
            error=mask(error, self.secrets()),
            retryable=False if ok else retryable,
            duration_ms=took,
        )

    def close(self) -> None:
        """Nothing held open: each notification uses its own SMTP session."""
