"""Failed sign-ins, counted per account and per source address: slowed, then refused.

After ``throttle_slow_after`` failures in a window of ``throttle_window_minutes`` each
further attempt waits (a delay that doubles with every failure, capped); after
``throttle_lock_after`` the key is refused with 429 until the window ends. Keys exist
for unknown accounts too, so the answers do not tell whether an account exists.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import anyio
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.config import Settings
from tenantry.db.base import utcnow
from tenantry.errors import TooManyAttempts
from tenantry.identity import repository
from tenantry.identity.models import SignInThrottle

# First delay once slowing starts, and the most any one attempt waits.
DELAY_BASE_SECONDS = 0.5
DELAY_MAX_SECONDS = 10.0

# Patched by tests to observe delays without waiting for them.
sleep = anyio.sleep


def account_key(email: str) -> str:
    return f"account:{email.strip().lower()}"


def address_key(address: str) -> str:
    return f"address:{address}"


def keys_for(email: str, address: str | None) -> list[str]:
    keys = [account_key(email)]
    if address:
        keys.append(address_key(address))
    return keys


def limits(key: str, settings: Settings) -> tuple[int, int]:
    """(slow after, lock after) failures for one key: addresses get more room (NAT)."""
    if key.startswith("address:"):
        return settings.throttle_address_slow_after, settings.throttle_address_lock_after
    return settings.throttle_slow_after, settings.throttle_lock_after


@dataclass(frozen=True, slots=True)
class ThrottleState:
    """The worst key's failures, past its own slow-down threshold by ``over``."""

    failures: int
    locked_until: datetime | None
    over: int = -1

    def delay(self, settings: Settings) -> float:
        if self.over < 0:
            return 0.0
        return float(min(DELAY_BASE_SECONDS * 2**self.over, DELAY_MAX_SECONDS))


def _window(settings: Settings) -> timedelta:
    return timedelta(minutes=settings.throttle_window_minutes)


def _current_failures(row: SignInThrottle, settings: Settings, now: datetime) -> int:
    if row.locked_until is not None and row.locked_until > now:
        return row.failures
    if row.window_started_at + _window(settings) <= now:
        return 0
    return row.failures


class Throttle:
    def __init__(self, session: AsyncSession, settings: Settings) -> None:
        self.session = session
        self.settings = settings

    async def state(self, keys: Sequence[str]) -> ThrottleState:
        now = utcnow()
        rows = await repository.throttles(self.session, keys)
        counted = [(_current_failures(r, self.settings, now), r.key) for r in rows]
        failures = max((f for f, _ in counted), default=0)
        over = max((f - limits(k, self.settings)[0] for f, k in counted), default=-1)
        locks = [r.locked_until for r in rows if r.locked_until and r.locked_until > now]
        return ThrottleState(failures, max(locks) if locks else None, over)

    async def check(self, keys: Sequence[str]) -> None:
        """Refuse a locked key with 429; otherwise wait as long as the failures ask."""
        state = await self.state(keys)
        if state.locked_until is not None:
            raise too_many(state.locked_until)
        delay = state.delay(self.settings)
        if delay > 0:
            await sleep(delay)

    async def record_failure(self, keys: Sequence[str]) -> ThrottleState:
        now = utcnow()
        # Keys whose window ended are forgotten here, so guessing at random emails cannot
        # grow the table without bound (an indexed range delete; cheap).
        await repository.prune_throttles(self.session, now - _window(self.settings), now)
        await repository.ensure_throttles(self.session, keys, now)
        worst = ThrottleState(0, None)
        for row in await repository.throttles(self.session, keys, for_update=True):
            slow_after, lock_after = limits(row.key, self.settings)
            if row.locked_until is not None and row.locked_until <= now:
                row.locked_until = None
            if row.locked_until is None and row.window_started_at + _window(self.settings) <= now:
                row.failures = 0
                row.window_started_at = now
            row.failures += 1
            if row.failures >= lock_after and row.locked_until is None:
                row.locked_until = now + _window(self.settings)
            over = row.failures - slow_after
            if over > worst.over or (row.locked_until and not worst.locked_until):
                worst = ThrottleState(
                    row.failures, row.locked_until or worst.locked_until, max(over, worst.over)
                )
        await self.session.flush()
        return worst

    async def reset(self, key: str) -> None:
        await repository.clear_throttle(self.session, key)


def too_many(locked_until: datetime) -> TooManyAttempts:
    seconds = max(1, math.ceil((locked_until - utcnow()).total_seconds()))
    minutes = math.ceil(seconds / 60)
    return TooManyAttempts(
        f"Too many failed sign-in attempts. Try again in {minutes} minute"
        f"{'' if minutes == 1 else 's'}.",
        retry_after=seconds,
    )
