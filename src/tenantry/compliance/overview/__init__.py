"""The MSP's compliance overview across its clients (issue #16): per client and adopted
framework the stored score (kept by the programme, never recomputed here), its trend,
the assessment counts and the overdue assessments, over every client where the caller
holds ``compliance:read``; filters, sorting, keyset paging and totals. ``/msp/compliance``
and ``GET /api/v1/msp/compliance/overview`` (+ ``.csv``)."""
