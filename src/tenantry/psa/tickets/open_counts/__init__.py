"""Open and breached tickets per client, kept as the tickets change (issue #15).

``ticket_open_counts`` holds, per (tenant, assignee), the open tickets and those of them
with a breach flag. Every change of a ticket moves these rows by the difference between
how the ticket was counted before and after, in the change's own unit of work
(``service.record_moves``; ``service.counting`` around edits, bulk edits and comments of
tickets read locked for the change); the per-client counts read them instead of
scanning tickets. Lock order, everywhere: the tickets, then these rows, then the audit
chain (a change moves the counts before it writes its records).

Time breaches a ticket without anyone changing it. The counts stay exact anyway: an
open ticket that is overdue but carries no flag yet is added when the counts are read,
from two small partial indexes that hold exactly such tickets; the sweep (``sweep.py``,
every minute in the app) flags them and moves them into the kept rows, so that read stays
short. Flagging early changes nothing a user sees: "breached" has always been "flagged or
overdue now", and every change that moves a due time flags a missed target first.
"""
