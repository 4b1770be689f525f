"""Outgoing mail over SMTP with aiosmtplib (asyncio-native: no worker thread per send).

One function for every sender in the instance (invitations, notifications). The
connection follows ``TENANTRY_SMTP_*``: STARTTLS, implicit TLS ("ssl") or plain, a login
when a user name is set, and one timeout for the whole exchange.
"""

from __future__ import annotations

from email.message import EmailMessage

import aiosmtplib

from tenantry.config import Settings


class MailError(Exception):
    """The message was not accepted: the server is down, refused it, or timed out."""


def message(
    settings: Settings, *, to: str, subject: str, text: str, html: str | None = None
) -> EmailMessage:
    """A plain-text message (with an HTML alternative when given) from the instance."""
    mail = EmailMessage()
    mail["From"] = settings.smtp_from
    mail["To"] = to
    mail["Subject"] = subject
    mail.set_content(text)
    if html is not None:
        mail.add_alternative(html, subtype="html")
    return mail


async def send(settings: Settings, mail: EmailMessage) -> None:
    """Deliver one message to the configured server; raises ``MailError`` on failure."""
    if not settings.smtp_host:
        raise MailError("no SMTP server is configured (TENANTRY_SMTP_HOST)")
    security = settings.smtp_starttls
    try:
        await aiosmtplib.send(
            mail,
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username or None,
            password=settings.smtp_password or None,
            use_tls=security == "ssl",
            start_tls=security == "true",
            timeout=settings.smtp_timeout_seconds,
        )
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
        raise MailError(f"{type(exc).__name__}: {exc}") from exc
