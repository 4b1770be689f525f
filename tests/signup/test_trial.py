"""A signed-up MSP starts on the operator's trial plan; where the operator defined plans
but not the one the setting names, sign-up refuses and creates nothing."""

from __future__ import annotations

import json

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.factories import client
from tests.harness.cli import Cli
from tests.harness.mailbox import Mailbox

from .conftest import PASSPHRASE, ask, tenants, token_in, trail


async def _follow(app: FastAPI, mailbox: Mailbox) -> int:
    assert (await ask(app)).status_code == 202
    async with client(app) as anna:
        done = await anna.post(
            f"/api/v1/signup/{token_in(mailbox)}/verify", json={"password": PASSPHRASE}
        )
    return done.status_code


async def test_a_signed_up_msp_is_on_the_trial_plan(
    app: FastAPI, mailbox: Mailbox, owner_engine: AsyncEngine, cli: Cli
) -> None:
    made = await cli.run("plans", "create", "Trial", "--clients", "3", "--trial-days", "30")
    assert made.exit_code == 0, made.stderr
    assert await _follow(app, mailbox) == 201

    acme = (await tenants(owner_engine))["acme-it-services"]
    actions = [e.action for e in await trail(owner_engine, acme)]
    assert "billing.subscription.changed" in actions
    async with client(app) as anna:
        signed = await anna.post(
            "/api/v1/auth/sign-in",
            json={"email": "anna@acme-it.example", "password": PASSPHRASE},
        )
        assert signed.status_code == 200, signed.text
        billing = (await anna.get("/api/v1/msp/billing")).json()
    assert (billing["plan"], billing["status"]) == ("Trial", "trial"), json.dumps(billing)[:300]
    assert billing["clients"]["limit"] == 3


async def test_a_missing_trial_plan_refuses_and_creates_nothing(
    app: FastAPI, mailbox: Mailbox, owner_engine: AsyncEngine, cli: Cli
) -> None:
    made = await cli.run("plans", "create", "Growth", "--clients", "25")
    assert made.exit_code == 0, made.stderr
    assert await _follow(app, mailbox) == 409
    assert "acme-it-services" not in await tenants(owner_engine)
