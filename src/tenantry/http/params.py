"""Query parameters every list shares, declared once so the OpenAPI document states their
bounds and every route reads them alike.

* ``Limit``: a page size, 1 to ``MAX_LIMIT``, in the schema (``minimum``/``maximum``) as
  in the check.
* ``QueryDate`` / ``QueryDateTime``: ISO 8601 text only. Pydantic's lax mode reads a bare
  number as a Unix time (``?since=12345`` meant 1970), which no caller means: refused
  with a 422 naming the parameter.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import Query
from pydantic import BeforeValidator

from tenantry.kit.pagination import MAX_LIMIT

_NUMBER = re.compile(r"\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*")


def _iso_text(value: Any) -> Any:
    if isinstance(value, bool | int | float) or (
        isinstance(value, str | bytes) and _NUMBER.fullmatch(str(value))
    ):
        raise ValueError("must be an ISO 8601 date or time, not a number")
    return value


Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"Page size, 1 to {MAX_LIMIT}")]
QueryDate = Annotated[date, BeforeValidator(_iso_text)]
QueryDateTime = Annotated[datetime, BeforeValidator(_iso_text)]
