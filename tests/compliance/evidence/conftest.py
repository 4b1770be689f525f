"""The access suite's world (Northwind IT with Alex, Tina, Carol in Contoso; Globex with
Gary and Initech), every user with an API token."""

from __future__ import annotations

from tests.access.conftest import app, world

__all__ = ["app", "world"]
