"""Accounting as a NAS sends it (radclient), charged in Redis, read back with jetctl.

Scenario S9 (Gigawords, a retransmitted interim) and S1 (fair-use throttle: one warning
at 80 %, exactly one CoA at the interim that crosses 100 GB, throttled re-auth).
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.acceptance.harness import Jetd, base_config, wait_for
from tests.acceptance.mail import Smtp
from tests.acceptance.nas import NasStandIn
from tests.acceptance.radclient import radclient
from tests.servers import redis_cluster

# Each test starts jetd processes: generous on a loaded CI machine (no timing is asserted).
pytestmark = pytest.mark.timeout(600)

PRICEBOOK = Path(__file__).parents[2] / "config" / "pricebook.example.toml"
SECRET = "acct-secret"
HOTSPOT = """
realm = "default"
currency = "NZD"
timezone = "Pacific/Auckland"

[plans."Prepaid Hotspot"]
description = "Wi-Fi at 1.20 an hour from the top-ups"

[plans."Prepaid Hotspot".time]
unit = "h"
price = "1.20"

[plans."Prepaid Hotspot".prepaid]
on_exhausted = "block"

[plans."Prepaid Slow"]
description = "Data at 1.00 a GB from the top-ups, 256k when they are used up"
reply = { "Mikrotik-Rate-Limit" = "20M/20M" }

[plans."Prepaid Slow".data]
unit = "GB"
price = "1.00"

[plans."Prepaid Slow".prepaid]
on_exhausted = "throttle"
reply = { "Mikrotik-Rate-Limit" = "256k/256k" }
"""
GB = 1_000_000_000


@pytest.fixture(scope="module")
def nas() -> Iterator[NasStandIn]:
    stand_in = NasStandIn(SECRET.encode())
    yield stand_in
    stand_in.close()


@pytest.fixture(scope="module", params=["redis", "cluster"])
def redis_for_jetd(request: pytest.FixtureRequest, module_redis_url: str,
                   tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Every test here runs on a single Redis and on a three-master Redis Cluster."""
    if request.param == "redis":
        yield module_redis_url
        return
    with redis_cluster(tmp_path_factory.mktemp("cluster")) as ports:
        yield f"redis+cluster://127.0.0.1:{ports[0]}"


@pytest.fixture(scope="module")
def smtp() -> Iterator[Smtp]:
    server = Smtp()
    server.up()
    yield server
    server.down()


@pytest.fixture(scope="module")
def jetd(tmp_path_factory: pytest.TempPathFactory, redis_for_jetd: str, nas: NasStandIn, smtp: Smtp
         ) -> Iterator[Jetd]:
    tmp = tmp_path_factory.mktemp("radius-acct")
    hotspot = tmp / "hotspot.toml"
    hotspot.write_text(HOTSPOT)
    config = tmp / "jet.toml"
    config.write_text(base_config(
        tmp, redis_for_jetd,
        smtp=f'[smtp]\nhost = "127.0.0.1"\nport = {smtp.port}\nsender = "noc@isp.example"\ntimeout = 5\n',
        hooks="[hooks]\npoll_interval = 0.2\n",
        catalog=f'[catalog]\nfiles = ["{PRICEBOOK}", "{hotspot}"]\n',
        clients=f'[[radius.clients]]\nname = "bras1"\naddress = "127.0.0.1"\nsecret = "{SECRET}"\n'
                f'coa_port = {nas.port}\nvendor = "mikrotik"\n',
    ))
    daemon = Jetd(config)
    daemon.wait_ready()
    for user, plan in (("s9user", "Business Metered"), ("s1user", "Home 100"), ("ppuser", "Prepaid Data"),
                       ("wifiuser", "Prepaid Hotspot"), ("julyuser", "Home 100"),
                       ("slowuser", "Prepaid Slow")):
        daemon.ctl("account", "add", user, "--password", f"pw-{user}", "--plan", plan,
                   "--email", f"{user}@customers.example")
        daemon.ctl("account", "plan", user, plan, "--from", "2026-06-01")
    wait_for(lambda: _login(daemon, "s1user").code == "Access-Accept")
    yield daemon
    daemon.stop()




