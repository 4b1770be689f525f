"""Tenant branding: the logo (and accent colour) a tenant shows on what it issues."""
