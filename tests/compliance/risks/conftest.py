"""The access tests' small instance (tests/access/conftest.py): Northwind IT with Alex
(admin), Tina and Sam (technicians, no client yet), its clients with Carol as Contoso's
own admin, and Globex with Gary and Initech."""

from tests.access.conftest import app, world

__all__ = ["app", "world"]