def _login(daemon: Jetd, user: str) -> Any:
    server = daemon.listener("radius-auth").removeprefix("udp://")
    return radclient(server, "auth", SECRET, f'User-Name = "{user}", User-Password = "pw-{user}"\n')


def _acct(daemon: Jetd, user: str, session: str, status: str, stamp: str, octets_out: int = 0,
          seconds: int = 0) -> str | None:
    pairs = (f'User-Name = "{user}", Acct-Session-Id = "{session}", Acct-Status-Type = {status}, '
             f'NAS-IP-Address = 127.0.0.1, Event-Timestamp = "{stamp} UTC", Acct-Session-Time = {seconds}, '
             f'Acct-Output-Octets = {octets_out & 0xFFFFFFFF}, Acct-Output-Gigawords = {octets_out >> 32}\n')
    return radclient(daemon.listener("radius-acct").removeprefix("udp://"), "acct", SECRET, pairs).code


def _quota(daemon: Jetd, user: str) -> dict[str, Any]:
    shown = json.loads(daemon.ctl("account", "show", user, "--json").stdout)
    return dict(shown["quota"])


def test_s9_gigawords_and_a_retransmitted_interim_are_charged_once(jetd: Jetd) -> None:
    assert _acct(jetd, "s9user", "s9", "Start", "Jun 3 2026 09:00:00") == "Accounting-Response"
    assert _acct(jetd, "s9user", "s9", "Interim-Update", "Jun 3 2026 09:05:00", 4_000_000_000, 300) \
        == "Accounting-Response"
    second = (1 << 32) + 300_000_000
    assert _acct(jetd, "s9user", "s9", "Interim-Update", "Jun 3 2026 09:10:00", second, 600) \
        == "Accounting-Response"
    # The same interim again (radclient sends it with a new Identifier): nothing more.
    assert _acct(jetd, "s9user", "s9", "Interim-Update", "Jun 3 2026 09:10:00", second, 600) \
        == "Accounting-Response"
    assert _acct(jetd, "s9user", "s9", "Stop", "Jun 3 2026 09:10:00", second, 600) == "Accounting-Response"
    quota = _quota(jetd, "s9user")
    assert quota["period"] == "2026-06-01"
    assert quota["counters"]["data"] == "4594967296"
    assert quota["open_sessions"] == 0
    # Business Metered (S2's bands): 4.594967296 GB in the first band at 2.00/GB = 9.189934592;
    # the running total is kept in millionths, half up.
    assert quota["charges"] == "9.189935"


def test_s1_warns_once_throttles_once_and_reauth_is_throttled(jetd: Jetd, nas: NasStandIn,
                                                              smtp: Smtp) -> None:
    steps = [(50, "Jun 5 2026 10:00:00"), (79, "Jun 6 2026 10:00:00"), (81, "Jun 7 2026 10:00:00"),
             (99, "Jun 8 2026 10:00:00"), (101, "Jun 9 2026 10:00:00"), (110, "Jun 10 2026 10:00:00")]
    assert _acct(jetd, "s1user", "s1", "Start", "Jun 4 2026 10:00:00") == "Accounting-Response"
    coas_before = len(nas.received)
    mails_before = len(smtp.inbox.raw)  # the inbox is shared by this module's Redis variants
    for gigabytes, stamp in steps:
        assert _acct(jetd, "s1user", "s1", "Interim-Update", stamp, gigabytes * GB) == "Accounting-Response"
        if gigabytes == 99:
            assert len(nas.received) == coas_before  # no CoA before 100 GB is crossed
        if gigabytes == 101:
            wait_for(lambda: len(nas.received) == coas_before + 1)
    assert _acct(jetd, "s1user", "s1", "Stop", "Jun 11 2026 10:00:00", 120 * GB) == "Accounting-Response"
    time.sleep(0.5)
    assert len(nas.received) == coas_before + 1, "exactly one CoA"
    coa = nas.attributes(nas.received[-1])
    assert coa["Mikrotik-Rate-Limit"] == "1M/1M"
    assert coa["Acct-Session-Id"] == "s1"
    assert coa["User-Name"] == "s1user"

    _, metrics = jetd.http_get(jetd.listener("metrics"))
    assert 'jet_quota_thresholds_total{action="notify"} 1.0' in metrics
    assert 'jet_quota_thresholds_total{action="throttle"} 1.0' in metrics
    assert 'jet_coa_requests_total{kind="coa",result="ack"} 1.0' in metrics

    quota = _quota(jetd, "s1user")
    assert quota["counters"]["data"] == str(120 * GB)
    assert quota["charges"] == "0.000000"  # June's usage lines cost 0.00
    assert quota["bundles"][0]["exhausted"] is True

    answer = _login(jetd, "s1user")
    assert answer.code == "Access-Accept"
    assert answer.attributes["Mikrotik-Rate-Limit"] == "1M/1M"
    assert "login now   accepted; Mikrotik-Rate-Limit = 1M/1M" in jetd.ctl("account", "show", "s1user").stdout

    # The 80 % warning e-mail arrives once (the built-in usage_warning behaviour).
    def warnings() -> list[Any]:
        return [m for m in smtp.inbox.messages[mails_before:]
                if m["To"] == "s1user@customers.example" and "80% of your data allowance" in m["Subject"]]

    wait_for(lambda: len(warnings()) >= 1, timeout=60)
    time.sleep(2)  # a second one would have arrived by now
    assert len(warnings()) == 1


