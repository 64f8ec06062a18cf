"""Smoke test of the RADIUS load generator (bench/radius) against a real FreeRADIUS.

The generator's own encoder must produce Access-Requests that FreeRADIUS accepts and
Accounting-Requests it answers, with answers whose authenticators verify.
"""

from __future__ import annotations

import shutil

import pytest

from bench.radius import freeradius, loadgen

pytestmark = pytest.mark.skipif(shutil.which("freeradius") is None,
                                reason="FreeRADIUS (Debian package freeradius) is not installed")


@pytest.fixture(scope="module")
def server():
    with freeradius.FreeRadius(users=200) as fr:
        yield fr


def test_encoder_is_accepted_and_rejects_a_wrong_password(server: freeradius.FreeRadius) -> None:
    assert loadgen.probe("127.0.0.1", server.auth_port, server.secret, "auth", 2.0,
                         name="user00199") == loadgen.ACCESS_ACCEPT
    # FreeRADIUS delays rejects by reject_delay (1 s in the stock config)
    assert loadgen.probe("127.0.0.1", server.auth_port, server.secret, "auth", 3.0,
                         name="user00007", password="not-it") == loadgen.ACCESS_REJECT
    assert loadgen.probe("127.0.0.1", server.acct_port, server.secret, "acct", 2.0) == \
        loadgen.ACCOUNTING_RESPONSE


@pytest.mark.parametrize("kind", ["auth", "acct"])
def test_short_load_gets_answers(server: freeradius.FreeRadius, kind: str) -> None:
    port = server.auth_port if kind == "auth" else server.acct_port
    result = loadgen.run_load(loadgen.LoadConfig(
        kind=kind, port=port, secret=server.secret, duration=0.5, warmup=0.2, sockets=2, inflight=8,
        users=200, sessions=400, accounts=100))
    # How many come back in 0.5 s depends on the machine (tests never assert on speed);
    # that they come back, verified and of the right kind, does not.
    assert result["answered"] > 0, result
    assert result["verify_failed"] == 0, result
    if kind == "auth":
        assert result["accepts"] == result["answered"] and result["rejects"] == 0, result
    else:
        assert result["acct_responses"] == result["answered"], result
    # a busy machine may disturb the figures or lose a request; nothing else is acceptable
    assert all("disturbed" in p or "lost" in p for p in result["problems"]), result
