"""The indexes the overview adds: on the programme's assessments (migration 0022) and on
the kept scores (migration 0023).

Overdue means a due date in the past and a status that still asks for work. The MSP's
overview counts those per client and framework across thousands of clients on every
request; this partial index holds exactly the assessments that can be overdue (a due
date and not implemented or not applicable), so the count reads a small index and never
the assessments themselves. Tenant-led, like every index of a tenant-owned table: a
technician's twenty clients are index conditions; the admin's 10,000 read it whole.

The predicate is the repository's ``OPEN`` terms as each database renders them; both
queries and index must say the same for the planner to use it (the statuses are
written into the statement as literals, not bound: a bound list could not prove it).
"""

from __future__ import annotations

from sqlalchemy import Index, func, literal_column, text

from tenantry.compliance.programme.models import Assessment, FrameworkScore

# Statuses that need no more work: an assessment in one of them is never overdue.
DONE_STATUSES: tuple[str, ...] = ("implemented", "not_applicable")

# Spelled as a literal (the static rules allow no SQL built at run time outside db/).
OPEN_PREDICATE = text("due_on IS NOT NULL AND status NOT IN ('implemented', 'not_applicable')")

ix_overdue = Index(
    "ix_compliance_assessments_tenant_id_framework_id_due_on_open",
    Assessment.tenant_id,
    Assessment.framework_id,
    Assessment.due_on,
    sqlite_where=OPEN_PREDICATE,
    postgresql_where=OPEN_PREDICATE,
)

# The default sort's leading key (repository.sort_columns, "score": worst first, a row
# without a score after every scored one), written the same way in the statement. Read in
# this order, the first page stops after its rows and joins the tenants of those rows
# only, instead of joining and sorting every score row of 10,000 clients (migration 0023).
SCORE_KEY = "coalesce(score_bp, 10001)"

ix_score_key = Index(
    "ix_compliance_scores_score_key",
    func.coalesce(FrameworkScore.score_bp, literal_column("10001")),
    info={"cross_tenant": "MSP compliance overview, worst score first across clients"},
)
