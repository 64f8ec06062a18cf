"""The provisioning package's error tree; translated at the API and control-socket edges."""

from __future__ import annotations


class ProvisioningError(Exception):
    """Root of provisioning's errors."""

    status = 400


class NotFound(ProvisioningError):
    """No such object, or not visible to the caller (another realm's objects look absent)."""

    status = 404


class Conflict(ProvisioningError):
    """The change clashes with what exists (a username taken, a realm name used)."""

    status = 409


class Invalid(ProvisioningError):
    """A value breaks a rule; ``field`` names it (dotted path) so the API can answer 422."""

    status = 422

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class Forbidden(ProvisioningError):
    """The caller may not do this at all (e.g. a realm token creating realms)."""

    status = 403


class DatabaseTooNew(ProvisioningError):
    """The database is at a revision this Jet does not know: a newer Jet migrated it."""

    status = 500
