"""The decisions a worker keeps (issue #15): deciding costs a few reads, and nothing
that decides access changes between most requests.

A decision is kept per (user, tenant) beside the two access versions it was made under
(the user's home tenant's and the target tenant's, ``AccessVersion``) and the moment
it stops being true by itself (the earliest expiry of a grant or link it used). It is
used only when the request read the same two numbers in its own statement, before
that moment: every grant, role, group, link, block or tenant change moves a number in
its own transaction, so the very next request in every worker decides again. Never a
time-to-live. The versions are read before the facts a new decision reads, so a
decision is never kept under numbers newer than its facts.

Bounded (least recently used out first): a worker serves at most a few thousand
(user, tenant) pairs at a time, and losing one only costs a fresh decision.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

T = TypeVar("T")

# (user, tenant) for a decision; other kept things name their own (``access/kept_reach.py``).
Key = Hashable


@dataclass(frozen=True, slots=True)
class Versions:
    """The access versions a request read: of the caller's home and of the target."""

    home: int
    tenant: int


@dataclass(frozen=True, slots=True)
class _Kept(Generic[T]):
    versions: Versions
    valid_until: datetime | None
    value: T


class KeptDecisions(Generic[T]):
    """At most ``size`` kept values, or, with ``weigh``, values weighing ``size`` in all
    (a kept value of 10,000 customers is not the cost of one decision)."""

    def __init__(self, size: int = 20_000, *, weigh: Callable[[T], int] | None = None) -> None:
        self.size = size
        self._weigh = weigh
        self._kept: OrderedDict[Key, _Kept[T]] = OrderedDict()
        self._weights: dict[Key, int] = {}
        self.weight = 0
        self.hits = 0
        self.misses = 0

    def get(self, key: Key, versions: Versions | None, now: datetime) -> T | None:
        """The kept decision, if made under exactly these versions and still in time."""
        kept = self._kept.get(key)
        if (
            kept is None
            or versions is None
            or kept.versions != versions
            or (kept.valid_until is not None and kept.valid_until <= now)
        ):
            self.misses += 1
            return None
        self._kept.move_to_end(key)
        self.hits += 1
        return kept.value

    def put(
        self, key: Key, versions: Versions | None, valid_until: datetime | None, value: T
    ) -> None:
        if versions is None:
            return  # a tenant without a version row: never provably fresh
        weight = self._weigh(value) if self._weigh is not None else 1
        self.weight += weight - self._weights.get(key, 0)
        self._weights[key] = weight
        self._kept[key] = _Kept(versions, valid_until, value)
        self._kept.move_to_end(key)
        while self.weight > self.size and len(self._kept) > 1:
            gone, _ = self._kept.popitem(last=False)
            self.weight -= self._weights.pop(gone)

    def pop(self, key: Key) -> T | None:
        """Forget one kept value, returning it (None if none was kept)."""
        kept = self._kept.pop(key, None)
        if kept is None:
            return None
        self.weight -= self._weights.pop(key)
        return kept.value

    def discard(self, key: Key) -> None:
        self.pop(key)

    def __len__(self) -> int:
        return len(self._kept)

    def clear(self) -> None:
        self._kept.clear()
        self._weights.clear()
        self.weight = 0


def versions_of(home: int | None, tenant: int | None) -> Versions | None:
    return None if home is None or tenant is None else Versions(home, tenant)


def earliest(*moments: datetime | None) -> datetime | None:
    """The first of the moments a decision stops being true by itself (None: never)."""
    found = [m for m in moments if m is not None]
    return min(found) if found else None
