"""Currency scale (ISO 4217 minor units), half-up rounding and display formatting.

Money is `Decimal` built from strings; it is rounded to the currency's scale, half up,
only where an invoice line or a total is written.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from invoicing.errors import CurrencyError

# ISO 4217 minor units where they are not 2.
_SCALE_EXCEPTIONS: dict[str, int] = {
    # 0 decimals
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0,
    "PYG": 0, "RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0,
    "XPF": 0,
    # 3 decimals
    "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
    # 4 decimals
    "CLF": 4, "UYW": 4,
}  # fmt: skip

# Active ISO 4217 codes with 2 decimals.
_TWO_DECIMALS = frozenset(
    """
    AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BRL BSD BTN BWP
    BYN BZD CAD CDF CHF CNY COP CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP
    GEL GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD KZT
    LAK LBP LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN
    NIO NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP
    SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD UYU UZS VES
    WST XCD XCG YER ZAR ZMW ZWG
    """.split()
)

# Symbols printed before an amount; a code without one prints as "CHF 12.00".
_SYMBOLS: dict[str, str] = {
    "EUR": "€", "GBP": "£", "JPY": "¥", "USD": "US$", "NZD": "NZ$", "AUD": "A$",
    "CAD": "CA$", "INR": "₹", "KRW": "₩", "ILS": "₪", "VND": "₫", "PHP": "₱",
}  # fmt: skip


def currency_scale(code: str) -> int:
    """Number of decimals of `code` (ISO 4217 minor units); unknown codes are an error."""
    if code in _SCALE_EXCEPTIONS:
        return _SCALE_EXCEPTIONS[code]
    if code in _TWO_DECIMALS:
        return 2
    raise CurrencyError(f"unknown currency code {code!r} (expected an ISO 4217 code such as NZD)")


def round_money(amount: Decimal, currency: str) -> Decimal:
    """Round `amount` to the currency's scale, half up (1.2920 NZD -> 1.29, 0.125 -> 0.13)."""
    if not isinstance(amount, Decimal):
        raise CurrencyError(f"money must be a Decimal, got {type(amount).__name__}")
    exponent = Decimal(1).scaleb(-currency_scale(currency))
    return amount.quantize(exponent, rounding=ROUND_HALF_UP)


def round_half_up(amount: Decimal, places: int) -> Decimal:
    return amount.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def format_amount(amount: Decimal, currency: str) -> str:
    """`1234.5` NZD -> "1,234.50" (the currency's scale, thousands separated, no symbol)."""
    scale = currency_scale(currency)
    return f"{round_money(amount, currency):,.{scale}f}"


def format_money(amount: Decimal, currency: str) -> str:
    """`148.35` NZD -> "NZ$148.35"; EUR -> "€148.35"; CHF -> "CHF 148.35"; negative "-€24.00"."""
    text = format_amount(abs(amount), currency)
    symbol = _SYMBOLS.get(currency)
    body = f"{symbol}{text}" if symbol else f"{currency} {text}"
    return f"-{body}" if amount < 0 else body
