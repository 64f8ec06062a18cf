"""Diameter stack for Gy/Ro credit control: sans-IO codec, dictionary, peer state machine, TCP transport.

Imports nothing of Jet's. The daemon wires `DiameterServer` to a credit-control handler.
"""

from .avp import Avp, AvpType
from .base import LocalNode
from .codec import decode_message, encode_message
from .constants import (
    VENDOR_3GPP,
    ApplicationId,
    AvpCode,
    CcRequestType,
    CommandCode,
    DisconnectCause,
    FinalUnitAction,
    RedirectAddressType,
    RequestedAction,
    ResultCode,
    SubscriptionIdType,
    TgppAvpCode,
)
from .credit_control import (
    CreditControlRequest,
    FinalUnit,
    ServiceGrant,
    ServiceRequest,
    ServiceUnits,
    UsedUnits,
    build_asr,
    build_cca,
    build_ccr,
    build_rar,
    check_balance_result,
    cost_information,
    read_ccr,
)
from .dedup import DuplicateCache
from .dictionary import make_avp
from .errors import AnswerTimeout, DecodeError, DiameterError, PeerStateError, ProtocolError
from .message import Message
from .peer import PeerConfig, PeerConnection, PeerInfo
from .states import PeerState, Role
from .transport import DiameterClient, DiameterServer, Handler

__all__ = [
    "VENDOR_3GPP",
    "AnswerTimeout",
    "ApplicationId",
    "Avp",
    "AvpCode",
    "AvpType",
    "CcRequestType",
    "CommandCode",
    "CreditControlRequest",
    "DecodeError",
    "DiameterClient",
    "DiameterError",
    "DiameterServer",
    "DisconnectCause",
    "DuplicateCache",
    "FinalUnit",
    "FinalUnitAction",
    "Handler",
    "LocalNode",
    "Message",
    "PeerConfig",
    "PeerConnection",
    "PeerInfo",
    "PeerState",
    "PeerStateError",
    "ProtocolError",
    "RedirectAddressType",
    "RequestedAction",
    "ResultCode",
    "Role",
    "ServiceGrant",
    "ServiceRequest",
    "ServiceUnits",
    "SubscriptionIdType",
    "TgppAvpCode",
    "UsedUnits",
    "build_asr",
    "build_cca",
    "build_ccr",
    "build_rar",
    "check_balance_result",
    "cost_information",
    "decode_message",
    "encode_message",
    "make_avp",
    "read_ccr",
]
