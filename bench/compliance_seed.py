"""Compliance programmes for the benchmark's customers (issue #16), bulk-inserted as the
table owner like the tickets (an import: no audit events), once per dataset.

Each customer of the big MSP adopts the MSP baseline (40 requirements); every third also
NIST CSF 2.0 (106 subcategories); every tenth has no programme ("not started"). Every
assessable requirement has an assessment whose status follows a per-client maturity
(so scores spread from about 0 to 90%); a fifth of them carry a due date within sixty
days either side of today, so the not-done ones in the past are overdue. The kept score
rows (``compliance_scores``) are computed from those assessments as the programme keeps
them (implemented over applicable, partial counting half, in basis points), each with
twelve recent scores rising to it. Idempotent: a marker row in ``bench.dataset`` says it
was done; a half-done run (no marker) is cleared and redone.
"""

from __future__ import annotations

import json
import time
from typing import Any

import asyncpg

SEED_VERSION = 1
CHUNK = 1_000

_FRAMEWORKS = """
CREATE TEMP TABLE bench_fw ON COMMIT DROP AS
SELECT c.id AS tenant_id, gen_random_uuid() AS id, k.key, k.version, k.title, k.n_req, c.n
FROM (SELECT unnest($1::uuid[]) AS id, unnest($2::int[]) AS n) c
CROSS JOIN (VALUES ('msp-baseline', '1', 'MSP security baseline', 40),
                   ('nist-csf', '2.0', 'NIST Cybersecurity Framework 2.0', 106))
     AS k(key, version, title, n_req)
WHERE c.n % 10 <> 9 AND (k.key = 'msp-baseline' OR c.n % 3 = 0)
"""
_ADOPT = """
INSERT INTO compliance_frameworks (tenant_id, id, key, version, title, description, origin,
    source_id, adopted_by_name, created_at)
SELECT tenant_id, id, key, version, title, '', 'library', NULL, 'bench', now() FROM bench_fw
"""
_REQUIREMENTS = """
INSERT INTO compliance_requirements (tenant_id, id, framework_id, ref, parent_ref, title,
    description, position, assessable, created_at)
SELECT f.tenant_id, gen_random_uuid(), f.id, upper(f.key) || '-' || g, NULL,
    'Requirement ' || g, '', g, true, now()
FROM bench_fw f, generate_series(1, f.n_req) g
"""
# h: where the requirement falls for this client; p: the client's maturity (0..99).
_ASSESSMENTS = """
INSERT INTO compliance_assessments (tenant_id, id, framework_id, requirement_id, status,
    na_reason, owner_user_id, owner_name, due_on, notes, updated_at, updated_by_name,
    created_at)
SELECT r.tenant_id, gen_random_uuid(), r.framework_id, r.id, s.status,
    CASE WHEN s.status = 'not_applicable' THEN 'Not used here' ELSE '' END, NULL, '',
    CASE WHEN r.position % 5 = 0
         THEN current_date + ((r.position * 13 + f.n) % 120 - 60) END,
    '', now(), 'bench', now()
FROM compliance_requirements r
JOIN bench_fw f ON f.tenant_id = r.tenant_id AND f.id = r.framework_id
CROSS JOIN LATERAL (SELECT (r.position * 53 + f.n * 17) % 100 AS h, (f.n * 7919) % 100 AS p) x
CROSS JOIN LATERAL (SELECT CASE
    WHEN x.h >= 95 THEN 'not_applicable'
    WHEN x.h < x.p * 8 / 10 THEN 'implemented'
    WHEN x.h < x.p * 8 / 10 + 10 THEN 'partial'
    WHEN x.h >= 85 THEN 'not_assessed'
    ELSE 'not_implemented' END AS status) s
"""
_SCORES = """
INSERT INTO compliance_scores (tenant_id, id, framework_id, framework_key, framework_title,
    score_bp, implemented, partial, applicable, total, not_assessed, recent, changed_at,
    created_at)
SELECT c.tenant_id, gen_random_uuid(), c.framework_id, f.key, f.title, c.score,
    c.implemented, c.partial, c.applicable, c.total, c.not_assessed,
    (SELECT json_agg(greatest(0, coalesce(c.score, 0) - (11 - i) * 150) ORDER BY i)
     FROM generate_series(0, 11) i),
    now() - (f.n % 30) * interval '1 day', now()
FROM (
    SELECT a.tenant_id, a.framework_id,
        count(*) FILTER (WHERE status = 'implemented') AS implemented,
        count(*) FILTER (WHERE status = 'partial') AS partial,
        count(*) FILTER (WHERE status <> 'not_applicable') AS applicable,
        count(*) AS total,
        count(*) FILTER (WHERE status = 'not_assessed') AS not_assessed,
        CASE WHEN count(*) FILTER (WHERE status <> 'not_applicable') > 0 THEN
            ((2 * count(*) FILTER (WHERE status = 'implemented')
              + count(*) FILTER (WHERE status = 'partial')) * 10000
             / (2 * count(*) FILTER (WHERE status <> 'not_applicable')))::int
        END AS score
    FROM compliance_assessments a
    JOIN bench_fw f ON f.tenant_id = a.tenant_id AND f.id = a.framework_id
    GROUP BY a.tenant_id, a.framework_id
) c
JOIN bench_fw f ON f.tenant_id = c.tenant_id AND f.id = c.framework_id
"""
_TABLES = (
    "compliance_scores",
    "compliance_assessments",
    "compliance_requirements",
    "compliance_frameworks",
)


