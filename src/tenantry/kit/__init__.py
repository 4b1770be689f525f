"""Plumbing with no domain knowledge, shared by every domain: paging, CSV."""
