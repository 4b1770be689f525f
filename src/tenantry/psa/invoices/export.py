"""An invoice as CSV: one row per line, then subtotal, tax and total (amounts in major
units as text with the currency's decimals, and in minor units)."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from tenantry.psa.invoices.models import Invoice, InvoiceLine
from tenantry.psa.invoices.money import format_amount


def _cell(value: str) -> str:
    """Spreadsheets run a cell that starts with = + - @ as a formula; text is input."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def invoice_csv(invoice: Invoice, lines: Sequence[InvoiceLine]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    cur = invoice.currency
    writer.writerow(
        ["invoice", "position", "kind", "date", "description", "minutes", "quantity",
         "unit_price", "amount", "amount_minor", "currency"]
    )  # fmt: skip
    number = invoice.number or "draft"
    for li in lines:
        writer.writerow(
            [
                number,
                li.position,
                li.kind.value,
                li.work_date.isoformat() if li.work_date else "",
                _cell(li.description),
                li.minutes if li.minutes is not None else "",
                li.quantity,
                format_amount(li.unit_minor, cur).replace(",", ""),
                format_amount(li.amount_minor, cur).replace(",", ""),
                li.amount_minor,
                cur,
            ]
        )
    for label, value in (
        ("subtotal", invoice.subtotal_minor),
        (f"tax {invoice.tax_rate_bp / 100:g}%", invoice.tax_minor),
        ("total", invoice.total_minor),
    ):
        writer.writerow(
            [number, "", label, "", "", "", "", "", format_amount(value, cur).replace(",", ""),
             value, cur]
        )  # fmt: skip
    return buffer.getvalue()
