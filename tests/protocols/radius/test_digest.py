"""The hot path's MD5 and HMAC-MD5 against RFC 2104's vectors and the standard library."""

from __future__ import annotations

import hashlib
import hmac

from hypothesis import given, settings
from hypothesis import strategies as st

from protocols.radius.digest import hmac_md5, md5


def test_rfc2104_vectors() -> None:
    # RFC 2104, Appendix (sample code's test vectors); the third is RFC 2202 §2's case 6,
    # a key longer than the block (hashed first).
    assert hmac_md5(b"\x0b" * 16, b"Hi There").hex() == "9294727a3638bb1c13f48ef8158bfc9d"
    assert hmac_md5(b"Jefe", b"what do ya want for nothing?").hex() == "750c783e6ab0b503eaa86e310a5db738"
    assert hmac_md5(b"\xaa" * 80, b"Test Using Larger Than Block-Size Key - Hash Key First").hex() \
        == "6b1ab7fe4bd7bf8f0b62e6ce61b9d0cd"


@settings(deadline=None)  # no wall-time assertions: CI machines are shared
@given(st.binary(max_size=200), st.binary(max_size=4200))
def test_hmac_md5_is_the_standard_librarys(key: bytes, msg: bytes) -> None:
    assert hmac_md5(key, msg) == hmac.digest(key, msg, "md5")
    assert hmac_md5(key, msg) == hmac_md5(key, msg)  # the cached key states are copied, never consumed
    assert md5(msg).digest() == hashlib.md5(msg).digest()
