"""The one error tree of the Diameter stack.

Every protocol error carries the Result-Code to answer with as a class attribute
(h2 style) and, where RFC 6733 §7.5 asks for one, the Failed-AVP to report (the AVP that made
the request fail, or for a missing AVP a zero-filled example of it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from .constants import ResultCode

if TYPE_CHECKING:
    from .avp import Avp
    from .message import Header


class DiameterError(Exception):
    """Root of every error this package raises."""


class ProtocolError(DiameterError):
    """A request that must be answered with `result_code` (and Failed-AVP if known)."""

    result_code: ClassVar[ResultCode] = ResultCode.DIAMETER_UNABLE_TO_COMPLY

    def __init__(self, reason: str, *, failed_avp: Avp | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.failed_avp = failed_avp

    @property
    def error_bit(self) -> bool:
        # RFC 6733 §7.1.3 Protocol Errors (3xxx) are answered with the 'E' bit set; other failures are
        # ordinary answers carrying the Result-Code.
        return 3000 <= int(self.result_code) < 4000


class DecodeError(ProtocolError):
    """Bytes that are not a valid Diameter message. The codec raises nothing else.

    `header` is set when the 20-byte header was readable, so an error answer can be sent.
    """

    result_code = ResultCode.DIAMETER_UNABLE_TO_COMPLY

    def __init__(self, reason: str, *, failed_avp: Avp | None = None, header: Header | None = None) -> None:
        super().__init__(reason, failed_avp=failed_avp)
        self.header = header


class UnsupportedVersion(DecodeError):
    result_code = ResultCode.DIAMETER_UNSUPPORTED_VERSION


class InvalidHeaderBits(DecodeError):
    result_code = ResultCode.DIAMETER_INVALID_HDR_BITS


class InvalidMessageLength(DecodeError):
    result_code = ResultCode.DIAMETER_INVALID_MESSAGE_LENGTH


class InvalidAvpBits(DecodeError):
    result_code = ResultCode.DIAMETER_INVALID_AVP_BITS


class InvalidAvpLength(DecodeError):
    result_code = ResultCode.DIAMETER_INVALID_AVP_LENGTH


class InvalidAvpValue(DecodeError):
    result_code = ResultCode.DIAMETER_INVALID_AVP_VALUE


class AvpUnsupported(ProtocolError):
    result_code = ResultCode.DIAMETER_AVP_UNSUPPORTED


class MissingAvp(ProtocolError):
    result_code = ResultCode.DIAMETER_MISSING_AVP


class AvpOccursTooManyTimes(ProtocolError):
    result_code = ResultCode.DIAMETER_AVP_OCCURS_TOO_MANY_TIMES


class CommandUnsupported(ProtocolError):
    result_code = ResultCode.DIAMETER_COMMAND_UNSUPPORTED


class ApplicationUnsupported(ProtocolError):
    result_code = ResultCode.DIAMETER_APPLICATION_UNSUPPORTED


class UnknownPeer(ProtocolError):
    result_code = ResultCode.DIAMETER_UNKNOWN_PEER


class NoCommonApplication(ProtocolError):
    result_code = ResultCode.DIAMETER_NO_COMMON_APPLICATION


class UnableToComply(ProtocolError):
    result_code = ResultCode.DIAMETER_UNABLE_TO_COMPLY


class UnknownSessionId(ProtocolError):
    result_code = ResultCode.DIAMETER_UNKNOWN_SESSION_ID


class PeerStateError(DiameterError):
    """The local side asked for something the peer state machine cannot do now (e.g. send while closed)."""


class AnswerTimeout(DiameterError):
    """No answer arrived for a request we sent within its timeout."""
