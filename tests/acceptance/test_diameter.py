"""Diameter Gy credit control from outside: python-diameter builds and parses every message a
gateway sends and receives (over a plain TCP socket), against a jetd subprocess and its Redis.

Capability exchange and watchdog; a data session with two rating groups across CCR-I/U/T priced
as the pricebook says; exhaustion (Final-Unit-Indication, then 4012); a RAR after a top-up; one
bundle drawn on by RADIUS and Diameter at once, and by gateways on two jetd hosts sharing Redis,
without being overspent.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import redis
from diameter.message import Message as PdMessage
from diameter.message.avp.grouped import (
    ImsInformation,
    MultipleServicesCreditControl,
    RequestedServiceUnit,
    ServiceInformation,
    SubscriptionId,
    UsedServiceUnit,
)
from diameter.message.commands import CapabilitiesExchangeRequest, DeviceWatchdogRequest
from diameter.message.commands.credit_control import CreditControlRequest

from tests.acceptance.harness import BIN, Jetd, base_config, wait_for
from tests.acceptance.radclient import radclient
from tests.servers import free_port, redis_server

pytestmark = pytest.mark.timeout(600)

PRICEBOOK = Path(__file__).parents[2] / "config" / "pricebook.example.toml"
SECRET = "gy-secret"
GW_HOST, GW_REALM = "pgw1.example.net", "example.net"
GW2_HOST = "pgw2.example.net"  # pgw1's mate
GB, MB = 1_000_000_000, 1_000_000
WAIT = 30.0  # generous: the machine is shared
# 13:00 NZST on a Wednesday: peak in "Smart Data"'s nz-peak calendar.
PEAK = datetime(2026, 7, 15, 1, 0, tzinfo=UTC)
CAPPED = """
realm = "default"
currency = "NZD"
timezone = "UTC"

[plans."Gy Capped"]
description = "2.5 MB a month, then blocked"

[plans."Gy Capped".data]
unit = "GB"
price = "0.00"

[[plans."Gy Capped".bundles]]
name = "data"
kind = "volume"
size = "2.5 MB"
meters = ["data"]
on_exhausted = "block"

[plans."Gy Texts"]
description = "Texts at 15 cents"

[plans."Gy Texts".sms]
price = "0.15"

[plans."Gy Texts".data]
unit = "GB"
price = "1.00"

[plans."Prepaid Talk"]
description = "S4's calls, paid from the top-ups"
extends = "Talk Standard"

[plans."Prepaid Talk".prepaid]
on_exhausted = "block"

[plans."Prepaid Texts"]
description = "Texts at 15 cents from the top-ups"
extends = "Gy Texts"

[plans."Prepaid Texts".prepaid]
on_exhausted = "block"

[plans."Talk Capped"]
description = "3 minutes of calls a month, then blocked"
extends = "Talk Standard"

[[plans."Talk Capped".bundles]]
name = "minutes"
kind = "time"
size = "3 min"
meters = ["voice"]
on_exhausted = "block"

[plans."Gy Spend Capped"]
description = "0.025 of data a month at 0.01 a MB, then barred"

[plans."Gy Spend Capped".data]
unit = "GB"
price = "10.00"

[[plans."Gy Spend Capped".bundles]]
name = "spend"
kind = "money"
size = "0.025"
meters = ["data"]
on_exhausted = "block"

[plans."Talk Spend Capped"]
description = "0.20 of calls a month, then barred"
extends = "Talk Standard"

