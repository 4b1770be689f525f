"""Outgoing mail of identity (invitations), through the instance's one SMTP sender."""

from __future__ import annotations

from tenantry.config import Settings
from tenantry.kit import mail
from tenantry.kit.mail import MailError

__all__ = ["MailError", "send_mail"]


async def send_mail(settings: Settings, *, to: str, subject: str, body: str) -> None:
    """Send one plain-text message; raises ``MailError`` when delivery fails."""
    await mail.send(settings, mail.message(settings, to=to, subject=subject, text=body))
