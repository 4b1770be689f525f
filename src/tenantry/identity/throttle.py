"""Failed sign-ins, counted per account and per source address: slowed, then refused.

After ``throttle_slow_after`` failures in a window of ``throttle_window_minutes`` each
further attempt waits (a delay that doubles with every failure, capped); after
``throttle_lock_after`` the key is refused with 429 until the window ends. Keys exist
for unknown accounts too, so the answers do not tell whether an account exists.
"""

from __future__ import annotations

import ipaddress
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

# First delay once slowing starts, and the most any one attempt waits.
DELAY_BASE_SECONDS = 0.5
DELAY_MAX_SECONDS = 10.0

# Patched by tests to observe delays without waiting for them.
sleep = anyio.sleep


def account_key(email: str) -> str:
    return f"account:{email.strip().lower()}"


def address_key(address: str) -> str:
    """One key per IPv4 address; per /64 for IPv6, the block one subscriber is given,
    so walking through one's own addresses does not buy fresh guesses."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return f"address:{address}"
    if ip.version == 6:
        return f"address:{ipaddress.ip_network(f'{ip}/64', strict=False)}"
    return f"address:{ip}"


def keys_for(email: str, address: str | None, *, known_device: bool = False) -> list[str]:
    """The keys an attempt counts under: the account's, and the source address's unless
    the browser proved it signed in to this account before (devices.py)."""
    keys = [account_key(email)]
    if address and not known_device:
        keys.append(address_key(address))
    return keys


# MSP self sign-up (signup/) counts every request under these keys, not failures: a
# fixed number per window, never slowed, then refused until the window ends.
SIGNUP_EMAIL = "signup-email:"
SIGNUP_NETWORK = "signup-network:"


def limits(key: str, settings: Settings) -> tuple[int, int]:
    """(slow after, lock after) failures for one key: addresses get more room (NAT)."""
    if key.startswith(SIGNUP_EMAIL):
        return settings.signup_email_limit, settings.signup_email_limit
    if key.startswith(SIGNUP_NETWORK):
        return settings.signup_network_limit, settings.signup_network_limit
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


class Throttle:
    def __init__(self, session: AsyncSession, settings: Settings) -> None:
        self.session = session
        self.settings = settings

    async def reserve(self, keys: Sequence[str]) -> ThrottleState:
        """Decide on an attempt and count it, in one step: the keys' rows are locked (on
        SQLite the transaction holds the write lock), a locked key refuses the attempt
        without counting it, and otherwise the attempt is counted as a failure before its
        password is checked. A burst of parallel attempts therefore gets no more checks
        than a sequence would; an attempt that turns out right is given back with
        ``refund`` (or the account's count is cleared with ``reset``).

        The state returned is the one before this attempt: its ``delay`` is the wait the
        attempt owes, and ``locked_until`` is set only when the attempt is refused."""
        now = utcnow()
        window = _window(self.settings)
        # Keys whose window ended are forgotten here, so guessing at random emails cannot
        # grow the table without bound (an indexed range delete that skips rows another
        # attempt holds, so two attempts never wait on each other's housekeeping).
        await repository.prune_throttles(self.session, now - window, now)
        await repository.ensure_throttles(self.session, sorted(keys), now)
        rows = await repository.throttles(self.session, keys, for_update=True)
        for row in rows:
            if row.locked_until is not None and row.locked_until <= now:
                row.locked_until = None
                row.failures = 0
                row.window_started_at = now
            elif row.locked_until is None and row.window_started_at + window <= now:
                row.failures = 0
                row.window_started_at = now
        failures = max((r.failures for r in rows), default=0)
        over = max((r.failures - limits(r.key, self.settings)[0] for r in rows), default=-1)
        locks = [r.locked_until for r in rows if r.locked_until is not None]
        if locks:
            await self.session.flush()
            return ThrottleState(failures, max(locks), over)
        for row in rows:
            row.failures += 1
            if row.failures >= limits(row.key, self.settings)[1]:
                row.locked_until = now + window
        await self.session.flush()
        return ThrottleState(failures, None, over)

    async def hold(self, keys: Sequence[str]) -> None:
        """Lock the keys' rows for the rest of the transaction (a write, so SQLite takes
        its write lock too)."""
        await repository.hold_throttles(self.session, keys)

    async def refund(self, keys: Sequence[str]) -> None:
        """Give back an attempt ``reserve`` counted that was not a failure after all (a
        right password): its count drops by one, and a lock it set is lifted."""
        if not keys:
            return
        await self.hold(keys)
        for row in await repository.throttles(self.session, keys, for_update=True):
            row.failures = max(0, row.failures - 1)
            if row.locked_until is not None and row.failures < limits(row.key, self.settings)[1]:
                row.locked_until = None
        await self.session.flush()

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
