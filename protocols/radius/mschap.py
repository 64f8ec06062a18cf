"""MS-CHAPv2 (RFC 2759) with the NT password hash only, and MPPE keys (RFC 3079).

pycryptodome provides MD4 and DES: hashlib has no MD4 under OpenSSL 3.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Final

from Crypto.Cipher import DES
from Crypto.Hash import MD4

from protocols.radius.attributes import encrypt_salted
from protocols.radius.errors import DecodeError
from protocols.radius.packet import (
    MS_CHAP2_SUCCESS,
    MS_CHAP_ERROR,
    MS_MPPE_RECV_KEY,
    MS_MPPE_SEND_KEY,
    Attribute,
)

# RFC 2759 §8.7 GenerateAuthenticatorResponse magic constants.
_MAGIC1: Final = b"Magic server to client signing constant"
_MAGIC2: Final = b"Pad to make it do more than one iteration"
# RFC 3079 §3.4 GetMasterKey / GetAsymmetricStartKey constants.
_MASTER_MAGIC: Final = b"This is the MPPE Master Key"
_KEY_MAGIC2: Final = (b"On the client side, this is the send key; on the server side, "
                      b"it is the receive key.")
_KEY_MAGIC3: Final = (b"On the client side, this is the receive key; on the server side, "
                      b"it is the send key.")
_SHS_PAD1: Final = bytes(40)
_SHS_PAD2: Final = b"\xf2" * 40


def nt_password_hash(password: str) -> bytes:
    """RFC 2759 §8.3 NtPasswordHash: MD4 of the UTF-16LE ("Unicode") password."""
    return MD4.new(password.encode("utf-16-le")).digest()


def _md4(data: bytes) -> bytes:
    return MD4.new(data).digest()


def challenge_hash(peer_challenge: bytes, authenticator_challenge: bytes, user_name: bytes) -> bytes:
    """RFC 2759 §8.2: SHA1(PeerChallenge + AuthenticatorChallenge + UserName)[:8].
    ("Only the user name (as presented by the peer and excluding any prepended domain
    name) is used as input to SHAUpdate().")"""
    return hashlib.sha1(peer_challenge + authenticator_challenge + user_name).digest()[:8]


def _des_key(key7: bytes) -> bytes:
    """RFC 2759 §8.6 DesEncrypt: 7 octets -> 8-octet DES key (parity bits ignored)."""
    bits = int.from_bytes(key7, "big")
    return bytes(((bits >> (56 - 7 * (i + 1))) & 0x7F) << 1 for i in range(8))


def challenge_response(challenge: bytes, password_hash: bytes) -> bytes:
    """RFC 2759 §8.5: the 16-octet hash zero-padded to 21, three DES encryptions."""
    z = password_hash + bytes(5)
    return b"".join(DES.new(_des_key(z[i:i + 7]), DES.MODE_ECB).encrypt(challenge) for i in (0, 7, 14))


def generate_nt_response(authenticator_challenge: bytes, peer_challenge: bytes, user_name: bytes,
                         password_hash: bytes) -> bytes:
    """RFC 2759 §8.1 GenerateNTResponse (what the peer sends; the server recomputes it)."""
    return challenge_response(challenge_hash(peer_challenge, authenticator_challenge, user_name),
                              password_hash)


def authenticator_response(password_hash: bytes, nt_response: bytes, peer_challenge: bytes,
                           authenticator_challenge: bytes, user_name: bytes) -> bytes:
    """RFC 2759 §8.7 GenerateAuthenticatorResponse: ``b"S="`` + 40 upper-case hex digits."""
    digest = hashlib.sha1(_md4(password_hash) + nt_response + _MAGIC1).digest()
    challenge = challenge_hash(peer_challenge, authenticator_challenge, user_name)
    digest = hashlib.sha1(digest + challenge + _MAGIC2).digest()
    return b"S=" + digest.hex().upper().encode()


def master_key(password_hash: bytes, nt_response: bytes) -> bytes:
    """RFC 3079 §3.4 GetMasterKey: SHA1(PasswordHashHash + NTResponse + Magic1)[:16]."""
    return hashlib.sha1(_md4(password_hash) + nt_response + _MASTER_MAGIC).digest()[:16]


