"""An invoice as CSV: one row per line, then subtotal, tax and total (amounts in major
units as text with the currency's decimals, and in minor units). Written by the
product's one formula-safe CSV writer (line descriptions are typed by people)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from tenantry.kit.csv import to_csv
from tenantry.kit.money import format_amount
from tenantry.psa.invoices.models import Invoice, InvoiceLine

HEADER = ("invoice", "position", "kind", "date", "description", "minutes", "quantity",
          "unit_price", "amount", "amount_minor", "currency")  # fmt: skip


def _rows(invoice: Invoice, lines: Sequence[InvoiceLine]) -> Iterator[list[object]]:
    cur = invoice.currency
    number = invoice.number or "draft"
    for li in lines:
        yield [
            number,
            li.position,
            li.kind.value,
            li.work_date.isoformat() if li.work_date else "",
            li.description,
            li.minutes if li.minutes is not None else "",
            li.quantity,
            format_amount(li.unit_minor, cur).replace(",", ""),
            format_amount(li.amount_minor, cur).replace(",", ""),
            li.amount_minor,
            cur,
        ]
    for label, value in (
        ("subtotal", invoice.subtotal_minor),
        (f"tax {invoice.tax_rate_bp / 100:g}%", invoice.tax_minor),
        ("total", invoice.total_minor),
    ):
        yield [number, "", label, "", "", "", "", "", format_amount(value, cur).replace(",", ""),
               value, cur]  # fmt: skip


def invoice_csv(invoice: Invoice, lines: Sequence[InvoiceLine]) -> str:
    return to_csv(HEADER, _rows(invoice, lines))
