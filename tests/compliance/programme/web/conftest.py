"""The web tests' seeded world (tests/harness/world.py) for the programme's pages."""

from tests.web.conftest import app, as_alex, as_carol, as_tina, world

__all__ = ["app", "as_alex", "as_carol", "as_tina", "world"]
