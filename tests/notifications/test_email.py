"""Notification emails through a real local SMTP server (aiosmtpd): sent after the
commit, kept pending while the server is down and delivered by a later send, never
attempted without SMTP."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import timedelta
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from fastapi import FastAPI
from sqlalchemy import select

from tenantry.access.service import operator_scope
from tenantry.app import create_app
from tenantry.config import Settings
from tenantry.db.base import utcnow
from tenantry.db.engine import Database
from tenantry.notifications import outbox
from tenantry.notifications.models import EmailStatus, Notification

from .conftest import World, approved, world

__all__ = ["world"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = message_from_bytes(envelope.content, policy=default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        return "250 OK"


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    box = Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()


def smtp(settings: Settings, port: int) -> Settings:
    return settings.model_copy(
        update={
            "smtp_host": "127.0.0.1",
            "smtp_port": port,
            "smtp_starttls": "false",
            "smtp_timeout_seconds": 5.0,
            "base_url": "https://tenantry.example",
        }
    )


@pytest.fixture
def port(request: pytest.FixtureRequest) -> int:
    """The SMTP port the app uses: the mailbox's, or (``down``) one nobody listens on."""
    if getattr(request, "param", "up") == "down":
        return free_port()
    _, listening = request.getfixturevalue("mailbox")
    return int(listening)


@pytest.fixture
def app(settings: Settings, database: Database, port: int) -> Iterator[FastAPI]:
    yield create_app(smtp(settings, port), database)
    outbox.install(database, settings)  # later tests' apps mail nothing


async def rows_of(world: World, who: str) -> list[Notification]:
    tenant = world.users[who].home_tenant_id
    async with world.db.unit_of_work(operator_scope([tenant])) as session:
        found = await session.scalars(
            select(Notification)
            .where(Notification.user_id == world.users[who].id)
            .order_by(Notification.id.desc())
        )
        return list(found.all())


async def _narrow(world: World) -> str:
    link = await approved(world, ceiling=["tickets:read", "tickets:write"])
    done = await world.post(
        "ian", f"/api/v1/tenants/initech/links/{link}/narrow", {"ceiling": ["tickets:read"]}
    )
    assert done.status_code == 200, done.text
    courier = outbox.courier_of(world.db)
    assert courier is not None
    await courier.drain()
    return link


async def test_a_narrowing_is_mailed_to_the_msps_admin(
    world: World, mailbox: tuple[Mailbox, int]
) -> None:
    box, _ = mailbox
    link = await _narrow(world)
    # Ian got the request, Alex the approval and the narrowing; nobody else anything.
    assert sorted(str(m["To"]) for m in box.messages) == [
        "alex@northwind.example",
        "alex@northwind.example",
        "ian@initech.example",
    ]
    narrowed = next(m for m in box.messages if "narrowed" in str(m["Subject"]))
    assert narrowed["Subject"] == "Tenantry: Initech narrowed Northwind IT's access"
    body = narrowed.get_content()
    assert "removed tickets:write" in body and "by Ian Initech" in body
    assert f"https://tenantry.example/msp/links/{link}" in body
    assert " UTC" in body
    [latest, *_] = await rows_of(world, "alex")
    assert latest.email_status == EmailStatus.SENT and latest.emailed_at is not None
    assert latest.email_attempts == 1


@pytest.mark.parametrize("port", ["down"], indirect=True)
async def test_with_smtp_down_the_request_succeeds_and_a_later_send_delivers(
    world: World, settings: Settings, mailbox: tuple[Mailbox, int]
) -> None:
    await _narrow(world)  # the request answered 200 although no server listens
    [latest, *_] = await rows_of(world, "alex")
    assert latest.email_status == EmailStatus.PENDING
    assert latest.email_attempts == 1 and latest.last_error
    box, working = mailbox
    # Not before its backoff…
    assert (await outbox.send_due(world.db, smtp(settings, working)))["sent"] == 0
    # …then the retry sweep delivers it.
    later = utcnow() + timedelta(minutes=2)
    counts = await outbox.send_due(world.db, smtp(settings, working), now=later)
    assert counts["sent"] == 3 and counts["failed"] == 0
    assert any("narrowed" in str(m["Subject"]) for m in box.messages)
    [latest, *_] = await rows_of(world, "alex")
    assert latest.email_status == EmailStatus.SENT and latest.email_attempts == 2


@pytest.mark.parametrize("port", ["down"], indirect=True)
async def test_gives_up_after_the_configured_attempts(world: World, settings: Settings) -> None:
    await _narrow(world)
    dead = smtp(settings, free_port()).model_copy(update={"notify_email_attempts": 2})
    await outbox.send_due(world.db, dead, now=utcnow() + timedelta(minutes=2))
    [latest, *_] = await rows_of(world, "alex")
    assert latest.email_status == EmailStatus.FAILED and latest.email_attempts == 2
    assert latest.email_next_at is None


def test_the_smtp_login_keeps_its_old_variable_name(monkeypatch: pytest.MonkeyPatch) -> None:
    """TENANTRY_SMTP_USER was renamed TENANTRY_SMTP_USERNAME: an upgrade keeps its login."""
    monkeypatch.setenv("TENANTRY_SMTP_USER", "mailer-old")
    assert Settings().smtp_username == "mailer-old"
    monkeypatch.setenv("TENANTRY_SMTP_USERNAME", "mailer")
    assert Settings().smtp_username == "mailer"
