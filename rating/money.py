"""Money: Decimal amounts built from strings, a currency, half-up rounding at the ledger.

Rating keeps amounts unrounded (voice charges at 4 places, see the meter's ``scale``);
``to_ledger`` is the one place an amount is rounded to its currency's scale, half up,
and it is called only where a ledger or an invoice line is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from rating.errors import CurrencyMismatch, RatingError

ZERO = Decimal(0)

# ISO 4217 minor units of the currencies an operator is likely to bill in. A pricebook
# may declare others with [currencies.XXX] scale = N.
SCALES: dict[str, int] = {
    "NZD": 2,
    "AUD": 2,
    "USD": 2,
    "EUR": 2,
    "GBP": 2,
    "CAD": 2,
    "CHF": 2,
    "SGD": 2,
    "HKD": 2,
    "ZAR": 2,
    "INR": 2,
    "BRL": 2,
    "MXN": 2,
    "SEK": 2,
    "NOK": 2,
    "DKK": 2,
    "PLN": 2,
    "CZK": 2,
    "FJD": 2,
    "WST": 2,
    "TOP": 2,
    "PHP": 2,
    "IDR": 2,
    "MYR": 2,
    "THB": 2,
    "CNY": 2,
    "TWD": 2,
    "JPY": 0,
    "KRW": 0,
    "VND": 0,
    "CLP": 0,
    "ISK": 0,
    "XPF": 0,
    "BHD": 3,
    "KWD": 3,
    "OMR": 3,
    "JOD": 3,
    "TND": 3,
}

_QUANTA = {n: Decimal(1).scaleb(-n) for n in range(0, 10)}


def decimal(value: object) -> Decimal:
    """A Decimal from a string, int or Decimal; floats are refused (they are not exact)."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool) or isinstance(value, float):
        raise RatingError(f"{value!r} is not an exact number: write it as a string")
    if isinstance(value, int | str):
        try:
            result = Decimal(value.strip().replace("_", "") if isinstance(value, str) else value)
        except InvalidOperation:
            raise RatingError(f"{value!r} is not a number") from None
        if not result.is_finite():
            raise RatingError(f"{value!r} is not a finite number")
        return result
    raise RatingError(f"{value!r} is not a number")


def round_to(amount: Decimal, places: int) -> Decimal:
    """Round half up to ``places`` decimal places."""
    return amount.quantize(
        _QUANTA[places] if places in _QUANTA else Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP
    )


def scale_of(currency: str, extra: dict[str, int] | None = None) -> int:
    if extra and currency in extra:
        return extra[currency]
    try:
        return SCALES[currency]
    except KeyError:
        raise RatingError(f"unknown currency {currency!r}") from None


def to_ledger(amount: Decimal, currency: str, extra: dict[str, int] | None = None) -> Decimal:
    """The amount as written on a ledger or invoice line: the currency's scale, half up."""
    return round_to(amount, scale_of(currency, extra))


@dataclass(frozen=True, slots=True)
class Money:
    """An amount and its currency; arithmetic across currencies is an error."""

    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        if not isinstance(self.amount, Decimal):
            raise RatingError(f"money amount must be a Decimal, not {type(self.amount).__name__}")

    def _same(self, other: Money) -> None:
        if other.currency != self.currency:
            raise CurrencyMismatch(f"cannot combine {self.currency} and {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __mul__(self, factor: Decimal | int) -> Money:
        return Money(self.amount * factor, self.currency)

    def __lt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount < other.amount

    def rounded(self) -> Money:
        """Rounded to the currency's scale, half up (for a ledger or invoice line)."""
        return Money(to_ledger(self.amount, self.currency), self.currency)

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"


def total(amounts: list[Money], currency: str) -> Money:
    """Sum of amounts that must all be in ``currency``."""
    result = Money(ZERO, currency)
    for m in amounts:
        result = result + m
    return result
