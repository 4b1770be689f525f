"""Money in integer minor units: the rounding rules of an invoice, and parsing/formatting.

* A time line is ``minutes x hourly rate / 60``, rounded half-up to the minor unit,
  once per line.
* Tax is ``subtotal x rate (basis points) / 10000``, rounded half-up once, on the
  subtotal (not per line).
* The total is the subtotal plus the tax. Amounts are never negative here, so half-up
  is plain integer arithmetic: ``(2 * numerator + denominator) // (2 * denominator)``.
  No float touches an amount.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation

# ISO 4217 minor-unit exponents that differ from 2.
_EXPONENTS = {
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0,
    "PYG": 0, "RWF": 0, "UGX": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
    "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
}  # fmt: skip
CURRENCY = re.compile(r"^[A-Z]{3}$")
MAX_AMOUNT = 10**12  # minor units; far above any real invoice line


def exponent(currency: str) -> int:
    return _EXPONENTS.get(currency, 2)


def half_up(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` rounded half-up, for non-negative integers."""
    if numerator < 0 or denominator <= 0:
        raise ValueError("half_up takes a non-negative numerator and a positive denominator")
    return (2 * numerator + denominator) // (2 * denominator)


def time_amount(minutes: int, hourly_rate_minor: int) -> int:
    return half_up(minutes * hourly_rate_minor, 60)


def tax_amount(subtotal_minor: int, tax_rate_bp: int) -> int:
    return half_up(subtotal_minor * tax_rate_bp, 10_000)


def totals(line_amounts: Iterable[int], tax_rate_bp: int) -> tuple[int, int, int]:
    """(subtotal, tax, total) of rounded line amounts."""
    subtotal = sum(line_amounts)
    tax = tax_amount(subtotal, tax_rate_bp)
    return subtotal, tax, subtotal + tax


def parse_amount(text: str, currency: str) -> int:
    """``"1,250.50"`` in EUR → 125050. Refuses more decimals than the currency has."""
    cleaned = text.strip().replace(",", "").replace(" ", "")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise ValueError("is not an amount (e.g. 95.00)") from None
    if not value.is_finite() or value < 0:
        raise ValueError("must be zero or more")
    places = exponent(currency)
    scaled = value.scaleb(places)
    if scaled != scaled.to_integral_value():
        raise ValueError(f"has more than {places} decimals for {currency}")
    minor = int(scaled)
    if minor > MAX_AMOUNT:
        raise ValueError("is too large")
    return minor


def format_amount(minor: int, currency: str) -> str:
    """125050, EUR → ``"1,250.50"`` (the currency code is shown beside it)."""
    places = exponent(currency)
    sign = "-" if minor < 0 else ""
    whole, frac = divmod(abs(minor), 10**places)
    text = f"{whole:,}"
    if places:
        text += "." + str(frac).rjust(places, "0")
    return sign + text


def format_money(minor: int, currency: str) -> str:
    return f"{format_amount(minor, currency)} {currency}"


def parse_rate_percent(text: str) -> int:
    """``"19"`` or ``"7.5"`` (percent) → basis points (1900, 750)."""
    try:
        value = Decimal(text.strip() or "0")
    except InvalidOperation:
        raise ValueError("is not a percentage (e.g. 19 or 7.5)") from None
    bp = value * 100
    if not value.is_finite() or bp != bp.to_integral_value() or not 0 <= bp <= 10_000:
        raise ValueError("must be between 0 and 100 with at most two decimals")
    return int(bp)


# ISO 4217 codes in use (2026), so an offer in "EUX" is refused by name rather than kept.
ISO_CURRENCIES = frozenset(
    """AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD
    BTN BWP BYN BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR
    FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD
    JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK
    MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN
    PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB
    TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VES VND VUV WST XAF XCD XCG XOF XPF
    YER ZAR ZMW ZWG""".split()  # noqa: SIM905 - a list literal of 180 codes reads worse
)


def is_known_currency(code: str) -> bool:
    return code in ISO_CURRENCIES
