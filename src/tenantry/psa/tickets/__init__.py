"""Tickets: per-tenant numbering, comments, history, SLA clock, MSP-wide views."""