def test_session_list_disconnect_and_coa_from_jetctl(jetd: Jetd, nas: NasStandIn) -> None:
    assert _acct(jetd, "s9user", "live-1", "Start", "Jun 12 2026 08:00:00") == "Accounting-Response"
    listed = json.loads(jetd.ctl("session", "list", "--user", "s9user", "--json").stdout)["items"]
    assert [(s["session_id"], s["nas"], s["user"]) for s in listed] == [("live-1", "127.0.0.1", "s9user")]
    assert "live-1" in jetd.ctl("session", "list").stdout

    before = len(nas.received)
    result = json.loads(jetd.ctl("coa", "s9user", "Mikrotik-Rate-Limit=2M/2M", "--json").stdout)
    assert result["items"] == [{"nas": "127.0.0.1", "session_id": "live-1", "result": "ack"}]
    coa = nas.attributes(nas.received[before])
    assert (coa["Mikrotik-Rate-Limit"], coa["Acct-Session-Id"]) == ("2M/2M", "live-1")

    result = json.loads(jetd.ctl("disconnect", "s9user", "--json").stdout)
    assert result["items"][0]["result"] == "ack"
    assert nas.received[before + 1].code == 40  # Disconnect-Request

    bad = jetd.ctl("coa", "s9user", "No-Such-Attribute=1", check=False)
    assert bad.returncode == 1 and "No-Such-Attribute" in bad.stderr
    _, metrics = jetd.http_get(jetd.listener("metrics"))
    assert 'jet_coa_requests_total{kind="disconnect",result="ack"} 1.0' in metrics


def test_topup_credits_the_real_time_balance(jetd: Jetd) -> None:
    result = json.loads(jetd.ctl("topup", "s9user", "20.00", "--json").stdout)
    assert result["quota"]["applied"] is True
    assert _quota(jetd, "s9user")["balance"] == "20.000000"


def _metric(daemon: Jetd, line_start: str) -> float:
    _, metrics = daemon.http_get(daemon.listener("metrics"))
    found = [line for line in metrics.splitlines() if line.startswith(line_start + " ")]
    return float(found[0].rpartition(" ")[2]) if found else 0.0


