"""Who may reach ``/api/v1/operator/…``: the bearer of a live operator token, nobody
else. A session cookie or a user's API token is not an operator credential (401), so
the route table's rule 1 (every route names what it needs) holds through this marker:
its permission is ``operator``, a name no role can hold."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.access.service import operator_scope
from tenantry.audit.schemas import Actor
from tenantry.errors import NotAuthenticated
from tenantry.http.deps import AccessMarker, get_db, request_info
from tenantry.operator.models import OperatorToken
from tenantry.operator.service import OperatorTokenService, operator_actor


@dataclass(slots=True)
class OperatorWork:
    """What an operator route works with: its unit of work (no tenant in scope until a
    service widens it, ``Why.OPERATOR``), the actor naming the token, and the token."""

    session: AsyncSession
    actor: Actor
    token: OperatorToken


class AsOperator(AccessMarker):
    permission = "operator"

    async def __call__(self, request: Request) -> AsyncIterator[OperatorWork]:
        auth = request.headers.get("authorization", "")
        if not auth.lower().startswith("bearer "):
            raise NotAuthenticated("An operator token is required (Authorization: Bearer).")
        db = get_db(request)
        async with db.platform_reader() as reader:
            token = await OperatorTokenService(reader).authenticate(auth[7:].strip())
        async with db.unit_of_work(operator_scope([])) as session:
            yield OperatorWork(session, operator_actor(token, request_info(request)), token)


as_operator = AsOperator()
Operator = Annotated[OperatorWork, Depends(as_operator, scope="function")]
