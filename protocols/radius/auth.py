"""PAP and CHAP as pure functions (MS-CHAPv2 lives in ``mschap``).

Stored-password formats are self-describing strings:

- ``scrypt$N$r$p$salt$hash`` -- the same format ``provisioning.credentials`` writes
  (salt and hash unpadded base64);
- ``pbkdf2-sha256$iterations$salt$hash`` -- for stores that must avoid scrypt's memory;
- ``cleartext$password`` -- only where CHAP forces it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Final

from protocols.radius.digest import md5

SCRYPT_N: Final = 2**14
SCRYPT_R: Final = 8
SCRYPT_P: Final = 1
PBKDF2_ITERATIONS: Final = 200_000


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)


def hash_password_scrypt(password: bytes, salt: bytes, *, n: int = SCRYPT_N, r: int = SCRYPT_R,
                         p: int = SCRYPT_P) -> str:
    """``scrypt$N$r$p$salt$hash`` for ``password``; the caller draws ``salt`` (16 octets)."""
    digest = hashlib.scrypt(password, salt=salt, n=n, r=r, p=p, maxmem=128 * n * r * p + 2**20, dklen=32)
    return f"scrypt${n}${r}${p}${_b64(salt)}${_b64(digest)}"


def hash_password_pbkdf2(password: bytes, salt: bytes, *, iterations: int = PBKDF2_ITERATIONS) -> str:
    digest = hashlib.pbkdf2_hmac("sha256", password, salt, iterations)
    return f"pbkdf2-sha256${iterations}${_b64(salt)}${_b64(digest)}"


def verify_pap(password: bytes, stored: str) -> bool:
    """RFC 2865 §2.1 PAP: check the unhidden User-Password against a stored form.

    Unknown or damaged formats never verify. Comparisons are constant-time.
    """
    scheme, _, rest = stored.partition("$")
    try:
        if scheme == "scrypt":
            n, r, p, salt, digest = rest.split("$")
            want = _unb64(digest)
            ni, ri, pi = int(n), int(r), int(p)
            if ni > 2**20 or ri > 64 or pi > 16:
                return False
            got = hashlib.scrypt(password, salt=_unb64(salt), n=ni, r=ri, p=pi,
                                 maxmem=128 * ni * ri * pi + 2**20, dklen=len(want))
        elif scheme == "pbkdf2-sha256":
            iterations, salt, digest = rest.split("$")
            want = _unb64(digest)
            got = hashlib.pbkdf2_hmac("sha256", password, _unb64(salt), int(iterations), len(want))
        elif scheme == "cleartext":
            return hmac.compare_digest(password, rest.encode())
        else:
            return False
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, want)


def verify_cleartext(password: bytes, cleartext: bytes) -> bool:
    return hmac.compare_digest(password, cleartext)


def chap_response(chap_id: int, password: bytes, challenge: bytes) -> bytes:
    """RFC 1994 §4.1: "the Response Value is the one-way hash calculated over a stream
    of octets consisting of the Identifier, followed by (concatenated with) the
    "secret", followed by (concatenated with) the Challenge Value" (MD5)."""
    return md5(bytes((chap_id,)) + password + challenge).digest()


def verify_chap(chap_password: bytes, challenge: bytes, cleartext: bytes) -> bool:
    """RFC 2865 §5.3 CHAP-Password (CHAP Ident (1) + String (16)) against the cleartext.

    ``challenge`` is the CHAP-Challenge attribute if present, else the Request
    Authenticator (RFC 2865 §2.2: "If the CHAP challenge value is 16 octets long it MAY
    be placed in the Request Authenticator field instead of using this attribute.")
    """
    if len(chap_password) != 17:
        return False
    return hmac.compare_digest(chap_response(chap_password[0], cleartext, challenge), chap_password[1:])


def chap_challenge(chap_challenge_attr: bytes | None, request_authenticator: bytes) -> bytes:
    """The challenge to use for CHAP, per RFC 2865 §2.2 (see ``verify_chap``)."""
    return chap_challenge_attr if chap_challenge_attr else request_authenticator