def test_prepaid_usage_is_paid_from_top_ups_and_stops_at_zero(jetd: Jetd, nas: NasStandIn, smtp: Smtp
                                                              ) -> None:
    """"Prepaid Data": 1.00 a GB from the balance; a login may use what the balance pays for (the
    NAS's volume limit); a notice at 1.00 left; at zero the session is disconnected and logins are
    refused until the next top-up. The subscriber is e-mailed both."""
    mails_before = len(smtp.inbox.messages)
    refused = _login(jetd, "ppuser")  # nothing topped up yet
    assert (refused.code, refused.attributes["Reply-Message"]) == ("Access-Reject", "Prepaid balance used up")
    assert json.loads(jetd.ctl("topup", "ppuser", "2.00", "--json").stdout)["quota"]["applied"] is True
    accepted = _login(jetd, "ppuser")  # the NAS (a MikroTik) is told what 2.00 pays for: 2 GB
    assert (accepted.code, accepted.attributes.get("Mikrotik-Total-Limit")) == ("Access-Accept", "2000000000")
    assert "Mikrotik-Total-Limit-Gigawords" not in accepted.attributes
    # what support reads: the answer a login gets now
    shown = jetd.ctl("account", "show", "ppuser").stdout.splitlines()
    assert "login now   accepted; volume limit 2000000000 B" in shown

    notices = 'jet_quota_thresholds_total{action="notify"}'
    cuts = 'jet_quota_thresholds_total{action="disconnect"}'
    before = _metric(jetd, notices), _metric(jetd, cuts), len(nas.received)
    assert _acct(jetd, "ppuser", "pp1", "Start", "Jun 5 2026 10:00:00") == "Accounting-Response"
    assert _acct(jetd, "ppuser", "pp1", "Interim-Update", "Jun 5 2026 10:05:00", 1_200_000_000, 300) \
        == "Accounting-Response"
    quota = _quota(jetd, "ppuser")
    assert (quota["mode"], quota["balance"], quota["charges"]) == ("prepaid", "0.800000", "1.200000")
    assert (_metric(jetd, notices), _metric(jetd, cuts)) == (before[0] + 1, before[1])  # below 1.00
    assert len(nas.received) == before[2]

    assert _acct(jetd, "ppuser", "pp1", "Interim-Update", "Jun 5 2026 10:10:00", 2_400_000_000, 600) \
        == "Accounting-Response"
    assert _quota(jetd, "ppuser")["balance"] == "-0.400000"  # what the last interim used is charged
    assert _quota(jetd, "ppuser")["login"] == \
        {"accept": False, "reason": "balance_exhausted", "message": "Prepaid balance used up"}
    wait_for(lambda: len(nas.received) > before[2])
    cut = nas.received[before[2]]
    assert cut.code == 40 and nas.attributes(cut)["Acct-Session-Id"] == "pp1"  # Disconnect-Request
    assert (_metric(jetd, notices), _metric(jetd, cuts)) == (before[0] + 1, before[1] + 1)
    assert _login(jetd, "ppuser").code == "Access-Reject"

    def mails() -> list[str]:
        return sorted(m["Subject"] for m in smtp.inbox.messages[mails_before:]
                      if m["To"] == "ppuser@customers.example"
                      and ("balance" in m["Subject"] or "allowance" in m["Subject"]))

    wait_for(lambda: len(mails()) >= 2, timeout=60)  # builtin.low_balance_warning, .balance_exhausted_notice
    assert mails() == ["Your prepaid balance is low", "Your prepaid balance is used up"]

    jetd.ctl("topup", "ppuser", "1.00")
    assert _quota(jetd, "ppuser")["balance"] == "0.600000"
    accepted = _login(jetd, "ppuser")
    assert (accepted.code, accepted.attributes.get("Mikrotik-Total-Limit")) == ("Access-Accept", "600000000")
    assert _acct(jetd, "ppuser", "pp1", "Stop", "Jun 5 2026 10:10:00", 2_400_000_000, 600) \
        == "Accounting-Response"


def test_a_prepaid_login_priced_by_time_gets_the_seconds_its_balance_pays_for(jetd: Jetd) -> None:
    """"Prepaid Hotspot", 1.20 an hour: 0.50 pays for 25 minutes, the Session-Timeout; a balance
    that pays for a day or more sets none."""
    jetd.ctl("topup", "wifiuser", "0.50")
    accepted = _login(jetd, "wifiuser")
    assert (accepted.code, accepted.attributes.get("Session-Timeout")) == ("Access-Accept", "1500")
    jetd.ctl("topup", "wifiuser", "30.00")  # 30.50: 25 h 25 min
    accepted = _login(jetd, "wifiuser")
    assert accepted.code == "Access-Accept" and "Session-Timeout" not in accepted.attributes


def test_accounting_right_after_account_creation_is_charged(jetd: Jetd) -> None:
    """The account cache follows the database about once a second; accounting for an account
    created a moment ago must not be answered and lost."""
    jetd.ctl("account", "add", "newcomer", "--password", "pw-newcomer", "--plan", "Business Metered")
    jetd.ctl("account", "plan", "newcomer", "Business Metered", "--from", "2026-06-01")
    assert _acct(jetd, "newcomer", "n1", "Start", "Jun 20 2026 10:00:00") == "Accounting-Response"
    assert _acct(jetd, "newcomer", "n1", "Stop", "Jun 20 2026 10:10:00", GB) == "Accounting-Response"
    assert _quota(jetd, "newcomer")["counters"]["data"] == str(GB)


