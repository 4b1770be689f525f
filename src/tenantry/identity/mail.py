"""Outgoing mail over SMTP (stdlib smtplib, run in a worker thread)."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage

import anyio

from tenantry.config import Settings

TIMEOUT_SECONDS = 15


def _send(settings: Settings, message: EmailMessage) -> None:
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=TIMEOUT_SECONDS) as smtp:
        if settings.smtp_starttls:
            smtp.starttls(context=ssl.create_default_context())
        if settings.smtp_user:
            smtp.login(settings.smtp_user, settings.smtp_password)
        smtp.send_message(message)


async def send_mail(settings: Settings, *, to: str, subject: str, body: str) -> None:
    """Send one plain-text message; raises OSError/SMTPException when delivery fails."""
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    await anyio.to_thread.run_sync(_send, settings, message)
