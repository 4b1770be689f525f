"""ASGI entry point for uvicorn and other servers: ``tenantry.asgi:app``."""

from tenantry.app import create_app

app = create_app()