[[plans."Talk Spend Capped".bundles]]
name = "calls"
kind = "money"
size = "0.20"
meters = ["voice"]
on_exhausted = "block"
"""
_ids = itertools.count(5000)


def _config(tmp: Path, redis_url: str, database: str | None = None, diameter: str = "") -> Path:
    """A jetd with a Diameter listener; ``database``: another jetd's, to run as a second host;
    ``diameter``: more keys of its [diameter] section."""
    capped = tmp / "capped.toml"
    capped.write_text(CAPPED)
    config = tmp / "jet.toml"
    text = base_config(
        tmp, redis_url,
        catalog=f'[catalog]\nfiles = ["{PRICEBOOK}", "{capped}"]\n',
        clients=f'[[radius.clients]]\nname = "bras1"\naddress = "127.0.0.1"\nsecret = "{SECRET}"\n'
                'vendor = "mikrotik"\n',
        diameter=f'[diameter]\nenabled = true\nlisten = "127.0.0.1"\nport = {free_port()}\n'
                 f'origin_host = "jet.example.net"\norigin_realm = "example.net"\n'
                 f'rating_groups = {{ "10" = "web", "20" = "p2p" }}\nvalidity_time = 120\n'
                 f'grant_octets = {MB}\ngrant_seconds = 120\n{diameter}\n'
                 f'[[diameter.peers]]\norigin_host = "{GW_HOST}"\naddress = "127.0.0.1"\n'
                 f'[[diameter.peers]]\norigin_host = "{GW2_HOST}"\naddress = "127.0.0.1"\n',
    )
    if database is not None:
        text = text.replace(f"sqlite+aiosqlite:///{tmp / 'jet.db'}", database)
    config.write_text(text)
    return config


@pytest.fixture(scope="module")
def jetd(tmp_path_factory: pytest.TempPathFactory, module_redis_url: str) -> Iterator[Jetd]:
    daemon = Jetd(_config(tmp_path_factory.mktemp("diameter"), module_redis_url))
    daemon.wait_ready()
    for user, plan in (("6421000001", "Smart Data"), ("6421000002", "Gy Capped"), ("6421000003", "Gy Capped"),
                       ("6421000004", "Smart Data"), ("6421000005", "Smart Data"),
                       ("6421000006", "Gy Texts"), ("6421000007", "Gy Capped"),
                       ("6421000008", "Smart Data"), ("6421000009", "Gy Capped"),
                       ("6421000010", "Prepaid Data"), ("6421000011", "Prepaid Data"),
                       ("6421000013", "Talk Standard"), ("6421000014", "Prepaid Talk"),
                       ("6421000015", "Talk Capped"), ("6421000016", "Prepaid Texts"),
                       ("6421000017", "Smart Data"), ("6421000018", "Talk Spend Capped"),
                       ("6421000019", "Gy Spend Capped")):
        daemon.ctl("account", "add", user, "--password", f"pw-{user}", "--plan", plan)
        daemon.ctl("account", "plan", user, plan, "--from", "2026-06-01")
    yield daemon
    daemon.stop()


# --- the gateway: python-diameter messages over a socket -------------------------------------------

def _ids_on(msg: Any) -> Any:
    n = next(_ids)
    msg.header.hop_by_hop_identifier = n
    msg.header.end_to_end_identifier = n
    return msg


class Gateway:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.origin_host = GW_HOST

    @classmethod
    async def connect(cls, daemon: Jetd, origin_host: str = GW_HOST) -> tuple[Gateway, Any]:
        host, port = daemon.listener("diameter").removeprefix("tcp://").rsplit(":", 1)
        gw = cls(*await asyncio.open_connection(host, int(port)))
        gw.origin_host = origin_host
        cer = _ids_on(CapabilitiesExchangeRequest())
        cer.origin_host, cer.origin_realm = origin_host.encode(), GW_REALM.encode()
        cer.host_ip_address = ["127.0.0.1"]
        cer.vendor_id = 10415
        cer.product_name = "test-pgw"
        cer.supported_vendor_id = [10415]
        cer.auth_application_id = [4]
        return gw, await gw.request(cer)

    async def recv(self) -> Any:
        async with asyncio.timeout(WAIT):
            head = await self.reader.readexactly(4)
            body = await self.reader.readexactly(int.from_bytes(head[1:], "big") - 4)
        return PdMessage.from_bytes(head + body)

    async def request(self, msg: Any) -> Any:
        """Send and wait for the answer. A RAR that comes first (a plan change's hook, late) is
        answered as a gateway would."""
        self.writer.write(msg.as_bytes())
        while True:
            got = await self.recv()
            if not (got.header.is_request and got.header.command_code == 258):
                return got
            self._answer_ok(got)

    async def answer_next(self, command_code: int, session_id: str) -> None:
        """Receive jetd's next request (RAR 258, ASR 274) for the session; answer 2001."""
        req = await self.recv()
        assert req.header.command_code == command_code and req.session_id == session_id
        self._answer_ok(req)

    def _answer_ok(self, req: Any) -> None:
        ans = req.to_answer()
        ans.origin_host, ans.origin_realm = self.origin_host.encode(), GW_REALM.encode()
        ans.result_code = 2001
        self.writer.write(ans.as_bytes())

    async def close(self) -> None:
        self.writer.close()
        try:
            await self.writer.wait_closed()
        except ConnectionError:
            pass


def ccr(session_id: str, kind: int, number: int, subscriber: str | None = None, *,
        groups: dict[int, tuple[int | None, int | None]] | None = None, at: datetime = PEAK) -> Any:
    """A CCR; ``groups``: rating group -> (octets requested or None, octets used or None)."""
    m = _ids_on(CreditControlRequest())
    m.header.application_id = 4
    m.session_id = session_id
    m.origin_host, m.origin_realm = GW_HOST.encode(), GW_REALM.encode()
    m.destination_realm = b"example.net"
    m.auth_application_id = 4
    m.service_context_id = "32251@3gpp.org"
    m.cc_request_type = kind
    m.cc_request_number = number
    m.event_timestamp = at
    if subscriber is not None:
        m.subscription_id = [SubscriptionId(subscription_id_type=0, subscription_id_data=subscriber)]
    m.multiple_services_indicator = 1
    m.multiple_services_credit_control = [
        MultipleServicesCreditControl(
            rating_group=rg,
            requested_service_unit=RequestedServiceUnit() if want is not None else None,
            used_service_unit=[UsedServiceUnit(cc_total_octets=used)] if used is not None else [])
        for rg, (want, used) in (groups or {}).items()]
    return m


def call_ccr(session_id: str, kind: int, number: int, subscriber: str | None = None, *, want: bool = True,
             used: int | None = None, calling: str = "tel:+6491234567", called: str = "") -> Any:
    """A softswitch's CCR (Ro) for a call: CC-Time asked and used (rating group 100), the numbers in
    IMS-Information on the CCR-Initial."""
    m = ccr(session_id, kind, number, subscriber)
    m.service_context_id = "32260@3gpp.org"
    m.multiple_services_credit_control = [MultipleServicesCreditControl(
        rating_group=100, requested_service_unit=RequestedServiceUnit(cc_time=0) if want else None,
        used_service_unit=[UsedServiceUnit(cc_time=used)] if used is not None else [])]
    if kind == 1:
        m.service_information = ServiceInformation(ims_information=ImsInformation(
            node_functionality=6, calling_party_address=[calling], called_party_address=called))
    return m


def _final_unit(cca: Any) -> Any:
    return cca.multiple_services_credit_control[0].final_unit_indication


def granted_seconds(cca: Any) -> int:
    return int(cca.multiple_services_credit_control[0].granted_service_unit.cc_time)


def grants(cca: Any) -> dict[int, Any]:
    return {m.rating_group: m for m in cca.multiple_services_credit_control}


def granted(mscc: Any) -> int:
    return int(mscc.granted_service_unit.cc_total_octets)


def _quota(daemon: Jetd, user: str) -> dict[str, Any]:
    return dict(json.loads(daemon.ctl("account", "show", user, "--json").stdout)["quota"])


def _handed_off(url: str) -> list[dict[str, str]]:
    client = redis.Redis.from_url(url)
    out = []
    for shard in range(16):
        for _, fields in client.xrange(f"jet:sessions:{{{shard}}}"):
            out.append({k.decode(): v.decode(errors="replace") for k, v in fields.items()})
    client.close()
    return out




# --- the scenarios ------------------------------------------------------------------------------------

async def test_capability_exchange_watchdog_and_unknown_subscriber(jetd: Jetd) -> None:
    gw, cea = await Gateway.connect(jetd)
    try:
        assert cea.result_code == 2001
        assert cea.origin_host == b"jet.example.net" and 4 in cea.auth_application_id
        dwr = _ids_on(DeviceWatchdogRequest())
        dwr.origin_host, dwr.origin_realm = GW_HOST.encode(), GW_REALM.encode()
        dwa = await gw.request(dwr)
        assert dwa.result_code == 2001
        cca = await gw.request(ccr("pgw1;unknown;1", 1, 0, "6429999999", groups={10: (0, None)}))
        assert cca.result_code == 5030
    finally:
        await gw.close()


async def test_two_rating_groups_across_initial_update_terminate_priced_as_the_pricebook(
        jetd: Jetd, module_redis_url: str) -> None:
    user, sid = "6421000001", "pgw1;smart;1"
    gw, _ = await Gateway.connect(jetd)
    try:
        cca = await gw.request(ccr(sid, 1, 0, user, groups={10: (0, None), 20: (0, None)}))
        assert cca.result_code == 2001
        g = grants(cca)
        assert granted(g[10]) == MB and granted(g[20]) == MB and g[10].validity_time == 120
        # The gateway reports more than granted (as after several grants): it is all rated.
        cca = await gw.request(ccr(sid, 2, 1, groups={10: (0, GB), 20: (0, GB // 2)}))
        assert cca.result_code == 2001 and set(grants(cca)) == {10, 20}
        cca = await gw.request(ccr(sid, 3, 2, groups={10: (None, GB), 20: (None, GB // 2)}))
        assert cca.result_code == 2001
    finally:
        await gw.close()
    quota = _quota(jetd, user)
    # Smart Data at peak: web 2 GB x 0.10 + p2p 1 GB x 0.20 = 0.40
    assert Decimal(quota["charges"]) == Decimal("0.40")
    assert quota["open_sessions"] == 0
    # The completed rating groups went to the invoicer's stream like RADIUS sessions.
    done = sorted(s["sid"] for s in _handed_off(module_redis_url) if sid in s["sid"])
    assert done == [f"diameter:{GW_HOST}/{sid}#10", f"diameter:{GW_HOST}/{sid}#20"]


async def test_exhaustion_final_unit_indication_then_credit_limit_reached(jetd: Jetd) -> None:
    user, sid = "6421000002", "pgw1;capped;1"  # 2.5 MB bundle that blocks; grants of 1 MB
    gw, _ = await Gateway.connect(jetd)
    try:
        g = grants(await gw.request(ccr(sid, 1, 0, user, groups={10: (0, None)})))
        assert granted(g[10]) == MB and g[10].final_unit_indication is None
        g = grants(await gw.request(ccr(sid, 2, 1, groups={10: (0, MB)})))
        assert granted(g[10]) == MB and g[10].final_unit_indication is None
        g = grants(await gw.request(ccr(sid, 2, 2, groups={10: (0, MB)})))
        assert granted(g[10]) == MB // 2
        assert g[10].final_unit_indication.final_unit_action == 0  # TERMINATE
        cca = await gw.request(ccr(sid, 2, 3, groups={10: (0, MB // 2)}))
        assert cca.result_code == 4012 and grants(cca)[10].result_code == 4012
        assert (await gw.request(ccr(sid, 3, 4, groups={10: (None, 0)}))).result_code == 2001
    finally:
        await gw.close()
    assert Decimal(_quota(jetd, user)["counters"]["bundle:data"]) == Decimal(2_500_000)
    _, metrics = jetd.http_get(jetd.listener("metrics"))
    assert 'jet_diameter_requests_total{command="ccr-u",result="4012"} 1.0' in metrics
    assert 'jet_quota_thresholds_total{action="disconnect"}' in metrics  # the bundle's exhaustion fired


async def test_final_unit_redirect_to_a_top_up_page(
        jetd: Jetd, tmp_path_factory: pytest.TempPathFactory, module_redis_url: str) -> None:
    """``final_unit_action = "redirect"``: the last grant tells the gateway where to send the
    subscriber's traffic once it is used (RFC 4006 §8.34: Redirect-Server with its address)."""
    user, sid = "6421000009", "pgw1;redirect;1"  # 2.5 MB bundle that blocks; grants of 1 MB
    database = "sqlite+aiosqlite:///" + str(Path(jetd.config).parent / "jet.db")
    daemon = Jetd(_config(tmp_path_factory.mktemp("diameter-redirect"), module_redis_url, database,
                          'final_unit_action = "redirect"\nredirect_address = "https://topup.example.net/"\n'))
    try:
        daemon.wait_ready()
        gw, _ = await Gateway.connect(daemon)
        try:
            g = grants(await gw.request(ccr(sid, 1, 0, user, groups={10: (0, None)})))
            assert g[10].final_unit_indication is None
            g = grants(await gw.request(ccr(sid, 2, 1, groups={10: (0, 2 * MB)})))
            fui = g[10].final_unit_indication
            assert granted(g[10]) == MB // 2 and fui.final_unit_action == 1  # REDIRECT
            assert fui.redirect_server.redirect_address_type == 2  # URL
            assert fui.redirect_server.redirect_server_address == "https://topup.example.net/"
            cca = await gw.request(ccr(sid, 2, 2, groups={10: (0, MB // 2)}))
            assert cca.result_code == 4012
            assert (await gw.request(ccr(sid, 3, 3, groups={10: (None, 0)}))).result_code == 2001
        finally:
            await gw.close()
    finally:
        daemon.stop()


def test_redirect_without_an_address_is_a_config_error(tmp_path: Path) -> None:
    config = _config(tmp_path, "redis://127.0.0.1:1/0", diameter='final_unit_action = "redirect"\n')
    checked = subprocess.run([str(BIN / "jetd"), "--config", str(config), "--check"], capture_output=True,
                             text=True, timeout=60)
    assert checked.returncode != 0
    assert "diameter" in checked.stderr and "redirect_address" in checked.stderr, checked.stderr


async def test_prepaid_balance_final_unit_indication_then_credit_limit_reached(jetd: Jetd) -> None:
    """"Prepaid Data" (1.00 a GB from the balance) topped up with 0.01: grants of 1 MB while the
    balance pays for them, then what is left of it with Final-Unit-Indication, then 4012."""
    user, sid = "6421000010", "pgw1;prepaid;1"
    jetd.ctl("topup", user, "0.01")
    gw, _ = await Gateway.connect(jetd)
    try:
        g = grants(await gw.request(ccr(sid, 1, 0, user, groups={10: (0, None)})))
        assert granted(g[10]) == MB and g[10].final_unit_indication is None
        g = grants(await gw.request(ccr(sid, 2, 1, groups={10: (0, 6 * MB)})))  # 0.004 left
        assert granted(g[10]) == MB and g[10].final_unit_indication is None
        g = grants(await gw.request(ccr(sid, 2, 2, groups={10: (0, 3 * MB + MB // 2)})))  # 0.0005 left
        assert granted(g[10]) == MB // 2 and g[10].final_unit_indication.final_unit_action == 0
        cca = await gw.request(ccr(sid, 2, 3, groups={10: (0, MB // 2)}))  # nothing left
        assert cca.result_code == 4012 and grants(cca)[10].result_code == 4012
        assert (await gw.request(ccr(sid, 3, 4, groups={10: (None, 0)}))).result_code == 2001
    finally:
        await gw.close()
    quota = _quota(jetd, user)
    assert (quota["mode"], quota["balance"], quota["charges"]) == ("prepaid", "0.000000", "0.010000")
    # a session of a prepaid account without credit is refused at once
    cca = await gw_request_once(jetd, ccr("pgw1;prepaid;2", 1, 0, user, groups={10: (0, None)}))
    assert cca.result_code == 4012


async def test_concurrent_prepaid_sessions_never_spend_more_than_the_balance(jetd: Jetd) -> None:
    """What a prepaid grant costs is held against the balance until it is reported: the balance is
    granted once, across sessions, never once per session. "Prepaid Data": 1.00 a GB, 0.001 a MB."""
    user = "6421000011"
    jetd.ctl("topup", user, "0.01")
    gw, _ = await Gateway.connect(jetd)
    try:
        a = grants(await gw.request(ccr("pgw1;pp;a", 1, 0, user, groups={10: (0, None)})))
        assert granted(a[10]) == MB and a[10].final_unit_indication is None
        a = grants(await gw.request(ccr("pgw1;pp;a", 2, 1, groups={10: (0, 8 * MB + MB // 2)})))
        assert granted(a[10]) == MB and a[10].final_unit_indication is None  # 0.0015 left
        # a's grant holds 0.001: b gets what the rest pays for, not a final grant (a may give some back)
        b = grants(await gw.request(ccr("pgw1;pp;b", 1, 0, user, groups={10: (0, None)})))
        assert granted(b[10]) == MB // 2 and b[10].final_unit_indication is None
        shown = json.loads(jetd.ctl("diameter", "sessions", "--user", user, "--json").stdout)["items"]
        assert [(s["session_id"], s["held_money"]) for s in shown] == [
            ("pgw1;pp;a", "0.001500"), ("pgw1;pp;b", "0.001500")]
        text = jetd.ctl("account", "show", user).stdout  # what an operator reads
        assert "real time   prepaid, period " in text
        assert ": balance 0.001500 NZD; sessions open: 1" in text  # a has reported, b not yet
        assert "held        0 B, 0 s, 0.001500 NZD (granted to Diameter sessions" in text
        assert (await gw.request(ccr("pgw1;pp;c", 1, 0, user, groups={10: (0, None)}))).result_code == 4012
        # a NAS login finds nothing left either: the grants hold all of it
        auth = jetd.listener("radius-auth").removeprefix("udp://")
        login = await asyncio.to_thread(radclient, auth, "auth", SECRET,
                                        f'User-Name = "{user}", User-Password = "pw-{user}"\n')
        assert (login.code, login.attributes["Reply-Message"]) == ("Access-Reject", "Prepaid balance used up")
        # a used a quarter of its grant: 0.00125 left, of which b holds 0.0005
        a = grants(await gw.request(ccr("pgw1;pp;a", 2, 2, groups={10: (0, MB // 4)})))
        assert granted(a[10]) == 3 * MB // 4 and a[10].final_unit_indication is None
        for sid, used in (("pgw1;pp;a", 3 * MB // 4), ("pgw1;pp;b", MB // 2)):
            cca = await gw.request(ccr(sid, 3, 3, groups={10: (None, used)}))
            assert cca.result_code == 2001
        assert (await gw.request(ccr("pgw1;pp;c", 3, 1))).result_code == 2001
    finally:
        await gw.close()
    quota = _quota(jetd, user)
    assert (quota["balance"], quota["charges"]) == ("0.000000", "0.010000")
    shown = json.loads(jetd.ctl("diameter", "sessions", "--user", user, "--json").stdout)["items"]
    assert shown == []


async def test_calls_over_ro_are_granted_seconds_and_priced_by_their_numbers(jetd: Jetd) -> None:
    """A softswitch charges calls online: CC-Time granted (grant_seconds), the call rated at its end
    from the numbers in IMS-Information (S4: national 0.05 a minute in 60/60), a destination
    without a price refused at once (5031), a prepaid caller granted what the balance pays for."""
    talk, prepaid = "6421000013", "6421000014"
    national = "sip:+6441234567@ims.example.net;user=phone"
    gw, _ = await Gateway.connect(jetd)
    try:
        cca = await gw.request(call_ccr("scscf;call;1", 1, 0, talk, called=national))
        assert cca.result_code == 2001 and granted_seconds(cca) == 120
        assert granted_seconds(await gw.request(call_ccr("scscf;call;1", 2, 1, used=120))) == 120
        assert (await gw.request(call_ccr("scscf;call;1", 3, 2, want=False, used=30))).result_code == 2001
        assert Decimal(_quota(jetd, talk)["charges"]) == Decimal("0.15")  # 150 s: three minutes
        nowhere = await gw.request(call_ccr("scscf;call;2", 1, 0, talk, called="tel:+99912345"))
        assert nowhere.result_code == 5031 and nowhere.multiple_services_credit_control[0].result_code == 5031
        # NZ mobile, 0.19 a minute in 30/6 (120 s: 0.38). A call is charged when it ends: its grants
        # hold the whole call, and 0.40 pays for 126 s of it, the last 6 s the balance's last
        jetd.ctl("topup", prepaid, "0.40")
        cca = await gw.request(call_ccr("scscf;call;3", 1, 0, prepaid, called="tel:+6421234567"))
        mscc = cca.multiple_services_credit_control[0]
        assert granted_seconds(cca) == 120 and mscc.final_unit_indication is None
        cca = await gw.request(call_ccr("scscf;call;3", 2, 1, used=120))
        mscc = cca.multiple_services_credit_control[0]
        assert granted_seconds(cca) == 6 and mscc.final_unit_indication.final_unit_action == 0
        shown = json.loads(jetd.ctl("diameter", "sessions", "--user", prepaid, "--json").stdout)["items"]
        assert [s["held_money"] for s in shown] == ["0.399000"]  # the whole call, 126 s
        assert (await gw.request(call_ccr("scscf;call;3", 3, 2, want=False, used=6))).result_code == 2001
        quota = _quota(jetd, prepaid)
        assert (quota["balance"], quota["charges"]) == ("0.001000", "0.399000")
        cca = await gw.request(call_ccr("scscf;call;4", 1, 0, prepaid, called="tel:+6421234567"))
        assert cca.result_code == 4012  # 0.001 does not pay for the first 30 s
    finally:
        await gw.close()


async def test_a_blocking_bundle_of_minutes_caps_the_seconds_granted_to_calls(jetd: Jetd) -> None:
    """"Talk Capped": 3 minutes a month, then blocked. Each call's grants hold the whole call (it
    is charged when it ends) against what the bundle has left, so calls at once never take more
    than the bundle between them."""
    user, national = "6421000015", "tel:+6441234567"
    gw, _ = await Gateway.connect(jetd)
    try:
        a = await gw.request(call_ccr("scscf;min;a", 1, 0, user, called=national))
        assert granted_seconds(a) == 120  # of 180 s
        b = await gw.request(call_ccr("scscf;min;b", 1, 0, user, called=national))
        mscc = b.multiple_services_credit_control[0]
        assert granted_seconds(b) == 60 and mscc.final_unit_indication is not None
        assert (await gw.request(call_ccr("scscf;min;c", 1, 0, user, called=national))).result_code == 4012
        shown = json.loads(jetd.ctl("diameter", "sessions", "--user", user, "--json").stdout)["items"]
        assert {s["held_seconds"] for s in shown} == {180}
        # a has talked 100 s: it holds 100 + 20, all that b leaves it, and 20 s are its last
        a = await gw.request(call_ccr("scscf;min;a", 2, 1, used=100))
        mscc = a.multiple_services_credit_control[0]
        assert granted_seconds(a) == 20 and mscc.final_unit_indication is not None
        for sid, used in (("scscf;min;a", 20), ("scscf;min;b", 60)):
            assert (await gw.request(call_ccr(sid, 3, 2, want=False, used=used))).result_code == 2001
        assert (await gw.request(call_ccr("scscf;min;c", 3, 1, want=False))).result_code == 2001
        assert (await gw.request(call_ccr("scscf;min;d", 1, 0, user, called=national))).result_code == 4012
    finally:
        await gw.close()
    quota = _quota(jetd, user)
    assert Decimal(quota["counters"]["bundle:minutes"]) == 180 and Decimal(quota["charges"]) == 0


async def test_a_money_bundle_that_blocks_caps_the_last_call_then_bars_new_ones(jetd: Jetd) -> None:
    """"Talk Spend Capped": 0.20 of calls a month at S4's rates, then barred. A call is granted
    what the bundle has left pays for, less what the account's other calls hold of it; the grant
    its last money pays for comes with the Final-Unit-Indication; once it is spent, 4012."""
    user, national = "6421000018", "tel:+6441234567"  # 0.05 a minute, 60/60
    gw, _ = await Gateway.connect(jetd)
    try:
        a = await gw.request(call_ccr("scscf;spend;a", 1, 0, user, called=national))
        assert granted_seconds(a) == 120 and _final_unit(a) is None
        # a holds 0.10 of the 0.20: a call at once gets what the other 0.10 pays for, and no more
        b = await gw.request(call_ccr("scscf;spend;b", 1, 0, user, called=national))
        assert granted_seconds(b) == 120 and _final_unit(b) is None
        c = await gw.request(call_ccr("scscf;spend;c", 1, 0, user, called=national))
        assert c.result_code == 4012  # nothing left that the others do not hold
        shown = json.loads(jetd.ctl("diameter", "sessions", "--user", user, "--json").stdout)["items"]
        assert {s["held_spend"] for s in shown} == {"0.200000"}
        text = jetd.ctl("account", "show", user).stdout  # no usage applied yet, but held
        assert "real time   no usage yet\n" \
            "held        0 B, 0 s, 0.000000 NZD, 0.200000 NZD of money bundles" in text
        assert "bundle      calls (money): 0 of 0.20 used, 0.20 left\nlogin now   accepted" in text
        assert (await gw.request(call_ccr("scscf;spend;c", 3, 1, want=False))).result_code == 2001
        assert (await gw.request(call_ccr("scscf;spend;b", 3, 1, want=False))).result_code == 2001
        # a call is charged when it ends: its grants hold the whole call. 100 s so far and 120 more
        # are four minutes, 0.20: all of it; 200 s so far and 40 more are too, and 40 s are the last
        a = await gw.request(call_ccr("scscf;spend;a", 2, 1, used=100))
        assert granted_seconds(a) == 120 and _final_unit(a) is None
        text = jetd.ctl("account", "show", user).stdout  # b's end made the account's quota state
        assert "held        0 B, 0 s, 0.000000 NZD, 0.200000 NZD of money bundles (granted to" in text
        assert "login now   accepted" in text  # the calls hold it, and a NAS login does not draw on it
        a = await gw.request(call_ccr("scscf;spend;a", 2, 2, used=100))
        mscc = a.multiple_services_credit_control[0]
        assert granted_seconds(a) == 40 and mscc.final_unit_indication.final_unit_action == 0
        assert (await gw.request(call_ccr("scscf;spend;a", 3, 3, want=False, used=40))).result_code == 2001
        barred = await gw.request(call_ccr("scscf;spend;d", 1, 0, user, called=national))
        assert barred.result_code == 4012
        assert (await gw.request(call_ccr("scscf;spend;d", 3, 1, want=False))).result_code == 2001
    finally:
        await gw.close()
    quota = _quota(jetd, user)
    # 240 s, four minutes: all of it from the bundle, nothing charged past it
    assert (Decimal(quota["counters"]["bundle:calls"]), Decimal(quota["charges"])) == (Decimal("0.20"), 0)


async def test_a_money_bundle_that_blocks_caps_the_octets_granted(jetd: Jetd) -> None:
    """"Gy Spend Capped": 0.025 of data a month at 0.01 a MB, then barred: the grants are what is
    left pays for, the last with the Final-Unit-Indication, then 4012; nothing charged past it."""
    user, sid = "6421000019", "pgw1;spend;1"
    gw, _ = await Gateway.connect(jetd)
    try:
        g = grants(await gw.request(ccr(sid, 1, 0, user, groups={10: (0, None)})))
        assert granted(g[10]) == MB and g[10].final_unit_indication is None
        g = grants(await gw.request(ccr(sid, 2, 1, groups={10: (0, MB)})))  # 0.015 left
        assert granted(g[10]) == MB and g[10].final_unit_indication is None
        g = grants(await gw.request(ccr(sid, 2, 2, groups={10: (0, MB)})))  # 0.005 left
        assert granted(g[10]) == MB // 2 and g[10].final_unit_indication.final_unit_action == 0
        cca = await gw.request(ccr(sid, 2, 3, groups={10: (0, MB // 2)}))  # spent
        assert cca.result_code == 4012 and grants(cca)[10].result_code == 4012
        assert (await gw.request(ccr(sid, 3, 4, groups={10: (None, 0)}))).result_code == 2001
    finally:
        await gw.close()
    quota = _quota(jetd, user)
    assert (Decimal(quota["counters"]["bundle:spend"]), Decimal(quota["charges"])) == (Decimal("0.025"), 0)


async def gw_request_once(daemon: Jetd, msg: Any) -> Any:
    gw, _ = await Gateway.connect(daemon)
    try:
        return await gw.request(msg)
    finally:
        await gw.close()


async def _hook_recorded(jetd: Jetd, hook: str, result: str) -> None:
    """Until a delivery of the built-in ``hook`` has recorded ``result``."""
    def recorded() -> bool:
        items = json.loads(jetd.ctl("hooks", "deliveries", "--hook", hook, "--json").stdout)["items"]
        return any(d["result"] == result for d in items)

    await asyncio.to_thread(wait_for, recorded)


async def test_rar_after_a_top_up(jetd: Jetd) -> None:
    user, sid = "6421000004", "pgw1;rar;1"
    gw, _ = await Gateway.connect(jetd)
    try:
        assert (await gw.request(ccr(sid, 1, 0, user, groups={10: (0, None)}))).result_code == 2001
        # The top-up itself sends the RAR (nobody has to run `jetctl diameter rar`).
        topup = json.loads((await asyncio.to_thread(jetd.ctl, "topup", user, "10.00", "--json")).stdout)
        assert topup["quota"]["reauthorized"] == 1
        await gw.answer_next(258, sid)
        # A plan change sends one too (builtin.reauthorize_on_plan_change; in force later, so
        # the grants below stay the Smart Data ones).
        await asyncio.to_thread(jetd.ctl, "account", "plan", user, "Gy Capped", "--from", "2099-01-01")
        await gw.answer_next(258, sid)

        await _hook_recorded(jetd, "builtin.reauthorize_on_plan_change", "reauthorize: 2001")
        # And by hand, as before.
        rar_run = asyncio.create_task(asyncio.to_thread(jetd.ctl, "diameter", "rar", user, "--json"))
        await gw.answer_next(258, sid)
        result = json.loads((await rar_run).stdout)
        assert [item["result"] for item in result["items"]] == [2001]
        # The gateway re-authorises: reports usage and asks again.
        cca = await gw.request(ccr(sid, 2, 1, groups={10: (0, 1000)}))
        assert cca.result_code == 2001 and granted(grants(cca)[10]) == MB
        assert (await gw.request(ccr(sid, 3, 2, groups={10: (None, 0)}))).result_code == 2001
    finally:
        await gw.close()


@pytest.mark.parametrize("all_workers", [False, True])
async def test_rar_and_asr_reach_every_gateway_through_the_worker_serving_it(
        tmp_path_factory: pytest.TempPathFactory, all_workers: bool) -> None:
    """radius.workers = 2: worker 0 accepts the gateways, or with all_workers both workers do; the
    top-up, jetctl and the hooks (in the main process) reach each session's gateway through the
    worker holding its connection. A Redis and a database of its own: the module's jetd would
    take its share of the events (and their hooks) from a shared one."""
    tmp = tmp_path_factory.mktemp("diameter-workers")
    hosts = [f"pgw-{k}.example.net" for k in range(16 if all_workers else 3)]
    with contextlib.ExitStack() as stack:
        host, port, _ = stack.enter_context(redis_server(tmp / "redis"))
        spread = f"all_workers = {str(all_workers).lower()}"
        config = _config(tmp, f"redis://{host}:{port}/0", diameter=spread)
        peers = "".join(f'\n[[diameter.peers]]\norigin_host = "{h}"\naddress = "127.0.0.1"\n' for h in hosts)
        config.write_text(config.read_text().replace("acct_port = 0", "acct_port = 0\nworkers = 2") + peers)
        pooled = Jetd(config)
        stack.callback(pooled.stop)
        pooled.wait_ready()
        await _rar_and_asr_through_the_main_process(pooled, hosts, all_workers)


def _served_by(daemon: Jetd, worker: int) -> list[str]:
    """The sessions one worker serves, asked on its own control socket."""
    socket = str(Path(daemon.config).parent / f"jetd.sock.w{worker}")  # base_config's control.socket
    out = subprocess.run([str(BIN / "jetctl"), "--socket", socket, "diameter", "sessions", "--json"],
                         capture_output=True, text=True, timeout=30, check=True).stdout
    return [s["session_id"] for s in json.loads(out)["items"] if s["here"]]  # the others: in Redis


async def _rar_and_asr_through_the_main_process(pooled: Jetd, hosts: list[str], all_workers: bool) -> None:
    user = "6421000012"
    pooled.ctl("account", "add", user, "--password", "pw", "--plan", "Smart Data")
    pooled.ctl("account", "plan", user, "Smart Data", "--from", "2026-06-01")
    # that plan change's hook has run (and found no session to re-authorise) before one opens
    await _hook_recorded(pooled, "builtin.reauthorize_on_plan_change", "no Diameter session")
    gateways: list[tuple[Gateway, str]] = []
    try:
        for host in hosts:  # gateways until both workers serve one (the kernel spreads connections)
            gw, _ = await Gateway.connect(pooled, host)
            sid = f"{host};workers"
            gateways.append((gw, sid))
            assert (await gw.request(ccr(sid, 1, 0, user, groups={10: (0, None)}))).result_code == 2001
            if all_workers and all(_served_by(pooled, w) for w in (0, 1)):
                break
        sids = sorted(sid for _, sid in gateways)
        # a worker's socket answers only what the main process hands it
        worker = str(Path(pooled.config).parent / "jetd.sock.w0")
        refused = await asyncio.to_thread(
            subprocess.run, [str(BIN / "jetctl"), "--socket", worker, "topup", user, "1.00"],
            capture_output=True, text=True, timeout=30)
        assert refused.returncode == 1 and "not on a worker's socket" in refused.stderr
        if all_workers:
            assert all(_served_by(pooled, w) for w in (0, 1)), "every connection went to one worker"
            assert sorted(_served_by(pooled, 0) + _served_by(pooled, 1)) == sids
        else:
            assert sorted(_served_by(pooled, 0)) == sids
        shown = json.loads(pooled.ctl("diameter", "sessions", "--user", user, "--json").stdout)["items"]
        assert sorted((s["session_id"], s["here"]) for s in shown) == [(sid, True) for sid in sids]

        async def answered(request: int) -> None:
            for gw, sid in gateways:
                await gw.answer_next(request, sid)

        topup = json.loads((await asyncio.to_thread(pooled.ctl, "topup", user, "5.00", "--json")).stdout)
        assert topup["quota"]["reauthorized"] == len(gateways)
        await answered(258)
        rar_run = asyncio.create_task(asyncio.to_thread(pooled.ctl, "diameter", "rar", user, "--json"))
        await answered(258)
        items = json.loads((await rar_run).stdout)["items"]
        assert sorted((i["session_id"], i["result"]) for i in items) == [(sid, 2001) for sid in sids]
        # suspended: builtin.abort_on_suspend sends the ASRs from the main process's hooks
        await asyncio.to_thread(pooled.ctl, "account", "suspend", user)
        await answered(274)
        every = ", ".join(["2001"] * len(gateways))
        await _hook_recorded(pooled, "builtin.abort_on_suspend", f"abort: {every}")
        for gw, sid in gateways:
            assert (await gw.request(ccr(sid, 3, 1, groups={10: (None, 0)}))).result_code == 2001
    finally:
        for gw, _ in gateways:
            await gw.close()


async def test_single_service_gateway_and_one_shot_events(jetd: Jetd) -> None:
    user = "6421000006"  # Gy Texts: 0.15 a text, 1.00 a GB
    gw, _ = await Gateway.connect(jetd)
    try:
        m = ccr("pgw1;single;1", 1, 0, user)  # no Multiple-Services-Credit-Control
        del m.multiple_services_indicator
        m.requested_service_unit = RequestedServiceUnit()
        cca = await gw.request(m)
        assert cca.result_code == 2001 and cca.granted_service_unit.cc_total_octets == MB
        assert cca.validity_time == 120
        m = ccr("pgw1;single;1", 3, 1)
        m.used_service_unit = [UsedServiceUnit(cc_total_octets=GB // 2)]
        assert (await gw.request(m)).result_code == 2001
        for n in range(2):  # two texts, CCR-Event each
            m = ccr(f"smsc;text;{n}", 4, 0, user)
            m.requested_action = 0  # DIRECT_DEBITING
            m.requested_service_unit = RequestedServiceUnit(cc_service_specific_units=1)
            cca = await gw.request(m)
            assert cca.result_code == 2001 and cca.granted_service_unit.cc_service_specific_units == 1
    finally:
        await gw.close()
    # 0.5 GB x 1.00 + 2 texts x 0.15
    assert Decimal(_quota(jetd, user)["charges"]) == Decimal("0.80")


def text_event(session_id: str, subscriber: str, action: int, texts: int) -> Any:
    """An SMSC's CCR-Event: Requested-Action and CC-Service-Specific-Units."""
    m = ccr(session_id, 4, 0, subscriber)
    m.requested_action = action
    m.requested_service_unit = RequestedServiceUnit(cc_service_specific_units=texts)
    return m


async def test_one_shot_events_price_enquiry_balance_check_debit_and_refund(jetd: Jetd) -> None:
    """RFC 4006 §6.3-6.4, Requested-Action on CCR-Event: a price enquiry and a balance check charge
    nothing; a prepaid direct debit is all or nothing (a balance that does not pay for every text
    is left alone, 4012); a refund puts the price back once."""
    user, postpaid = "6421000016", "6421000006"  # Prepaid Texts, Gy Texts: 0.15 a text
    gw, _ = await Gateway.connect(jetd)
    try:
        cca = await gw.request(text_event("smsc;pp;0", user, 3, 2))  # PRICE_ENQUIRY
        cost = cca.cost_information
        assert cca.result_code == 2001 and cost.currency_code == 554  # NZD
        assert Decimal(cost.unit_value.value_digits).scaleb(cost.unit_value.exponent or 0) == Decimal("0.30")
        assert (await gw.request(text_event("smsc;pp;1", user, 2, 1))).check_balance_result == 1  # NO_CREDIT
        jetd.ctl("topup", user, "0.20")
        assert (await gw.request(text_event("smsc;pp;2", user, 2, 1))).check_balance_result == 0  # ENOUGH
        assert (await gw.request(text_event("smsc;pp;3", user, 2, 2))).check_balance_result == 1
        assert (await gw.request(text_event("smsc;pp;4", user, 0, 2))).result_code == 4012  # 0.30 > 0.20
        assert _quota(jetd, user)["balance"] == "0.200000"
        cca = await gw.request(text_event("smsc;pp;5", user, 0, 1))
        assert cca.result_code == 2001 and cca.granted_service_unit.cc_service_specific_units == 1
        assert _quota(jetd, user)["balance"] == "0.050000"
        for _ in range(2):  # REFUND_ACCOUNT, sent twice: refunded once
            assert (await gw.request(text_event("smsc;pp;5r", user, 1, 1))).result_code == 2001
        assert _quota(jetd, user)["balance"] == "0.200000"
        assert (await gw.request(text_event("smsc;pp;6", postpaid, 1, 1))).result_code == 5012
    finally:
        await gw.close()


async def test_asr_when_the_account_is_suspended(jetd: Jetd) -> None:
    user, sid = "6421000005", "pgw1;asr;1"
    gw, _ = await Gateway.connect(jetd)
    try:
        assert (await gw.request(ccr(sid, 1, 0, user, groups={10: (0, None)}))).result_code == 2001
        # The suspension itself sends the ASR (builtin.abort_on_suspend), by hand or not.
        await asyncio.to_thread(jetd.ctl, "account", "suspend", user)
        await gw.answer_next(274, sid)

        await _hook_recorded(jetd, "builtin.abort_on_suspend", "abort: 2001")
        # And by hand, as before.
        asr_run = asyncio.create_task(asyncio.to_thread(jetd.ctl, "diameter", "asr", user, "--json"))
        await gw.answer_next(274, sid)
        assert [item["result"] for item in json.loads((await asr_run).stdout)["items"]] == [2001]
        number = 1
        while True:  # the account cache follows the suspension shortly
            cca = await gw.request(ccr(sid, 2, number, groups={10: (0, 0)}))
            number += 1
            if cca.result_code == 4010:
                break
            assert number < 100, "suspension never reached the account cache"
            await asyncio.sleep(0.2)
        assert (await gw.request(ccr(sid, 3, number, groups={10: (None, 0)}))).result_code == 2001
    finally:
        await gw.close()


async def test_radius_and_diameter_draw_on_one_bundle_without_overspending(jetd: Jetd) -> None:
    user = "6421000003"  # Gy Capped: 2.5 MB, then blocked
    acct = jetd.listener("radius-acct").removeprefix("udp://")
    stamp = "Jul 15 2026 01:00:00 UTC"

    def radius(status: str, octets: int) -> str | None:
        pairs = (f'User-Name = "{user}", Acct-Session-Id = "r1", Acct-Status-Type = {status}, '
                 f'NAS-IP-Address = 127.0.0.1, Event-Timestamp = "{stamp}", Acct-Output-Octets = {octets}\n')
        answer = radclient(acct, "acct", SECRET, pairs)
        assert answer.code, answer.output
        return answer.code

    auth = jetd.listener("radius-auth").removeprefix("udp://")

    def login() -> Any:
        return radclient(auth, "auth", SECRET, f'User-Name = "{user}", User-Password = "pw-{user}"\n')

    assert radius("Start", 0) == "Accounting-Response"
    assert radius("Interim-Update", MB) == "Accounting-Response"  # RADIUS used 1 MB of 2.5
    assert login().attributes["Mikrotik-Total-Limit"] == "1500000"  # what a new session may use
    gw, _ = await Gateway.connect(jetd)
    try:
        g1 = grants(await gw.request(ccr("pgw1;both;1", 1, 0, user, groups={10: (0, None)})))
        assert granted(g1[10]) == MB and g1[10].final_unit_indication is None
        assert login().attributes["Mikrotik-Total-Limit"] == "500000"  # less what the grant holds
        g2 = grants(await gw.request(ccr("pgw1;both;2", 1, 0, user, groups={20: (0, None)})))
        assert granted(g2[20]) == MB // 2 and g2[20].final_unit_indication is not None  # 1.5 - 1 held
        third = await gw.request(ccr("pgw1;both;3", 1, 0, user, groups={10: (0, None)}))
        assert third.result_code == 4012  # everything left is held by the two grants
        refused = login()  # and so is a NAS login
        assert (refused.code, refused.attributes["Reply-Message"]) == \
            ("Access-Reject", "The data allowance is used up")
        # Both sessions use what they were granted, and end.
        for sid, rg, used in (("pgw1;both;1", 10, MB), ("pgw1;both;2", 20, MB // 2)):
            assert (await gw.request(ccr(sid, 3, 1, groups={rg: (None, used)}))).result_code == 2001
        assert (await gw.request(ccr("pgw1;both;3", 3, 1))).result_code == 2001
    finally:
        await gw.close()
    quota = _quota(jetd, user)
    assert Decimal(quota["counters"]["bundle:data"]) == Decimal(2_500_000)  # used up, not overspent
    assert radius("Stop", MB) == "Accounting-Response"
    assert login().code == "Access-Reject"  # the bundle blocks, on RADIUS too


async def test_a_session_moved_to_the_gateways_mate_gets_its_rar_there_and_is_charged_once(
        jetd: Jetd, module_redis_url: str) -> None:
    """pgw1 opens the session and its mate pgw2 carries on (a gateway failover): the RAR goes to
    pgw2, and the usage stays one session under pgw1, charged once (0.10: 1 GB of web at peak)."""
    user, sid = "6421000017", "pgw1;moved;1"
    gw1, _ = await Gateway.connect(jetd)
    gw2, _ = await Gateway.connect(jetd, GW2_HOST)
    try:
        assert (await gw1.request(ccr(sid, 1, 0, user, groups={10: (0, None)}))).result_code == 2001
        assert (await gw1.request(ccr(sid, 2, 1, groups={10: (0, GB // 4)}))).result_code == 2001
        assert (await gw2.request(ccr(sid, 2, 2, groups={10: (0, GB // 4)}))).result_code == 2001
        shown = json.loads(jetd.ctl("diameter", "sessions", "--user", user, "--json").stdout)["items"]
        assert [(s["session_id"], s["peer"]) for s in shown] == [(sid, GW2_HOST)]
        rar = asyncio.create_task(asyncio.to_thread(jetd.ctl, "diameter", "rar", user, "--json"))
        await gw2.answer_next(258, sid)
        assert [a["result"] for a in json.loads((await rar).stdout)["items"]] == [2001]
        assert (await gw2.request(ccr(sid, 3, 3, groups={10: (None, GB // 2)}))).result_code == 2001
    finally:
        await gw1.close()
        await gw2.close()
    assert Decimal(_quota(jetd, user)["charges"]) == Decimal("0.10")
    done = [s["sid"] for s in _handed_off(module_redis_url) if sid in s["sid"]]
    assert done == [f"diameter:{GW_HOST}/{sid}#10"]


async def test_a_restarted_jetd_takes_up_its_sessions(
        jetd: Jetd, tmp_path_factory: pytest.TempPathFactory, module_redis_url: str) -> None:
    """A jetd restarted (an upgrade) answers its sessions' next CCR-Update and RAR as if it had
    never stopped, instead of 5002 DIAMETER_UNKNOWN_SESSION_ID (which ends the subscriber's
    session at the gateway); usage before and after the restart is charged once, a request sent
    again after it too."""
    user, sid = "6421000008", "pgw1;restart;1"  # Smart Data: web at peak 0.10 a GB
    database = "sqlite+aiosqlite:///" + str(Path(jetd.config).parent / "jet.db")
    config = _config(tmp_path_factory.mktemp("diameter-restart"), module_redis_url, database)
    daemon = Jetd(config)
    try:
        daemon.wait_ready()
        gw, _ = await Gateway.connect(daemon)
        try:
            assert (await gw.request(ccr(sid, 1, 0, user, groups={10: (0, None)}))).result_code == 2001
            assert (await gw.request(ccr(sid, 2, 1, groups={10: (0, GB // 2)}))).result_code == 2001
        finally:
            await gw.close()
        assert daemon.stop() == 0
        daemon = Jetd(config)
        daemon.wait_ready()
        gw, _ = await Gateway.connect(daemon)
        try:
            shown = json.loads(daemon.ctl("diameter", "sessions", "--user", user, "--json").stdout)["items"]
            assert [(s["session_id"], s["rating_groups"], s["here"]) for s in shown] == [(sid, [10], False)]
            # the CCA to CCR-U 1 was lost in the restart: the gateway sends it again, and its 0.5 GB
            # is not charged twice
            cca = await gw.request(ccr(sid, 2, 1, groups={10: (0, GB // 2)}))
            assert cca.result_code == 2001 and granted(grants(cca)[10]) == MB
            rar = asyncio.create_task(asyncio.to_thread(daemon.ctl, "diameter", "rar", user, "--json"))
            await gw.answer_next(258, sid)
            assert [a["result"] for a in json.loads((await rar).stdout)["items"]] == [2001]
            cca = await gw.request(ccr(sid, 2, 2, groups={10: (0, GB // 2)}))
            assert cca.result_code == 2001 and granted(grants(cca)[10]) == MB
            assert (await gw.request(ccr(sid, 3, 3, groups={10: (None, 0)}))).result_code == 2001
            assert (await gw.request(ccr(sid, 2, 4, groups={10: (0, 1)}))).result_code == 5002  # over
        finally:
            await gw.close()
    finally:
        daemon.stop()
    quota = _quota(jetd, user)
    assert Decimal(quota["charges"]) == Decimal("0.10") and quota["open_sessions"] == 0  # 1 GB of web
    done = [s for s in _handed_off(module_redis_url) if sid in s["sid"]]
    assert [s["sid"] for s in done] == [f"diameter:{GW_HOST}/{sid}#10"]
    assert redis.Redis.from_url(module_redis_url).exists(f"jet:gy:{sid}") == 0


async def test_two_jetd_hosts_on_one_redis_never_grant_one_bundle_twice(
        jetd: Jetd, tmp_path_factory: pytest.TempPathFactory, module_redis_url: str) -> None:
    """Grants are held in Redis: a gateway on a second jetd (same Redis, same database) sees what
    the first jetd granted, and the two never hand out more than the bundle has."""
    user = "6421000007"  # Gy Capped: 2.5 MB, then blocked
    database = "sqlite+aiosqlite:///" + str(Path(jetd.config).parent / "jet.db")
    second = Jetd(_config(tmp_path_factory.mktemp("diameter-b"), module_redis_url, database))
    second.wait_ready()
    gw_a, _ = await Gateway.connect(jetd)
    gw_b, _ = await Gateway.connect(second)
    try:
        a1 = grants(await gw_a.request(ccr("pgw1;two;a1", 1, 0, user, groups={10: (0, None)})))
        b1 = grants(await gw_b.request(ccr("pgw1;two;b1", 1, 0, user, groups={10: (0, None)})))
        assert (granted(a1[10]), granted(b1[10])) == (MB, MB)
        b2 = grants(await gw_b.request(ccr("pgw1;two;b2", 1, 0, user, groups={20: (0, None)})))
        assert granted(b2[20]) == MB // 2 and b2[20].final_unit_indication is not None
        shown = json.loads(jetd.ctl("diameter", "sessions", "--user", user, "--json").stdout)["items"]
        # every session of the user, whichever jetd serves it ("here": this one)
        assert [(s["session_id"], s["held_octets"], s["here"]) for s in shown] == [
            ("pgw1;two;a1", 2_500_000, True), ("pgw1;two;b1", 2_500_000, False),
            ("pgw1;two;b2", 2_500_000, False)]
        # and so does the listing of everyone's sessions
        everyone = json.loads(jetd.ctl("diameter", "sessions", "--json").stdout)["items"]
        assert [(s["session_id"], s["here"]) for s in everyone if s["user"] == user] == [
            ("pgw1;two;a1", True), ("pgw1;two;b1", False), ("pgw1;two;b2", False)]
        refused = await gw_a.request(ccr("pgw1;two;a2", 1, 0, user, groups={10: (0, None)}))
        assert refused.result_code == 4012
        # a1 reports 0.4 MB and asks again: the 0.6 MB it did not use is all that is left
        again = grants(await gw_a.request(ccr("pgw1;two;a1", 2, 1, groups={10: (0, 400_000)})))
        assert granted(again[10]) == 600_000 and again[10].final_unit_indication is not None
        for gw, sid, rg, used in ((gw_a, "pgw1;two;a1", 10, 600_000), (gw_b, "pgw1;two;b1", 10, MB),
                                  (gw_b, "pgw1;two;b2", 20, MB // 2)):
            assert (await gw.request(ccr(sid, 3, 2, groups={rg: (None, used)}))).result_code == 2001
        assert (await gw_a.request(ccr("pgw1;two;a2", 3, 1))).result_code == 2001
    finally:
        await gw_a.close()
        await gw_b.close()
        second.stop()
    assert Decimal(_quota(jetd, user)["counters"]["bundle:data"]) == Decimal(2_500_000)
