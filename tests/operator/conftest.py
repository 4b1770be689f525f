"""The access tests' small instance (tests/access/conftest.py): Northwind IT with Alex
(admin), Olive (owner: billing:manage), Tina and Sam, and three clients."""

from tests.access.conftest import app, world

__all__ = ["app", "world"]
