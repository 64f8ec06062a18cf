"""Faults a NAS operator meets: Redis down, a NAS reboot, a lost session, a jetd restart."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.acceptance.harness import Jetd, base_config, wait_for
from tests.acceptance.radclient import radclient
from tests.servers import free_port, wait_for_port

# Each test starts jetd processes: generous on a loaded CI machine (no timing is asserted).
pytestmark = pytest.mark.timeout(600)

PRICEBOOK = Path(__file__).parents[2] / "config" / "pricebook.example.toml"
SECRET = "faults-secret"
GB = 1_000_000_000


class RedisOnPort:
    """A redis-server that can be stopped and started again on the same port, keeping its
    data in an append-only file as a production Redis would."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "yes", "--appendfsync", "always", "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port("127.0.0.1", self.port)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
            self.proc = None


@pytest.fixture
def redis(tmp_path: Path) -> Iterator[RedisOnPort]:
    server = RedisOnPort(tmp_path)
    server.start()
    yield server
    server.stop()


def _start(tmp: Path, redis_url: str, **options: Any) -> Jetd:
    config = tmp / "jet.toml"
    config.write_text(base_config(
        tmp, redis_url, **options,
        catalog=f'[catalog]\nfiles = ["{PRICEBOOK}"]\n',
        clients=f'[[radius.clients]]\nname = "bras1"\naddress = "127.0.0.1"\nsecret = "{SECRET}"\n',
    ))
    daemon = Jetd(config)
    daemon.wait_ready()
    return daemon


def _provision(daemon: Jetd, user: str, plan: str = "Business Metered") -> None:
    daemon.ctl("account", "add", user, "--password", f"pw-{user}", "--plan", plan)
    daemon.ctl("account", "plan", user, plan, "--from", "2026-06-01")
    wait_for(lambda: _login(daemon, user) == "Access-Accept")




def _login(daemon: Jetd, user: str) -> str | None:
    server = daemon.listener("radius-auth").removeprefix("udp://")
    return radclient(server, "auth", SECRET, f'User-Name = "{user}", User-Password = "pw-{user}"\n').code


def _acct(daemon: Jetd, user: str, session: str, status: str, stamp: str | int, octets: int = 0
          ) -> str | None:
    when = f'"{stamp} UTC"' if isinstance(stamp, str) else str(stamp)
    pairs = (f'User-Name = "{user}", Acct-Session-Id = "{session}", Acct-Status-Type = {status}, '
             f'NAS-IP-Address = 127.0.0.1, Event-Timestamp = {when}, '
             f'Acct-Output-Octets = {octets & 0xFFFFFFFF}, Acct-Output-Gigawords = {octets >> 32}\n')
    return radclient(daemon.listener("radius-acct").removeprefix("udp://"), "acct", SECRET, pairs).code


def _quota(daemon: Jetd, user: str) -> dict[str, Any]:
    return dict(json.loads(daemon.ctl("account", "show", user, "--json").stdout)["quota"])


def test_redis_down_accounting_is_spooled_answered_and_replayed_once(
    tmp_path: Path, redis: RedisOnPort
) -> None:
    hooks = "[hooks]\npoll_interval = 0.2\nbackoff_initial = 0.5\nbackoff_max = 2\n"  # retried within seconds
    daemon = _start(tmp_path, redis.url, hooks=hooks)
    try:
        _provision(daemon, "dora")
        assert _acct(daemon, "dora", "r1", "Start", "Jun 2 2026 10:00:00") == "Accounting-Response"
        assert _acct(daemon, "dora", "r1", "Interim-Update", "Jun 2 2026 10:05:00", 1 * GB) \
            == "Accounting-Response"
        redis.stop()
        # Redis is down: the NAS is still answered, from the spool (RFC 2866: durable first).
        assert _acct(daemon, "dora", "r1", "Interim-Update", "Jun 2 2026 10:10:00", 3 * GB) \
            == "Accounting-Response"
        assert _acct(daemon, "dora", "r1", "Interim-Update", "Jun 2 2026 10:10:00", 3 * GB) \
            == "Accounting-Response"  # a retransmission, spooled too
        assert _acct(daemon, "dora", "r1", "Stop", "Jun 2 2026 10:15:00", 4 * GB) == "Accounting-Response"
        # Authentication follows radius.redis_down = "accept" (fail open, the plan's normal reply).
        assert _login(daemon, "dora") == "Access-Accept"
        # What reads the real-time figures says Redis is away, with no error of its own.
        shown = daemon.ctl("account", "show", "dora").stdout
        assert "real time   not available: Redis is unreachable" in shown
        account_id = json.loads(daemon.ctl("account", "show", "dora", "--json").stdout)["id"]
        token = json.loads(daemon.ctl("token", "create", "--operator", "--json").stdout)["token"]
        api = daemon.listener("api").rstrip("/")
        request = urllib.request.Request(f"{api}/v1/accounts/{account_id}/quota",
                                         headers={"Authorization": f"Bearer {token}"})
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=10)
        assert refused.value.code == 503
        assert json.loads(refused.value.read())["error"]["code"] == "unavailable"
        # A top-up now reaches the ledger; the built-in credit_topup retries it into Redis.
        topup = json.loads(daemon.ctl("topup", "dora", "5.00", "--json").stdout)["quota"]
        assert topup["applied"] is False and topup["reason"].startswith("Redis is unreachable")

        def credit_waiting() -> bool:  # the built-in tried, failed, and will try again
            items = json.loads(daemon.ctl("hooks", "deliveries", "--hook", "builtin.credit_topup",
                                          "--json").stdout)["items"]
            return any(d["status"] == "pending" and "Redis is unreachable" in (d["last_error"] or "")
                       for d in items)

        wait_for(credit_waiting, timeout=60)
        _, metrics = daemon.http_get(daemon.listener("metrics"))
        assert "jet_quota_spooled_records_total 3.0" in metrics
        assert "jet_quota_redis_up 0.0" in metrics
        assert (tmp_path / "spool" / "acct-0.spool").stat().st_size > 0
        # Redis comes back with its data; the spool is replayed in order, each record once.
        redis.start()
        wait_for(lambda: "jet_quota_replayed_records_total 3.0" in daemon.http_get(
            daemon.listener("metrics"))[1])
        quota = _quota(daemon, "dora")
        assert quota["counters"]["data"] == str(4 * GB)
        assert quota["charges"] == "8.000000"  # 4 GB at 2.00/GB: the retransmission charged nothing
        assert quota["open_sessions"] == 0
        wait_for(lambda: _quota(daemon, "dora")["balance"] == "5.000000", timeout=60)
    finally:
        daemon.stop()


