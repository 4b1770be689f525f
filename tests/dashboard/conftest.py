"""The dashboard tests run in the PSA world (tests/psa/conftest.py): Northwind with Alex
(admin), Tina (technician, no delegation) and Dora (delegated to Contoso); its clients
Contoso and Fabrikam; Globex with Gary and its client Umbrella; Carl, Contoso's own."""

from tests.psa.conftest import psa

__all__ = ["psa"]
