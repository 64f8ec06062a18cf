"""Authentication methods against an account record, as NAS requests carry them."""

from __future__ import annotations

import os
from datetime import date

from jetd.radius.authn import VerifiedPasswords, authenticate, check_pap
from protocols.radius.attributes import hide_password
from protocols.radius.mschap import generate_nt_response, nt_password_hash
from protocols.radius.packet import MS_CHAP2_RESPONSE, MS_CHAP2_SUCCESS, MS_CHAP_CHALLENGE, Attr, Code, Packet
from provisioning.cache import AuthAccount

SECRET = b"nas-secret"


def _account(**credentials: object) -> AuthAccount:
    fields: dict[str, object] = {"password_hash": None, "nt_hash": None, "cleartext": None, **credentials}
    return AuthAccount(id=7, realm="visp.example", username="alice", status="active", simultaneous_use=None,
                       static_ip=None, pool=None, reply=(), plans=((date(2026, 1, 1), None, "Home 100"),),
                       **fields)  # type: ignore[arg-type]


def _request(*attributes: tuple[object, bytes], authenticator: bytes | None = None) -> Packet:
    return Packet(Code.ACCESS_REQUEST, 1, authenticator or os.urandom(16), tuple(attributes))  # type: ignore[arg-type]


async def test_mschapv2_uses_the_name_the_peer_presented_with_its_realm() -> None:
    challenge, peer_challenge = os.urandom(16), os.urandom(16)
    presented = b"alice@visp.example"  # the peer hashes the name it typed
    nt_response = generate_nt_response(challenge, peer_challenge, presented, nt_password_hash("pw"))
    response = bytes((1, 0)) + peer_challenge + bytes(8) + nt_response
    request = _request((int(Attr.USER_NAME), presented), (MS_CHAP_CHALLENGE, challenge),
                       (MS_CHAP2_RESPONSE, response))
    verdict = await authenticate(request, SECRET, "alice", _account(nt_hash=nt_password_hash("pw")),
                                 VerifiedPasswords(), allow_chap=False)
    assert verdict.ok and verdict.method == "mschapv2"
    assert dict(verdict.attributes)[MS_CHAP2_SUCCESS].startswith(b"\x01S=")


async def test_a_malformed_user_password_is_a_reject_not_a_crash() -> None:
    request = _request((int(Attr.USER_NAME), b"alice"), (int(Attr.USER_PASSWORD), b"\x00" * 15))
    verdict = await authenticate(request, SECRET, "alice", _account(cleartext="pw"), VerifiedPasswords(),
                                 allow_chap=True)
    assert (verdict.ok, verdict.reason) == (False, "bad_password")


async def test_strong_hash_is_checked_once_then_remembered() -> None:
    from protocols.radius.auth import hash_password_scrypt

    account = _account(password_hash=hash_password_scrypt(b"pw", os.urandom(16), n=2**10))
    memo = VerifiedPasswords()
    authenticator = os.urandom(16)
    request = _request((int(Attr.USER_NAME), b"alice"),
                       (int(Attr.USER_PASSWORD), hide_password(b"pw", SECRET, authenticator)),
                       authenticator=authenticator)
    assert (await authenticate(request, SECRET, "alice", account, memo, allow_chap=False)).ok
    assert memo.known(7, account.password_hash or "", b"pw")
    assert not memo.known(7, account.password_hash or "", b"other")


async def test_pap_against_the_nt_hash_remembers_only_the_right_password() -> None:
    memo = VerifiedPasswords()
    account = _account(nt_hash=nt_password_hash("pw"))
    assert await check_pap(account, b"pw", memo)
    assert not await check_pap(account, b"wrong", memo)
    assert await check_pap(account, b"pw", memo)  # from the memo
    changed = _account(nt_hash=nt_password_hash("new-pw"))  # the password was changed
    assert not await check_pap(changed, b"pw", memo)
    assert await check_pap(changed, b"new-pw", memo)
