"""The home security policy API: a second factor required (from when), the session
lifetime, and for an MSP whether its staff need a second factor to act in clients."""

from __future__ import annotations

from fastapi import APIRouter, Request

from tenantry.access.context import Principal
from tenantry.http.deps import get_settings
from tenantry.identity import auth
from tenantry.identity.schemas import MfaImpactOut, SecurityPolicyIn, SecurityPolicyOut
from tenantry.identity.service import IdentityService, mfa_enforced
from tenantry.tenancy.models import Tenant

router = APIRouter(prefix="/api/v1", tags=["identity"])


async def policy_out(
    identity: IdentityService, tenant: Tenant, principal: Principal, default_minutes: int
) -> SecurityPolicyOut:
    impact = await identity.mfa_impact(tenant, principal)
    return SecurityPolicyOut(
        tenant_id=tenant.id,
        require_mfa=tenant.require_mfa,
        require_mfa_from=tenant.require_mfa_from if tenant.require_mfa else None,
        mfa_in_force=mfa_enforced(tenant),
        session_lifetime_minutes=tenant.session_lifetime_minutes,
        effective_session_lifetime_minutes=tenant.session_lifetime_minutes or default_minutes,
        require_mfa_for_clients=tenant.require_mfa_for_clients if tenant.is_msp else None,
        without_second_factor=MfaImpactOut(
            users=impact.users, api_tokens=impact.api_tokens, includes_you=impact.includes_you
        ),
        warning=impact.describe(tenant.display_name)
        if tenant.require_mfa and impact.users
        else None,
    )


@router.get("/tenants/{tenant}/security-policy", response_model=SecurityPolicyOut)
async def get_security_policy(work: auth.TenantRead, request: Request) -> SecurityPolicyOut:
    settings = get_settings(request)
    identity = IdentityService(work.session, settings)
    tenant = await identity.tenant(work.ctx.tenant.id)
    return await policy_out(identity, tenant, work.ctx.principal, settings.session_lifetime_minutes)


@router.put("/tenants/{tenant}/security-policy", response_model=SecurityPolicyOut)
async def set_security_policy(
    body: SecurityPolicyIn,
    work: auth.SettingsManage,
    request: Request,
) -> SecurityPolicyOut:
    """The home tenant's policy for its own users (MFA required, session lifetime). Only
    the tenant's own admins may change it. Requiring a second factor stops the users who
    have none, and their API tokens, from the moment it takes effect: the answer (and a
    GET beforehand) says how many, and `require_mfa_from` gives them time to enrol. An
    MSP's `require_mfa_for_clients` keeps its staff without a second factor out of its
    clients (403 `mfa-required`) while they keep working in the MSP itself."""
    settings = get_settings(request)
    identity = IdentityService(work.session, settings)
    tenant = await identity.set_security_policy(
        work.ctx,
        require_mfa=body.require_mfa,
        session_lifetime_minutes=body.session_lifetime_minutes,
        lifetime_given="session_lifetime_minutes" in body.model_fields_set,
        actor=work.actor,
        require_mfa_from=body.require_mfa_from,
        from_given="require_mfa_from" in body.model_fields_set,
        require_mfa_for_clients=body.require_mfa_for_clients,
    )
    return await policy_out(identity, tenant, work.ctx.principal, settings.session_lifetime_minutes)
