"""Access management in one tenant (roles, user groups, client groups, grants),
changed by someone acting there or by the instance operator. One class, assembled from
a part per job."""

from tenantry.access.admin.grants import GrantQuery, GrantsAdmin


class AccessAdmin(GrantsAdmin):
    """Roles, user groups, tenant groups and grants of one tenant."""


__all__ = ["AccessAdmin", "GrantQuery"]
