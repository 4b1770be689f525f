"""A real local SMTP server (aiosmtpd) that keeps what it receives, for tests that follow
a mailed link. (tests/notifications/test_email.py has its own copy of the same idea.)"""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from tenantry.config import Settings


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Mailbox:
    def __init__(self, port: int) -> None:
        self.port = port
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = message_from_bytes(envelope.content, policy=default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if str(m["To"]) == address]

    def link(self, address: str, pattern: str) -> str:
        """The last link matching ``pattern`` (a regular expression) mailed to ``address``."""
        for message in reversed(self.to(address)):
            body = message.get_body(("plain",))
            assert body is not None
            found = re.search(pattern, body.get_content())
            if found:
                return found.group(0)
        raise AssertionError(f"no mail to {address} holds a link like {pattern}")


def with_smtp(settings: Settings, port: int, **changes: Any) -> Settings:
    """Settings that send mail to the local server on ``port``."""
    return settings.model_copy(
        update={
            "smtp_host": "127.0.0.1",
            "smtp_port": port,
            "smtp_starttls": "false",
            "smtp_timeout_seconds": 5.0,
            **changes,
        }
    )


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox(free_port())
    controller = Controller(box, hostname="127.0.0.1", port=box.port)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()
