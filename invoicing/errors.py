"""The invoicing package's one error tree.

Errors are raised by the pure core (model, totals, rendering) and translated at the
boundary (the worker, the API, jetctl); nothing here logs and swallows them.
"""

from __future__ import annotations


class InvoicingError(Exception):
    """Base of every error raised by `invoicing`."""


class InvoiceModelError(InvoicingError, ValueError):
    """An invoice, receipt or one of their parts was built with invalid data."""


class CurrencyError(InvoiceModelError):
    """Unknown currency code, or amounts in two currencies were mixed."""


class BrandingError(InvoicingError):
    """A realm's branding settings are unusable (bad colour, unreadable logo)."""


class LogoError(BrandingError):
    """The logo file is missing, unreadable or not a PNG/JPEG image."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"logo {path!r}: {reason}")
        self.path = path
        self.reason = reason


class RenderError(InvoicingError):
    """The PDF could not be produced."""


class TemplateError(InvoicingError, ValueError):
    """An e-mail template uses an unknown placeholder or has invalid syntax."""


class DeliveryError(InvoicingError):
    """Sending or writing out a document failed.

    `transient` says whether trying again later may succeed (server down, 4xx reply)
    or not (5xx reply, no recipient address).
    """

    transient: bool = True

    def __init__(self, reason: str, *, transient: bool | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        if transient is not None:
            self.transient = transient


class TransientDeliveryError(DeliveryError):
    transient = True


class PermanentDeliveryError(DeliveryError):
    transient = False
