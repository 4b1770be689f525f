"""ASGI entry point for uvicorn and other servers: ``tenantry.asgi:app``.

Run it as ``tenantry serve`` does: ``uvicorn tenantry.asgi:app --no-server-header``
(uvicorn writes its ``Server`` header below the app, where no middleware reaches; the
app drops one it is handed). Request bodies are limited by the app itself
(``TENANTRY_MAX_BODY_BYTES``, ``TENANTRY_MAX_IMPORT_BYTES``); a proxy in front may
limit them lower, never needs to raise them.
"""

import gc

from tenantry.app import create_app

app = create_app()

# Everything built so far (modules, routes, schemas, the app) lives as long as the
# process: move it out of the cyclic collector's sight. Otherwise every full collection
# walks it again, and a request that allocates a lot (an MSP-wide read over 10,000
# clients) paid for that walk: customers_with took 120 ms at the median instead of 52 ms
# (bench/probe.py; docs/ARCHITECTURE.md, "Measuring"). Only this server entry point
# freezes; tests and the CLI build many apps and keep collecting them normally.
gc.collect()
gc.freeze()
