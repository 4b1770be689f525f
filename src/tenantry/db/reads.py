"""More read in a statement another owner builds (issue #15: one round trip where there
were two). The caller's credential is read by identity; the tenant a request names and
its access versions are access's and tenancy's; both ride in one statement."""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class AlsoRead:
    """Columns to add to another owner's statement, with the outer joins that bring them
    and their parameters. ``key`` names the columns and joins (the same key, the same
    objects: the host builds its statement once per key); ``found`` receives the values
    of ``columns`` from the row the host read (left empty when it read none)."""

    key: Hashable
    columns: tuple[Any, ...]
    joins: tuple[tuple[Any, Any], ...]
    params: Mapping[str, Any]
    found: tuple[Any, ...] = field(default=())
