"""The loaders of reference content (``db.base.ReferenceTable``: global, read-only data
the package ships), run by ``migrate.upgrade`` as the owner right after the migrations.

Like ``models_registry``, this one module names domains (its import is exempt from the
"plumbing knows no domain" contract): a domain with reference content adds one line.
Each loader is idempotent and returns a line per thing it wrote (empty: nothing changed).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncConnection

from tenantry.compliance.library.loader import load_shipped

ReferenceLoader = Callable[[AsyncConnection], Awaitable[list[str]]]

LOADERS: tuple[ReferenceLoader, ...] = (load_shipped,)
