"""The MSP's dashboard across its clients (issue #17): totals on top, one row per client
(link, compliance per adopted framework with its trend, open tickets and breaches, last
MSP activity), sorted, filtered, searched, paged and exported. ``/msp/dashboard`` and
``GET /api/v1/msp/dashboard`` (+ ``.csv``).

Every figure comes from ``msp_dashboard_rows``: one row per client, owned by the MSP
(``tenant_id`` = the MSP, ``client_id`` = the client), kept in the transaction of the
change in the client (``keeping.py``), so the page reads one tenant's rows under an
ordinary single-tenant scope."""