def test_reaper_closes_a_session_that_stopped_sending_interims(tmp_path: Path, redis: RedisOnPort) -> None:
    daemon = _start(tmp_path, redis.url, reap_after_intervals=2, interim_interval=10)
    try:
        _provision(daemon, "lost", plan="Home 100")
        now = int(time.time())
        assert _acct(daemon, "lost", "gone-1", "Start", now) == "Accounting-Response"
        assert _acct(daemon, "lost", "gone-1", "Interim-Update", now + 1, 2 * GB) == "Accounting-Response"
        listed = json.loads(daemon.ctl("session", "list", "--json").stdout)["items"]
        if time.time() < now + 15:  # well inside its two interim intervals (a slow machine may be past)
            assert listed
        wait_for(lambda: not json.loads(daemon.ctl("session", "list", "--json").stdout)["items"],
                  timeout=90)
        quota = _quota(daemon, "lost")
        assert quota["counters"]["data"] == str(2 * GB)  # closed with its last counters
        _, metrics = daemon.http_get(daemon.listener("metrics"))
        assert "jet_quota_reaped_sessions_total 1.0" in metrics
    finally:
        daemon.stop()


def test_accounting_on_closes_every_session_of_that_nas(tmp_path: Path, redis: RedisOnPort) -> None:
    daemon = _start(tmp_path, redis.url)
    try:
        _provision(daemon, "erin")
        for sid in ("a", "b"):
            assert _acct(daemon, "erin", sid, "Start", "Jun 4 2026 10:00:00") == "Accounting-Response"
        answer = _acct(daemon, "erin", "a", "Interim-Update", "Jun 4 2026 10:05:00", GB)
        assert answer == "Accounting-Response"
        assert _quota(daemon, "erin")["open_sessions"] == 2
        pairs = 'Acct-Status-Type = Accounting-On, NAS-IP-Address = 127.0.0.1, Acct-Session-Id = "0"\n'
        server = daemon.listener("radius-acct").removeprefix("udp://")
        assert radclient(server, "acct", SECRET, pairs).code == "Accounting-Response"
        quota = _quota(daemon, "erin")
        assert quota["open_sessions"] == 0
        assert quota["counters"]["data"] == str(GB)
    finally:
        daemon.stop()


def test_jetd_restart_mid_session_charges_nothing_twice(tmp_path: Path, redis: RedisOnPort) -> None:
    daemon = _start(tmp_path, redis.url)
    try:
        _provision(daemon, "fred")
        assert _acct(daemon, "fred", "x", "Start", "Jun 5 2026 10:00:00") == "Accounting-Response"
        assert _acct(daemon, "fred", "x", "Interim-Update", "Jun 5 2026 10:05:00", 2 * GB) \
            == "Accounting-Response"
    finally:
        assert daemon.stop() == 0
    daemon = Jetd(daemon.config)
    try:
        daemon.wait_ready()
        wait_for(lambda: _login(daemon, "fred") == "Access-Accept")
        # The NAS retransmits the last interim it had no answer for, then carries on.
        assert _acct(daemon, "fred", "x", "Interim-Update", "Jun 5 2026 10:05:00", 2 * GB) \
            == "Accounting-Response"
        assert _acct(daemon, "fred", "x", "Stop", "Jun 5 2026 10:10:00", 5 * GB) == "Accounting-Response"
        quota = _quota(daemon, "fred")
        assert quota["counters"]["data"] == str(5 * GB)
        assert quota["charges"] == "10.000000"  # 5 GB in the first band at 2.00/GB
    finally:
        daemon.stop()
