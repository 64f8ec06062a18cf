"""Authentication as a NAS sees it, with FreeRADIUS's radclient."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.acceptance.harness import Jetd, base_config, wait_for
from tests.acceptance.radclient import radclient

# Each test starts jetd processes: generous on a loaded CI machine (no timing is asserted).
pytestmark = pytest.mark.timeout(600)

PRICEBOOK = Path(__file__).parents[2] / "config" / "pricebook.example.toml"
SECRET = "s3cret-for-tests"


@pytest.fixture(scope="module")
def jetd(tmp_path_factory: pytest.TempPathFactory, module_redis_url: str) -> Iterator[Jetd]:
    tmp = tmp_path_factory.mktemp("radius-auth")
    config = tmp / "jet.toml"
    config.write_text(base_config(
        tmp, module_redis_url,
        catalog=f'[catalog]\nfiles = ["{PRICEBOOK}"]\n',
        clients=f'[[radius.clients]]\nname = "nas1"\naddress = "127.0.0.1"\nsecret = "{SECRET}"\n'
                f'vendor = "mikrotik"\n',
    ))
    daemon = Jetd(config)
    daemon.wait_ready()
    daemon.ctl("account", "add", "alice", "--password", "wonderland", "--plan", "Home 100")
    daemon.ctl("account", "add", "bob", "--password", "builder", "--plan", "Fibre 300")
    daemon.ctl("account", "add", "carol", "--password", "singer", "--plan", "Home 100")
    daemon.ctl("account", "suspend", "carol")
    _wait_until_cached(daemon)
    yield daemon
    daemon.stop()


def _wait_until_cached(daemon: Jetd) -> None:
    """The account cache follows the outbox about once a second; carol's suspension is the
    last event the fixture writes, so once RADIUS says so, everything before it is known."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        answer = _auth(daemon, "carol", "singer")
        if answer.attributes.get("Reply-Message") == "Account suspended":
            return
        time.sleep(0.3)
    raise TimeoutError("accounts did not reach the RADIUS cache")


def _auth(daemon: Jetd, user: str, password: str, secret: str = SECRET, extra: str = "") -> object:
    pairs = f'User-Name = "{user}", User-Password = "{password}"{extra}\n'
    return radclient(daemon.listener("radius-auth").removeprefix("udp://"), "auth", secret, pairs)


def test_pap_accept_carries_the_plan_reply_and_class(jetd: Jetd) -> None:
    answer = _auth(jetd, "alice", "wonderland")
    assert answer.code == "Access-Accept", answer.output
    assert answer.attributes["Mikrotik-Rate-Limit"] == "100M/100M"
    assert answer.attributes["Acct-Interim-Interval"] == "300"
    assert "Class" in answer.attributes
    assert "Message-Authenticator" in answer.attributes  # BlastRADIUS: on every reply


def test_wrong_password_is_rejected_with_a_message(jetd: Jetd) -> None:
    answer = _auth(jetd, "alice", "rabbit-hole")
    assert answer.code == "Access-Reject"
    assert answer.attributes["Reply-Message"] == "Wrong user name or password"


def test_unknown_user_and_unknown_realm_are_rejected(jetd: Jetd) -> None:
    assert _auth(jetd, "mallory", "x").code == "Access-Reject"
    answer = _auth(jetd, "alice@nowhere.example", "wonderland")
    assert answer.code == "Access-Reject"
    assert answer.attributes["Reply-Message"] == "Unknown realm"


def test_realm_suffix_of_the_default_realm_is_accepted(jetd: Jetd) -> None:
    assert _auth(jetd, "alice@default", "wonderland").code == "Access-Accept"


def test_suspended_account_is_rejected_saying_why(jetd: Jetd) -> None:
    answer = _auth(jetd, "carol", "singer")
    assert answer.code == "Access-Reject"
    assert answer.attributes["Reply-Message"] == "Account suspended"


def test_wrong_secret_gets_no_answer(jetd: Jetd) -> None:
    """The password decrypts to garbage: a reject; but the reply is signed with our
    secret, so radclient (holding the wrong one) discards it as unauthenticated."""
    answer = _auth(jetd, "alice", "wonderland", secret="not-the-secret")
    assert answer.code is None


def _sample(daemon: Jetd, line_start: str) -> float:
    _, metrics = daemon.http_get(daemon.listener("metrics"))
    found = [line for line in metrics.splitlines() if line.startswith(line_start + " ")]
    return float(found[0].rpartition(" ")[2]) if found else 0.0


def test_drops_and_answers_are_counted(jetd: Jetd) -> None:
    accepted = 'jet_radius_requests_total{kind="auth",result="accept"}'
    timed = 'jet_radius_request_duration_seconds_count{kind="auth"}'
    before = _sample(jetd, accepted), _sample(jetd, timed)
    assert _auth(jetd, "alice", "wonderland").code == "Access-Accept"
    # counted in the process, in the metrics within radius.metrics.FLUSH_SECONDS
    wait_for(lambda: _sample(jetd, accepted) > before[0])
    assert (_sample(jetd, accepted), _sample(jetd, timed)) == (before[0] + 1, before[1] + 1)
    _, metrics = jetd.http_get(jetd.listener("metrics"))
    assert 'jet_radius_rejects_total{reason="bad_password"}' in metrics
    assert 'jet_radius_rejects_total{reason="suspended"}' in metrics
