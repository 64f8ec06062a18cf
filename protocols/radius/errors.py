"""One error tree for the RADIUS package.

Every error the codec, the dictionary loader or the clients raise is a ``RadiusError``.
``DecodeError.reason`` is machine-readable and is what the transport hands to
``on_drop(reason)``, so it doubles as the ``jet_radius_dropped_total{reason}`` label.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Final

# Drop reasons (label values). Keep them short, lowercase and stable.
MALFORMED: Final = "malformed"
BAD_AUTHENTICATOR: Final = "bad_authenticator"
BAD_MESSAGE_AUTHENTICATOR: Final = "bad_message_authenticator"
MISSING_MESSAGE_AUTHENTICATOR: Final = "missing_message_authenticator"
UNKNOWN_CLIENT: Final = "unknown_client"
UNSUPPORTED_CODE: Final = "unsupported_code"
DUPLICATE: Final = "duplicate"
OVERLOAD: Final = "overload"
HANDLER_ERROR: Final = "handler_error"
NO_REPLY: Final = "no_reply"
SHUTDOWN: Final = "shutdown"

DROP_REASONS: Final = (
    MALFORMED, BAD_AUTHENTICATOR, BAD_MESSAGE_AUTHENTICATOR, MISSING_MESSAGE_AUTHENTICATOR,
    UNKNOWN_CLIENT, UNSUPPORTED_CODE, DUPLICATE, OVERLOAD, HANDLER_ERROR, NO_REPLY, SHUTDOWN,
)


class ErrorCause(IntEnum):
    """RFC 5176 §3.5 Error-Cause values (IANA "RADIUS Attribute Values", attribute 101)."""

    RESIDUAL_SESSION_CONTEXT_REMOVED = 201
    INVALID_EAP_PACKET = 202
    UNSUPPORTED_ATTRIBUTE = 401
    MISSING_ATTRIBUTE = 402
    NAS_IDENTIFICATION_MISMATCH = 403
    INVALID_REQUEST = 404
    UNSUPPORTED_SERVICE = 405
    UNSUPPORTED_EXTENSION = 406
    INVALID_ATTRIBUTE_VALUE = 407
    ADMINISTRATIVELY_PROHIBITED = 501
    REQUEST_NOT_ROUTABLE = 502
    SESSION_CONTEXT_NOT_FOUND = 503
    SESSION_CONTEXT_NOT_REMOVABLE = 504
    OTHER_PROXY_PROCESSING_ERROR = 505
    RESOURCES_UNAVAILABLE = 506
    REQUEST_INITIATED = 507
    MULTIPLE_SESSION_SELECTION_UNSUPPORTED = 508
    LOCATION_INFO_REQUIRED = 509  # RFC 5580
    RESPONSE_TOO_BIG = 601  # RFC 7930


class RadiusError(Exception):
    """Base of everything this package raises on purpose."""


class DecodeError(RadiusError):
    """A datagram that must be silently discarded; ``reason`` labels the drop counter."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


class EncodeError(RadiusError):
    """A value or packet that cannot be put on the wire (too long, wrong type…)."""


class DictionaryError(RadiusError):
    """A bad dictionary file: names the file and the line."""

    def __init__(self, message: str, path: str = "", line: int = 0) -> None:
        where = f"{path}:{line}: " if path else ""
        super().__init__(f"{where}{message}")
        self.path = path
        self.line = line
        self.message = message


class ClientError(RadiusError):
    """The client side (CoA/Disconnect, proxy) could not get an answer."""


class UpstreamTimeout(ClientError):
    """No valid answer from any server within the retries."""
