"""The one error tree of the quota package.

The façade turns the Redis functions' status codes and error replies into these;
callers (the RADIUS/Diameter paths, jetctl, the API) translate them at their boundary.
"""

from __future__ import annotations


class QuotaError(Exception):
    """Base of every error raised by ``quota``."""


class QuotaUnavailable(QuotaError):
    """Redis could not be reached or did not answer; the record may go to the spool."""


class FunctionsMissing(QuotaUnavailable):
    """Redis answers but has no Jet function library (restarted empty, or a new replica):
    callers treat it as unavailable until the library is loaded again."""


class LibraryVersionError(QuotaError):
    """The Redis server holds a newer ``jet`` function library than this code ships."""

    def __init__(self, loaded: int, ours: int) -> None:
        super().__init__(
            f"Redis holds jet function library version {loaded}, newer than this jetd's {ours}; "
            "refusing to replace it (upgrade this jetd, or FUNCTION DELETE jet by hand)")
        self.loaded = loaded
        self.ours = ours


class AccountNotFound(QuotaError):
    """The account has no quota state in Redis (``put_account`` was never called)."""


class ConflictError(QuotaError):
    """The account or session moved under us more often than the retry budget allows."""


class PeriodBehind(QuotaError):
    """The account is still in an older period: run ``rollover`` first, then apply again."""

    def __init__(self, account: str, current: str, wanted: str) -> None:
        super().__init__(f"account {account} is in period {current!r}, record is for {wanted!r}")
        self.account = account
        self.current = current
        self.wanted = wanted


class InvalidValue(QuotaError, ValueError):
    """A value cannot be stored exactly (money finer than a micro-unit, counter past 2^53, bad id)."""


class DeltaMismatch(QuotaError):
    """Redis computed a different session delta than Python rated: a bug, never retried."""


class SpoolError(QuotaError):
    """The local spool file cannot be written (the NAS must not be answered)."""
