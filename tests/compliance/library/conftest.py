"""The access tests' world (Northwind IT with Contoso, Fabrikam, Tailspin; Globex with
Initech) for the library tests."""

from tests.access.conftest import app as app
from tests.access.conftest import world as world
