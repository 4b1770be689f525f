"""Imports every models module so ``Base.metadata`` is complete.

Alembic (migrations/env.py), ``tenant_owned_tables()`` and the isolation tests rely
on it: a table whose module is not imported here is invisible to all three.
A new domain adds its one import line here.
"""

from __future__ import annotations

import tenantry.access.models as _access  # noqa: F401
import tenantry.audit.models as _audit  # noqa: F401
import tenantry.billing.models as _billing  # noqa: F401
import tenantry.branding.models as _branding  # noqa: F401
import tenantry.compliance.evidence.models as _compliance_evidence  # noqa: F401
import tenantry.compliance.library.models as _compliance_library  # noqa: F401
import tenantry.compliance.overview.models as _compliance_overview  # noqa: F401
import tenantry.compliance.policies.models as _compliance_policies  # noqa: F401
import tenantry.compliance.programme.models as _compliance_programme  # noqa: F401
import tenantry.compliance.risks.models as _compliance_risks  # noqa: F401
import tenantry.dashboard.models as _dashboard  # noqa: F401
import tenantry.identity.models as _identity  # noqa: F401
import tenantry.notifications.models as _notifications  # noqa: F401
import tenantry.operator.models as _operator  # noqa: F401
import tenantry.psa.contacts.models as _psa_contacts  # noqa: F401
import tenantry.psa.invoices.models as _psa_invoices  # noqa: F401
import tenantry.psa.service_plans.models as _psa_service_plans  # noqa: F401
import tenantry.psa.tickets.models as _psa_tickets  # noqa: F401
import tenantry.psa.time.models as _psa_time  # noqa: F401
import tenantry.signup.models as _signup  # noqa: F401
import tenantry.tenancy.models as _tenancy  # noqa: F401
