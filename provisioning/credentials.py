"""What PAP, CHAP and MS-CHAPv2 need to check a password, and no more.

- PAP: a salted scrypt hash in a self-describing string ``scrypt$N$r$p$salt$hash``
  (salt and hash in unpadded base64), so the cost can be raised later without
  breaking old hashes.
- MS-CHAPv2 (RFC 2759 §8.3 NtPasswordHash): MD4 over the UTF-16LE password, kept as hex;
  only where the realm allows MS-CHAP. It is password-equivalent for MS-CHAP, which is
  why a realm can switch it off.
- CHAP (RFC 1994) needs the cleartext; it is kept only where the realm allows CHAP.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from dataclasses import dataclass

from Crypto.Hash import MD4

SCRYPT_N = 2**14
SCRYPT_R = 8
SCRYPT_P = 1
SALT_BYTES = 16
HASH_BYTES = 32
MAX_PASSWORD = 253  # RFC 2865 §5.2: User-Password is at most 128 octets; CHAP secrets longer are rare


@dataclass(frozen=True, slots=True)
class Credentials:
    """The stored forms of one password."""

    password_hash: str | None
    nt_hash: str | None
    cleartext: str | None


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4))


def hash_password(password: str, *, salt: bytes | None = None, n: int = SCRYPT_N, r: int = SCRYPT_R,
                  p: int = SCRYPT_P) -> str:
    """The PAP hash: ``scrypt$N$r$p$salt$hash``."""
    salt = os.urandom(SALT_BYTES) if salt is None else salt
    digest = hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, maxmem=128 * n * r * p + 2**20,
                            dklen=HASH_BYTES)
    return f"scrypt${n}${r}${p}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    """Check a PAP password against a stored ``scrypt$…`` string (constant-time compare)."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        want = _unb64(digest)
        got = hashlib.scrypt(password.encode(), salt=_unb64(salt), n=int(n), r=int(r), p=int(p),
                             maxmem=128 * int(n) * int(r) * int(p) + 2**20, dklen=len(want))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, want)


def nt_hash(password: str) -> str:
    """RFC 2759 §8.3 NtPasswordHash: MD4(UTF-16LE(password)), as lowercase hex."""
    return MD4.new(password.encode("utf-16-le")).hexdigest()


def verify_nt(password: str, stored_hex: str) -> bool:
    return hmac.compare_digest(nt_hash(password), stored_hex.lower())


def make_credentials(password: str, *, allow_chap: bool, allow_mschap: bool,
                     pap_hash: bool = True) -> Credentials:
    """Everything stored for a password, given what the realm allows."""
    return Credentials(
        password_hash=hash_password(password) if pap_hash else None,
        nt_hash=nt_hash(password) if allow_mschap else None,
        cleartext=password if allow_chap else None,
    )


def check_password(password: str) -> str | None:
    """Why a new password is refused, or None."""
    if not password:
        return "must not be empty"
    if len(password.encode()) > MAX_PASSWORD:
        return f"must be at most {MAX_PASSWORD} bytes"
    if any(ord(c) < 32 for c in password):
        return "must not contain control characters"
    return None


def is_nt_hash(text: str) -> bool:
    return len(text) == 32 and all(c in "0123456789abcdefABCDEF" for c in text)
