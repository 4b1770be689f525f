"""Effective status and the kept score of an adopted framework.

**Effective status of a requirement.** ``not_applicable`` when its assessment says so
(a measure cannot make a requirement the client ruled out apply again). Otherwise the
best of its own assessment's status and what its mapped measures give: an implemented
measure gives ``implemented``, a partial one ``partial``, a planned one nothing. The
order, best last: not_assessed < not_implemented < partial < implemented.

**Score.** Over the framework's assessable requirements (each has one assessment),
with effective statuses: applicable = all but not_applicable; score = (implemented +
0.5 * partial) / applicable, in basis points (0..10000, rounded half up); None while
nothing is applicable. It is kept in ``compliance_scores`` by the transaction that moves
it; when the value changes a history point is appended and it joins ``recent`` (the
last 12 values, oldest first; a None is not drawn there).

**Lock order.** Assessment and measure rows are written (and so locked) first, then the
score rows, locked in framework-id order by ``keep``, then the audit chain's head
(audit.record). Every path takes them in this order, so two transactions that touch the
same framework queue instead of deadlocking (the kept open counts of tickets follow the
same order for the same reason).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.compliance.programme import repository
from tenantry.compliance.programme.models import FrameworkScore, ScoreChange
from tenantry.dashboard import keeping
from tenantry.db.base import new_id, utcnow

RECENT = 12
_RANK = {"not_assessed": 0, "not_implemented": 1, "partial": 2, "implemented": 3}
_FROM_MEASURE = {0: None, 1: "partial", 2: "implemented"}


def effective(status: str, measure_rank: int) -> str:
    """A requirement's effective status from its assessment's status and the best rank of
    its mapped measures (repository.MEASURE_RANK)."""
    if status == "not_applicable":
        return status
    given = _FROM_MEASURE.get(measure_rank)
    if given is not None and _RANK[given] > _RANK.get(status, 0):
        return given
    return status


@dataclass(slots=True)
class Tally:
    total: int = 0
    applicable: int = 0
    implemented: int = 0
    partial: int = 0
    not_assessed: int = 0

    def add(self, status: str, count: int) -> None:
        self.total += count
        if status == "not_applicable":
            return
        self.applicable += count
        if status == "implemented":
            self.implemented += count
        elif status == "partial":
            self.partial += count
        elif status == "not_assessed":
            self.not_assessed += count

    @property
    def score_bp(self) -> int | None:
        if not self.applicable:
            return None
        points = 10_000 * self.implemented + 5_000 * self.partial
        return (2 * points + self.applicable) // (2 * self.applicable)


async def keep(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    framework_ids: Iterable[uuid.UUID],
    *,
    first: bool = False,
) -> dict[uuid.UUID, FrameworkScore]:
    """Recompute and store the scores of ``framework_ids`` only (one counting statement,
    one locking read); ``first``: the frameworks were just adopted, so each gets its first
    history point whatever its value."""
    wanted = sorted(set(framework_ids))
    if not wanted:
        return {}
    await session.flush()
    tallies = {f: Tally() for f in wanted}
    for framework_id, status, rank, count in await repository.effective_counts(
        session, tenant_id, wanted
    ):
        tallies[framework_id].add(effective(status, rank), count)
    kept = {
        s.framework_id: s for s in await repository.scores_for_update(session, tenant_id, wanted)
    }
    now = utcnow()
    any_moved = False
    for framework_id in wanted:
        score = kept.get(framework_id)
        if score is None:
            continue
        tally = tallies[framework_id]
        moved = first or score.score_bp != tally.score_bp
        any_moved = any_moved or moved
        score.implemented = tally.implemented
        score.partial = tally.partial
        score.applicable = tally.applicable
        score.total = tally.total
        score.not_assessed = tally.not_assessed
        if not moved:
            continue
        score.score_bp = tally.score_bp
        score.changed_at = now
        if tally.score_bp is not None:
            score.recent = [*(score.recent or []), tally.score_bp][-RECENT:]
        session.add(
            ScoreChange(
                tenant_id=tenant_id,
                id=new_id(),
                framework_id=framework_id,
                score_bp=tally.score_bp,
                implemented=tally.implemented,
                partial=tally.partial,
                applicable=tally.applicable,
            )
        )
    await session.flush()
    if any_moved:
        await roll_up(session, tenant_id)
    return kept


async def roll_up(session: AsyncSession, tenant_id: uuid.UUID) -> None:
    """The client's row of its MSP's dashboard takes every kept score of it now (after
    the score rows are locked: one lock order, see above)."""
    await keeping.scores_kept(session, tenant_id, await current(session, tenant_id))


async def current(
    session: AsyncSession, tenant_id: uuid.UUID
) -> list[tuple[str, str, int | None, list[int]]]:
    """(key, title, score, recent scores) of each adopted framework's kept score."""
    return [
        (s.framework_key, s.framework_title, s.score_bp, list(s.recent or []))
        for s in await repository.scores(session, tenant_id)
    ]