def asymmetric_start_key(master: bytes, length: int, *, is_send: bool, is_server: bool) -> bytes:
    """RFC 3079 §3.4 GetAsymmetricStartKey."""
    magic = (_KEY_MAGIC3 if is_server else _KEY_MAGIC2) if is_send else (_KEY_MAGIC2 if is_server
                                                                         else _KEY_MAGIC3)
    return hashlib.sha1(master + _SHS_PAD1 + magic + _SHS_PAD2).digest()[:length]


@dataclass(frozen=True, slots=True)
class MsChap2Response:
    """RFC 2548 §2.3.2 MS-CHAP2-Response: Ident, Flags, Peer-Challenge, Reserved, Response."""

    ident: int
    peer_challenge: bytes
    nt_response: bytes

    @classmethod
    def decode(cls, raw: bytes) -> MsChap2Response:
        if len(raw) != 50:
            raise DecodeError("malformed", f"MS-CHAP2-Response of {len(raw)} octets")
        return cls(raw[0], raw[2:18], raw[26:50])


@dataclass(frozen=True, slots=True)
class MsChap2Result:
    """A verified MS-CHAPv2 exchange: what goes into the Access-Accept."""

    success: bytes  # MS-CHAP2-Success value: Ident + "S=<40 hex>"
    send_key: bytes  # MPPE keys, server side (RFC 3079 §3.4), 16 octets each
    recv_key: bytes

    def reply_attributes(self, secret: bytes, request_authenticator: bytes, salts: tuple[bytes, bytes]
                         ) -> list[Attribute]:
        """MS-CHAP2-Success and the salted MS-MPPE-Send/Recv-Key (RFC 2548 §2.4.2/§2.4.3).
        ``salts``: two distinct 2-octet salts with the high bit set, drawn by the caller."""
        return [
            (MS_CHAP2_SUCCESS, self.success),
            (MS_MPPE_SEND_KEY, encrypt_salted(self.send_key, secret, request_authenticator, salts[0])),
            (MS_MPPE_RECV_KEY, encrypt_salted(self.recv_key, secret, request_authenticator, salts[1])),
        ]


def peer_user_name(user_name: bytes) -> bytes:
    """The name that goes into ChallengeHash: RFC 2759 §8.2 "excluding any prepended
    domain name" (``DOMAIN\\user`` -> ``user``)."""
    return user_name.rsplit(b"\\", 1)[-1]


def failure_attribute(ident: int, next_challenge: bytes, *, error: int = 691,
                      message: str = "Authentication failure") -> Attribute:
    """MS-CHAP-Error for an Access-Reject (RFC 2548 §2.1.5, RFC 2759 §6 Failure Packet):
    ``E=691 R=0 C=<next challenge> V=3 M=<message>``; 691 = authentication failure,
    R=0: no retry. ``next_challenge``: 16 random octets drawn by the caller."""
    text = f"E={error} R=0 C={next_challenge.hex().upper()} V=3 M={message}"
    return MS_CHAP_ERROR, bytes((ident,)) + text.encode()


def verify_mschap2(user_name: bytes, ms_chap_challenge: bytes, ms_chap2_response: bytes,
                   password_hash: bytes) -> MsChap2Result | None:
    """Check an MS-CHAP2-Response against the stored NT hash. None if it does not match.

    ``user_name`` is the name the peer used, without any ``DOMAIN\\`` prefix (RFC 2759 §8.2).
    """
    if len(ms_chap_challenge) != 16 or len(password_hash) != 16:
        return None
    try:
        response = MsChap2Response.decode(ms_chap2_response)
    except DecodeError:
        return None
    expected = generate_nt_response(ms_chap_challenge, response.peer_challenge, user_name, password_hash)
    if not hmac.compare_digest(expected, response.nt_response):
        return None
    auth = authenticator_response(password_hash, response.nt_response, response.peer_challenge,
                                  ms_chap_challenge, user_name)
    master = master_key(password_hash, response.nt_response)
    return MsChap2Result(
        success=bytes((response.ident,)) + auth,
        send_key=asymmetric_start_key(master, 16, is_send=True, is_server=True),
        recv_key=asymmetric_start_key(master, 16, is_send=False, is_server=True),
    )
