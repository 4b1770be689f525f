"""The access tests' small world (Northwind IT with Contoso, Fabrikam and Tailspin;
Carol, Contoso's own admin; Globex with Initech) for the programme's API tests."""

from tests.access.conftest import app, world

__all__ = ["app", "world"]
