"""Access management in one tenant (roles, user groups, client groups, grants),
changed by someone acting there or by the instance operator. One class, assembled from
a part per job."""

from tenantry.access.admin.grants import GrantQuery, GrantsAdmin
from tenantry.access.admin.kinds import CLIENT_GROUPS, USER_GROUPS, GroupKind


class AccessAdmin(GrantsAdmin):
    """Roles, user groups, tenant groups and grants of one tenant."""


__all__ = ["CLIENT_GROUPS", "USER_GROUPS", "AccessAdmin", "GrantQuery", "GroupKind"]
