"""The overview tests run in the one seeded world (tests/harness/world.py) with the web
fixtures (signed-in clients as Alex, Tina, Carol and Gary)."""

from tests.web.conftest import app, as_alex, as_carol, as_gary, as_tina, world

__all__ = ["app", "as_alex", "as_carol", "as_gary", "as_tina", "world"]