def test_an_interim_across_the_cycle_day_is_split_between_the_periods(jetd: Jetd) -> None:
    """Business Metered bills from the 1st, Auckland time. The session's interims come at 23:30 on
    30 June and 00:30 on 1 July (NZST): of the 2 GB in between, the half before midnight counts in
    June, the other half starts July's period (counter and charge)."""
    jetd.ctl("account", "add", "crosser", "--password", "pw-crosser", "--plan", "Business Metered")
    jetd.ctl("account", "plan", "crosser", "Business Metered", "--from", "2026-06-01")
    assert _acct(jetd, "crosser", "x1", "Start", "Jun 30 2026 10:30:00") == "Accounting-Response"
    assert _acct(jetd, "crosser", "x1", "Interim-Update", "Jun 30 2026 11:30:00", GB, 3600) \
        == "Accounting-Response"
    assert _acct(jetd, "crosser", "x1", "Interim-Update", "Jun 30 2026 12:30:00", 3 * GB, 7200) \
        == "Accounting-Response"
    quota = _quota(jetd, "crosser")
    assert quota["period"] == "2026-07-01"
    assert (quota["counters"]["data"], quota["charges"]) == (str(GB), "2.000000")
    assert _acct(jetd, "crosser", "x1", "Stop", "Jun 30 2026 12:30:00", 3 * GB, 7200) == "Accounting-Response"
    assert _quota(jetd, "crosser")["counters"]["data"] == str(GB)


def _coas_for(nas: NasStandIn, session: str, since: int) -> list[dict[str, object]]:
    shown = (nas.attributes(p) for p in nas.received[since:])
    return [a for a in shown if a.get("Acct-Session-Id") == session]


def test_a_new_period_gives_a_throttled_session_its_rate_back(jetd: Jetd, nas: NasStandIn) -> None:
    """Home 100 (cycle day 1): throttled to 1M/1M past 100 GB in June; the session is still up
    on 1 July, when its first interim of the new period brings the plan's 100M/100M back by CoA."""
    since = len(nas.received)
    assert _acct(jetd, "julyuser", "jul1", "Start", "Jun 20 2026 10:00:00") == "Accounting-Response"
    assert _acct(jetd, "julyuser", "jul1", "Interim-Update", "Jun 25 2026 10:00:00", 101 * GB) \
        == "Accounting-Response"
    wait_for(lambda: len(_coas_for(nas, "jul1", since)) == 1)
    assert _coas_for(nas, "jul1", since)[0]["Mikrotik-Rate-Limit"] == "1M/1M"
    assert _acct(jetd, "julyuser", "jul1", "Interim-Update", "Jul 2 2026 10:00:00", 102 * GB) \
        == "Accounting-Response"
    wait_for(lambda: len(_coas_for(nas, "jul1", since)) == 2)
    lifted = _coas_for(nas, "jul1", since)[1]
    assert (lifted["Mikrotik-Rate-Limit"], lifted["User-Name"]) == ("100M/100M", "julyuser")
    assert _metric(jetd, 'jet_quota_throttles_lifted_total{cause="period",how="coa"}') == 1
    assert _quota(jetd, "julyuser")["period"] == "2026-07-01"
    assert _acct(jetd, "julyuser", "jul1", "Stop", "Jul 2 2026 11:00:00", 102 * GB) == "Accounting-Response"
    time.sleep(0.5)
    assert len(_coas_for(nas, "jul1", since)) == 2  # nothing more


