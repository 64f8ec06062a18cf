"""PAP, CHAP and MS-CHAPv2 against the RFC test vectors."""

from __future__ import annotations

from protocols.radius import auth, mschap
from protocols.radius.attributes import decrypt_salted
from protocols.radius.packet import MS_CHAP2_SUCCESS, MS_MPPE_RECV_KEY, MS_MPPE_SEND_KEY

# RFC 2759 §9.2 "Sample MS-CHAPv2 Data"
USER = b"User"
PASSWORD = "clientPass"
AUTH_CHALLENGE = bytes.fromhex("5B5D7C7D7B3F2F3E3C2C602132262628")
PEER_CHALLENGE = bytes.fromhex("21402324255E262A28295F2B3A337C7E")
CHALLENGE = bytes.fromhex("D02E4386BCE91226")
PASSWORD_HASH = bytes.fromhex("44EBBA8D5312B8D611474411F56989AE")
NT_RESPONSE = bytes.fromhex("82309ECD8D708B5EA08FAA3981CD83544233114A3D85D6DF")
AUTHENTICATOR_RESPONSE = b"S=407A5589115FD0D6209F510FE9C04566932CDA56"
# RFC 3079 §3.5.3 "Sample Key Derivations for 128-bit Key" (same exchange)
MASTER_KEY = bytes.fromhex("FDECE3717A8C838CB388E527AE3CDD31")
SEND_START_KEY_128 = bytes.fromhex("8B7CDC149B993A1BA118CB153F56DCCB")


def test_rfc2759_vectors() -> None:
    assert mschap.nt_password_hash(PASSWORD) == PASSWORD_HASH
    assert mschap.challenge_hash(PEER_CHALLENGE, AUTH_CHALLENGE, USER) == CHALLENGE
    assert mschap.generate_nt_response(AUTH_CHALLENGE, PEER_CHALLENGE, USER, PASSWORD_HASH) == NT_RESPONSE
    assert mschap.authenticator_response(PASSWORD_HASH, NT_RESPONSE, PEER_CHALLENGE, AUTH_CHALLENGE,
                                         USER) == AUTHENTICATOR_RESPONSE


def test_rfc3079_keys() -> None:
    master = mschap.master_key(PASSWORD_HASH, NT_RESPONSE)
    assert master == MASTER_KEY
    assert mschap.asymmetric_start_key(master, 16, is_send=True, is_server=True) == SEND_START_KEY_128
    # the client's send key is the server's receive key and vice versa
    assert mschap.asymmetric_start_key(master, 16, is_send=False, is_server=False) == SEND_START_KEY_128
    assert mschap.asymmetric_start_key(master, 16, is_send=True, is_server=False) == \
        mschap.asymmetric_start_key(master, 16, is_send=False, is_server=True)


def ms_chap2_response(ident: int = 7) -> bytes:
    # RFC 2548 §2.3.2: Ident, Flags, Peer-Challenge (16), Reserved (8), Response (24)
    return bytes((ident, 0)) + PEER_CHALLENGE + bytes(8) + NT_RESPONSE


def test_verify_mschap2_builds_success_and_mppe_keys() -> None:
    result = mschap.verify_mschap2(USER, AUTH_CHALLENGE, ms_chap2_response(), PASSWORD_HASH)
    assert result is not None
    assert result.success == b"\x07" + AUTHENTICATOR_RESPONSE
    assert result.send_key == SEND_START_KEY_128
    secret, request_auth = b"s3cret", bytes(range(16))
    attrs = dict(result.reply_attributes(secret, request_auth, (b"\x80\x01", b"\x80\x02")))
    assert attrs[MS_CHAP2_SUCCESS] == result.success
    assert decrypt_salted(attrs[MS_MPPE_SEND_KEY], secret, request_auth) == result.send_key
    assert decrypt_salted(attrs[MS_MPPE_RECV_KEY], secret, request_auth) == result.recv_key
    assert len(attrs[MS_MPPE_SEND_KEY]) == 34  # salt + (1 + 16 + 15 padding)


def test_verify_mschap2_rejects() -> None:
    wrong = mschap.nt_password_hash("clientPasS")
    assert mschap.verify_mschap2(USER, AUTH_CHALLENGE, ms_chap2_response(), wrong) is None
    assert mschap.verify_mschap2(b"user", AUTH_CHALLENGE, ms_chap2_response(), PASSWORD_HASH) is None
    assert mschap.verify_mschap2(USER, AUTH_CHALLENGE, ms_chap2_response()[:49], PASSWORD_HASH) is None
    assert mschap.verify_mschap2(USER, AUTH_CHALLENGE[:15], ms_chap2_response(), PASSWORD_HASH) is None


def test_pap_hash_formats() -> None:
    salt = bytes(16)
    scrypt = auth.hash_password_scrypt(b"hunter2", salt, n=2**10)
    assert scrypt.startswith("scrypt$1024$8$1$")
    assert auth.verify_pap(b"hunter2", scrypt)
    assert not auth.verify_pap(b"hunter3", scrypt)
    pbkdf2 = auth.hash_password_pbkdf2(b"hunter2", salt, iterations=1000)
    assert auth.verify_pap(b"hunter2", pbkdf2)
    assert not auth.verify_pap(b"Hunter2", pbkdf2)
    assert auth.verify_pap(b"plain", "cleartext$plain")
    assert not auth.verify_pap(b"plain", "cleartext$other")
    for broken in ("", "md5$abc", "scrypt$x$8$1$AA$AA", "scrypt$1024$8$1$!!$AA", "pbkdf2-sha256$1000$AA",
                   "scrypt$4194304$8$1$AA$AA"):
        assert not auth.verify_pap(b"hunter2", broken)


def test_pap_reads_provisioning_format() -> None:
    # provisioning.credentials writes scrypt$N$r$p$salt$hash with unpadded base64
    stored = "scrypt$1024$8$1$AAAAAAAAAAAAAAAAAAAAAA$" + auth.hash_password_scrypt(
        b"pw", bytes(16), n=1024).rsplit("$", 1)[1]
    assert auth.verify_pap(b"pw", stored)


def test_chap() -> None:
    challenge = bytes(range(16))
    value = bytes((9,)) + auth.chap_response(9, b"secret", challenge)
    assert auth.verify_chap(value, challenge, b"secret")
    assert not auth.verify_chap(value, challenge, b"Secret")
    assert not auth.verify_chap(value[:16], challenge, b"secret")
    assert auth.chap_challenge(None, challenge) == challenge
    assert auth.chap_challenge(b"abc", challenge) == b"abc"


def test_mschap_helpers() -> None:
    from protocols.radius.attributes import make_salt
    assert mschap.peer_user_name(b"CORP\\User") == b"User" and mschap.peer_user_name(b"User") == b"User"
    key, value = mschap.failure_attribute(7, bytes(16))
    assert key == (311, 2) and value[0] == 7 and value[1:].startswith(b"E=691 R=0 C=0000")
    assert make_salt(b"\x01\x02") == b"\x81\x02"
