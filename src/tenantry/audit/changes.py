"""What an audited action changed, in one shape: field → (old, new).

Stored in an event's ``changes`` as ``{"field": [old, new]}``. A value the action set
where there was none (a creation, a sign-in's method) is ``[None, value]``; one it took
away is ``[value, None]``. The audit pages and exports read every event the same way.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# Keys whose values are never stored, whatever the caller passes.
SECRET_KEYS = frozenset({"password", "password_hash", "token", "token_hash", "totp_secret", "code"})


@dataclass(frozen=True, slots=True)
class Changes:
    fields: Mapping[str, tuple[Any, Any]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.fields)

    def __or__(self, other: Changes) -> Changes:
        return Changes({**self.fields, **other.fields})

    def as_json(self) -> dict[str, list[Any]]:
        return {name: [old, new] for name, (old, new) in self.fields.items()}


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> Changes:
    """The fields of ``after`` whose value differs from ``before``'s (absent: None)."""
    return Changes({k: (before.get(k), v) for k, v in after.items() if before.get(k) != v})


def set_to(**values: Any) -> Changes:
    """Values an action set where there were none: a creation, a sign-in's method."""
    return Changes({k: (None, v) for k, v in values.items()})


def removed(**values: Any) -> Changes:
    """Values an action took away: a deletion, a revocation."""
    return Changes({k: (v, None) for k, v in values.items()})


def changed(name: str, old: Any, new: Any) -> Changes:
    return Changes({name: (old, new)})


def of_pairs(pairs: Iterable[tuple[str, Any, Any]]) -> Changes:
    return Changes({name: (old, new) for name, old, new in pairs})


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def stored(changes: Changes) -> dict[str, Any]:
    """What an event keeps: secrets redacted, values made plain JSON (what is hashed is
    what is read back)."""
    pairs = changes.as_json()
    redacted = {k: ("[redacted]" if k in SECRET_KEYS else v) for k, v in pairs.items()}
    plain: dict[str, Any] = json.loads(json.dumps(redacted, default=_plain))
    return plain


def new_value(kept: Mapping[str, Any], name: str) -> Any:
    """What an event set ``name`` to, in the pair shape (``[old, new]``) or as the plain
    value events were written with before it (an ``audit.pruned`` event of either age
    still vouches for its anchor)."""
    value = kept.get(name)
    return value[1] if isinstance(value, list) and len(value) == 2 else value