def test_a_top_up_gives_a_session_slowed_at_zero_its_rate_back(jetd: Jetd, nas: NasStandIn) -> None:
    """"Prepaid Slow": 1.00 a GB; at zero the session is slowed to 256k/256k (CoA); the top-up
    that takes the balance above zero brings the plan's 20M/20M back at once (CoA); another top-up
    changes nothing."""
    since = len(nas.received)
    jetd.ctl("topup", "slowuser", "1.00")
    assert _acct(jetd, "slowuser", "slow1", "Start", "Jun 5 2026 10:00:00") == "Accounting-Response"
    assert _acct(jetd, "slowuser", "slow1", "Interim-Update", "Jun 5 2026 10:05:00", 1_500_000_000, 300) \
        == "Accounting-Response"
    wait_for(lambda: len(_coas_for(nas, "slow1", since)) == 1)
    assert _coas_for(nas, "slow1", since)[0]["Mikrotik-Rate-Limit"] == "256k/256k"
    assert _login(jetd, "slowuser").attributes["Mikrotik-Rate-Limit"] == "256k/256k"
    jetd.ctl("topup", "slowuser", "2.00")  # -0.50 + 2.00
    wait_for(lambda: len(_coas_for(nas, "slow1", since)) == 2)
    assert _coas_for(nas, "slow1", since)[1]["Mikrotik-Rate-Limit"] == "20M/20M"
    assert _metric(jetd, 'jet_quota_throttles_lifted_total{cause="topup",how="coa"}') == 1
    jetd.ctl("topup", "slowuser", "1.00")  # it was not slowed: nothing to lift
    assert _acct(jetd, "slowuser", "slow1", "Stop", "Jun 5 2026 10:10:00", 1_500_000_000, 600) \
        == "Accounting-Response"
    time.sleep(0.5)
    assert len(_coas_for(nas, "slow1", since)) == 2


def test_a_top_up_over_the_api_reaches_the_real_time_balance(jetd: Jetd) -> None:
    """A payment portal tops up over the HTTP API: the ledger entry, then (the built-in
    credit_topup, within a hook poll) the balance prepaid usage is charged from, once."""
    jetd.ctl("account", "add", "portaluser", "--password", "pw-portaluser", "--plan", "Prepaid Data")
    jetd.ctl("account", "plan", "portaluser", "Prepaid Data", "--from", "2026-06-01")
    wait_for(lambda: _login(jetd, "portaluser").attributes.get("Reply-Message") == "Prepaid balance used up")
    account_id = json.loads(jetd.ctl("account", "show", "portaluser", "--json").stdout)["id"]
    created = jetd.ctl("token", "create", "--operator", "--name", "portal", "--json")
    url = f"{jetd.listener('api').rstrip('/')}/v1/accounts/{account_id}"
    auth = {"Authorization": f"Bearer {json.loads(created.stdout)['token']}"}
    request = urllib.request.Request(f"{url}/topups", method="POST",
                                     data=json.dumps({"amount": "3.00", "reference": "portal-77"}).encode(),
                                     headers={**auth, "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 201
    wait_for(lambda: _quota(jetd, "portaluser").get("balance") == "3.000000", timeout=30)
    accepted = _login(jetd, "portaluser")
    assert (accepted.code, accepted.attributes.get("Mikrotik-Total-Limit")) == ("Access-Accept", "3000000000")

    # jetctl's top-up is credited at once, and the built-in follows the same ledger entry: whichever
    # comes first credits it, the other finds it done
    quota = json.loads(jetd.ctl("topup", "portaluser", "1.00", "--json").stdout)["quota"]
    assert (quota["applied"], quota["balance"]) == (True, "4.000000")

    def results() -> list[str]:  # of the deliveries done (a pending one has none yet)
        return [d["result"] or "" for d in json.loads(jetd.ctl(
            "hooks", "deliveries", "--hook", "builtin.credit_topup", "--json").stdout)["items"]]

    wait_for(lambda: any(r.endswith("balance 4.000000") for r in results()))
    assert "credited: balance 3.000000" in results()
    assert _quota(jetd, "portaluser")["balance"] == "4.000000"

    # and the portal reads the real-time balance back, with what a login gets now
    with urllib.request.urlopen(urllib.request.Request(f"{url}/quota", headers=auth), timeout=10) as response:
        quota = json.loads(response.read())
    assert (quota["account_id"], quota["mode"], quota["balance"], quota["open_sessions"]) == \
        (account_id, "prepaid", "4.000000", 0)
    assert quota["login"] == {"accept": True, "reason": None, "message": None, "reply": {},
                              "session_timeout": None, "volume_octets": 4_000_000_000,
                              "volume_counts": "both"}