async def seed_compliance(dsn: str, msp_id: str, say: Any) -> dict[str, Any]:
    """Programmes for every customer of the MSP ``msp_id``, unless done already."""
    owner = await asyncpg.connect(dsn)
    try:
        raw = await owner.fetchval("SELECT value FROM bench.dataset WHERE key = 'compliance'")
        done = json.loads(raw) if raw else None
        if done and done.get("version") == SEED_VERSION:
            say(f"reusing compliance programmes ({done['scores']:,} kept scores)")
            return dict(done)
        say("seeding compliance programmes ...")
        started = time.perf_counter()
        async with owner.transaction():
            for table in _TABLES:  # a half-done earlier attempt, if any
                await owner.execute(f"DELETE FROM {table}")
        customers = await owner.fetch(
            "SELECT customer_tenant_id FROM tenant_links "
            "WHERE msp_tenant_id = $1::uuid AND state = 'active' ORDER BY customer_tenant_id",
            msp_id,
        )
        ids = [r[0] for r in customers]
        for first in range(0, len(ids), CHUNK):
            part = ids[first : first + CHUNK]
            async with owner.transaction():
                await owner.execute(_FRAMEWORKS, part, list(range(first, first + len(part))))
                for statement in (_ADOPT, _REQUIREMENTS, _ASSESSMENTS, _SCORES):
                    await owner.execute(statement)
            say(f"  compliance: {first + len(part):,}/{len(ids):,} customers")
        for table in _TABLES:
            await owner.execute(f"VACUUM ANALYZE {table}")
        counts = {t: await owner.fetchval(f"SELECT count(*) FROM {t}") for t in _TABLES}
        overdue = await owner.fetchval(
            "SELECT count(*) FROM compliance_assessments WHERE due_on < current_date "
            "AND status NOT IN ('implemented', 'not_applicable')"
        )
        meta = {
            "version": SEED_VERSION,
            "customers": len(ids),
            "scores": counts["compliance_scores"],
            "assessments": counts["compliance_assessments"],
            "overdue": overdue,
            "seconds": round(time.perf_counter() - started, 1),
        }
        await owner.execute(
            "INSERT INTO bench.dataset VALUES ('compliance', $1::jsonb) "
            "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
            json.dumps(meta),
        )
        say(
            f"  {meta['scores']:,} kept scores, {meta['assessments']:,} assessments "
            f"({overdue:,} overdue) in {meta['seconds']} s"
        )
        return meta
    finally:
        await owner.close()
