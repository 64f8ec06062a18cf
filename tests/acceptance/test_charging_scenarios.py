"""Pricing scenarios S1–S8 end to end: accounting over RADIUS (radclient), rated
and applied in Redis by jetd, read back with jetctl, then billed by jet-invoicer from the
session streams. Figures exact (../shared/scenarios)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.acceptance.harness import BIN, Jetd, base_config, wait_for
from tests.acceptance.radclient import radclient

# Each test starts jetd processes: generous on a loaded CI machine (no timing is asserted).
pytestmark = pytest.mark.timeout(600)

PRICEBOOK = Path(__file__).parents[2] / "config" / "pricebook.example.toml"
SECRET = "scenario-secret"
GB = 1_000_000_000
NZST = timedelta(hours=12)  # Pacific/Auckland in June


def _config(tmp: Path, redis_url: str, database: str, name: str) -> Path:
    (tmp / name).mkdir()
    dictionary = tmp / "dictionary.dpi"
    dictionary.write_text("VENDOR Jet-DPI 64999\nBEGIN-VENDOR Jet-DPI\n"
                          "ATTRIBUTE Jet-Traffic-Class 1 string\nEND-VENDOR Jet-DPI\n")
    config = tmp / name / "jet.toml"
    text = base_config(
        tmp / name, redis_url,
        catalog=f'[catalog]\nfiles = ["{PRICEBOOK}", "{PRICEBOOK.parent / "pricebook.visp.example.toml"}"]\n',
        clients=f'[[radius.clients]]\nname = "bras1"\naddress = "127.0.0.1"\nsecret = "{SECRET}"\n',
        invoicer=f'[invoicer]\nprint_outbox = "{tmp / "outbox"}"\nrender_processes = 1\n',
    )
    text = text.replace('[radius]\n', f'[radius]\ndictionaries = ["{dictionary}"]\n')
    text = text.replace(f"sqlite+aiosqlite:///{tmp / name / 'jet.db'}", database)
    config.write_text(text)
    return config


@pytest.fixture(scope="module")
def two_jetds(tmp_path_factory: pytest.TempPathFactory, module_redis_url: str
              ) -> Iterator[tuple[Jetd, Jetd]]:
    """Two jetd processes on one Redis and one database, as two hosts would run."""
    tmp = tmp_path_factory.mktemp("scenarios")
    database = f"sqlite+aiosqlite:///{tmp / 'shared.db'}"
    first = Jetd(_config(tmp, module_redis_url, database, "a"))
    first.wait_ready()
    second = Jetd(_config(tmp, module_redis_url, database, "b"))
    second.wait_ready()
    for user, plan in (("s1user", "Home 100"), ("s2user", "Business Metered"), ("s3user", "Smart Data"),
                       ("s4user", "Talk Standard"), ("s4buser", "Wholesale Voice"), ("s5user", "Solar Home"),
                       ("s6user", "Talk 250")):
        first.ctl("account", "add", user, "--password", f"pw-{user}", "--plan", plan)
        first.ctl("account", "plan", user, plan, "--from", "2026-06-01")
    for daemon in (first, second):
        wait_for(lambda d=daemon: _login(d, "s6user") == "Access-Accept")
    yield first, second
    second.stop()
    first.stop()




def _login(daemon: Jetd, user: str) -> str | None:
    server = daemon.listener("radius-auth").removeprefix("udp://")
    return radclient(server, "auth", SECRET, f'User-Name = "{user}", User-Password = "pw-{user}"\n').code


def _record(user: str, session: str, status: str, at: datetime, octets: int = 0, seconds: int = 0,
            extra: str = "") -> str:
    stamp = at.astimezone(UTC).strftime("%b %d %Y %H:%M:%S UTC")
    return (f'User-Name = "{user}", Acct-Session-Id = "{session}", Acct-Status-Type = {status}, '
            f'NAS-IP-Address = 127.0.0.1, Event-Timestamp = "{stamp}", Acct-Session-Time = {seconds}, '
            f'Acct-Output-Octets = {octets & 0xFFFFFFFF}, Acct-Output-Gigawords = {octets >> 32}{extra}\n')


def _send(daemon: Jetd, *records: str) -> None:
    server = daemon.listener("radius-acct").removeprefix("udp://")
    for record in records:
        assert radclient(server, "acct", SECRET, record).code == "Accounting-Response", record


def _quota(daemon: Jetd, user: str) -> dict[str, Any]:
    return dict(json.loads(daemon.ctl("account", "show", user, "--json").stdout)["quota"])


def _nz(day: int, hour: int, minute: int = 0) -> datetime:
    """A wall-clock time in Auckland in June 2026."""
    return datetime(2026, 6, day, hour, minute, tzinfo=UTC) - NZST


def test_s2_bands_across_three_sessions_and_two_jetd_processes(two_jetds: tuple[Jetd, Jetd]) -> None:
    a, b = two_jetds
    # Three sessions of 20, 25 and 20 GB, their interims alternating between the two jetds,
    # with band edges (10 GB, 50 GB) crossed inside single interims.
    plan = [("one", [7, 20]), ("two", [13, 25]), ("three", [4, 20])]
    daemons = [a, b]
    turn = 0
    for day, (session, cumulative) in enumerate(plan, start=2):
        _send(daemons[turn % 2], _record("s2user", session, "Start", _nz(day, 9)))
        turn += 1
        for step, gigabytes in enumerate(cumulative, start=1):
            status = "Stop" if step == len(cumulative) else "Interim-Update"
            _send(daemons[turn % 2], _record("s2user", session, status, _nz(day, 9 + step), gigabytes * GB))
            turn += 1
    quota = _quota(a, "s2user")
    assert quota["counters"]["data"] == str(65 * GB)
    assert quota["charges"] == "95.000000"  # 10×2.00 + 40×1.50 + 15×1.00
    assert _quota(b, "s2user")["charges"] == "95.000000"


def test_s3_data_class_and_peak_split_from_interims(two_jetds: tuple[Jetd, Jetd]) -> None:
    a, _ = two_jetds
    # Jet-Traffic-Class (vendor 64999, type 1) as the edge device sends it; radclient has no
    # dictionary for it, so it goes raw.
    web = f", Attr-26.64999.1 = 0x{b'web'.hex()}"
    p2p = f", Attr-26.64999.1 = 0x{b'p2p'.hex()}"
    # A: web, Tue 9 June 19:30–20:30, interims every 15 min, 0.5 GB each.
    records = [_record("s3user", "A", "Start", _nz(9, 19, 30), extra=web)]
    for i, minute in enumerate((45, 60, 75, 90), start=1):
        status = "Stop" if i == 4 else "Interim-Update"
        records.append(_record("s3user", "A", status, _nz(9, 19) + timedelta(minutes=minute),
                               i * GB // 2, extra=web))
    # B: p2p, Sat 13 June 01:00–03:00, 10 GB.
    records += [_record("s3user", "B", "Start", _nz(13, 1), extra=p2p),
                _record("s3user", "B", "Stop", _nz(13, 3), 10 * GB, extra=p2p)]
    # C: p2p, Tue 9 June 10:00–10:30, 1 GB.
    records += [_record("s3user", "C", "Start", _nz(9, 10), extra=p2p),
                _record("s3user", "C", "Stop", _nz(9, 10, 30), GB, extra=p2p)]
    # D: web, Tue 9 June 07:50–08:10, Start then Stop, 0.4 GB.
    records += [_record("s3user", "D", "Start", _nz(9, 7, 50), extra=web),
                _record("s3user", "D", "Stop", _nz(9, 8, 10), 4 * GB // 10, extra=web)]
    _send(a, *records)
    quota = _quota(a, "s3user")
    assert quota["charges"] == "0.380000"  # A 0.15 + B 0.00 + C 0.20 + D 0.03
    assert quota["counters"]["data:web"] == str(2 * GB + 4 * GB // 10)
    assert quota["counters"]["data:p2p"] == str(11 * GB)


def test_s6_money_bundle_with_one_warning_at_80_percent(two_jetds: tuple[Jetd, Jetd]) -> None:
    a, b = two_jetds
    calls = [("61298765432", 60)] * 1000 + [("64211234567", 120)] * 290
    at = _nz(15, 12)
    records = [_record("s6user", f"call-{i}", "Stop", at + timedelta(minutes=i), seconds=seconds,
                       extra=f', Calling-Station-Id = "6493001111", Called-Station-Id = "{number}"')
               for i, (number, seconds) in enumerate(calls)]
    _, before = a.http_get(a.listener("metrics"))
    # radclient sends the 1,290 call records (one Stop each, blank-line separated), 20 at a
    # time, half to each jetd.
    half = len(records) // 2
    for daemon, part in ((a, records[:half]), (b, records[half:])):
        server = daemon.listener("radius-acct").removeprefix("udp://")
        answer = radclient(server, "acct", SECRET, "\n".join(part), parallel=20, timeout=5.0, retries=3)
        assert answer.output.count("Received Accounting-Response") == len(part), answer.output[-2000:]
    quota = _quota(a, "s6user")
    assert quota["charges"] == "50.200000"  # 300.20 of calls, 250.00 paid by the bundle
    assert quota["counters"]["bundle:calls"] == "250.0000"
    warnings = sum(_metric(d, 'jet_quota_thresholds_total{action="notify"}') for d in (a, b))
    assert warnings - _metric_text(before, 'jet_quota_thresholds_total{action="notify"}') == 1


def test_s1_quota_past_100_gb_costs_nothing(two_jetds: tuple[Jetd, Jetd]) -> None:
    a, _ = two_jetds
    records = [_record("s1user", "s1", "Start", _nz(4, 10))]
    records += [_record("s1user", "s1", "Interim-Update", _nz(day, 10), gigabytes * GB)
                for day, gigabytes in ((5, 50), (6, 79), (7, 81), (8, 99), (9, 101), (10, 110))]
    records.append(_record("s1user", "s1", "Stop", _nz(11, 10), 120 * GB))
    _send(a, *records)
    quota = _quota(a, "s1user")
    assert quota["counters"]["data"] == str(120 * GB) and quota["charges"] == "0.000000"


S4_CALLS = [("6493002222", 300), ("6444720000", 61), ("64211234567", 45), ("61412345678", 125),
            ("61298765432", 10)]


@pytest.mark.parametrize(("user", "charges"), [("s4user", "1.292000"), ("s4buser", "0.924000")])
def test_s4_calls_from_a_to_b(two_jetds: tuple[Jetd, Jetd], user: str, charges: str) -> None:
    """S4 (zones by A and B, increments, connection fees) and S4b (carrier cost + 20%)."""
    a, _ = two_jetds
    _send(a, *(_record(user, f"call-{i}", "Stop", _nz(15, 9, i), seconds=seconds,
                       extra=f', Calling-Station-Id = "6493001111", Called-Station-Id = "{number}"')
               for i, (number, seconds) in enumerate(S4_CALLS)))
    assert _quota(a, user)["charges"] == charges  # S4 1.2920; S4b 0.9240


def test_s5_energy_into_and_out_of_the_grid(two_jetds: tuple[Jetd, Jetd]) -> None:
    """The meter gateway reports Wh taken from the grid as input octets and Wh sent to it as
    output octets (radius.energy_import_counter / energy_export_counter, the defaults)."""
    a, _ = two_jetds
    start, stop = datetime(2026, 6, 1, tzinfo=UTC) - NZST, datetime(2026, 6, 30, 23, tzinfo=UTC) - NZST
    wh = ('User-Name = "s5user", Acct-Session-Id = "meter-1", Acct-Status-Type = {status}, '
          'NAS-IP-Address = 127.0.0.1, Event-Timestamp = "{stamp}", '
          'Acct-Input-Octets = {imported}, Acct-Output-Octets = {exported}\n')
    readings = (("Start", start, 0, 0), ("Interim-Update", _nz(15, 12), 200_000, 150_000),
                ("Stop", stop, 450_000, 300_000))
    for status, at, imported, exported in readings:
        _send(a, wh.format(status=status, stamp=at.strftime("%b %d %Y %H:%M:%S UTC"), imported=imported,
                           exported=exported))
    assert _quota(a, "s5user")["charges"] == "102.000000"  # 450 × 0.28 − 300 × 0.08


def test_s8_a_wholesale_realms_usage(two_jetds: tuple[Jetd, Jetd]) -> None:
    """The realm visp.example's users use 10, 20 and 30 GB in June over RADIUS; the realm's
    owner, an account of the default realm, is billed for them (the invoicer test below)."""
    a, b = two_jetds
    owner = json.loads(a.ctl("account", "add", "visp-owner", "--plan", "VISP Wholesale", "--json").stdout)
    a.ctl("account", "plan", "visp-owner", "VISP Wholesale", "--from", "2026-06-01")
    a.ctl("realm", "add", "visp.example", "--domain", "visp.example", "--currency", "NZD",
          "--tax-name", "GST", "--tax-rate", "0.15", "--owner-account-id", str(owner["id"]))
    for user in ("alice", "bob", "carol"):
        a.ctl("account", "add", f"{user}@visp.example", "--password", f"pw-{user}@visp.example",
              "--plan", "VISP Home 50")
        a.ctl("account", "plan", f"{user}@visp.example", "VISP Home 50", "--from", "2026-06-01")
    for daemon in (a, b):
        wait_for(lambda d=daemon: _login(d, "carol@visp.example") == "Access-Accept")
    for day, (user, gigabytes) in enumerate((("alice", 10), ("bob", 20), ("carol", 30)), start=12):
        _send(b, _record(f"{user}@visp.example", f"v-{user}", "Start", _nz(day, 9)),
              _record(f"{user}@visp.example", f"v-{user}", "Stop", _nz(day, 11), gigabytes * GB))
    assert _quota(b, "carol@visp.example")["counters"]["data"] == str(30 * GB)


def _metric(daemon: Jetd, name: str) -> float:
    return _metric_text(daemon.http_get(daemon.listener("metrics"))[1], name)


def _metric_text(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    return 0.0


def test_the_invoicer_bills_the_scenarios_from_the_streams(two_jetds: tuple[Jetd, Jetd]) -> None:
    """Runs after S2, S3 and S6 (module order): their completed sessions are on the streams.
    June's usage is billed in arrears on the invoice of the period starting 1 July, with
    July's fees in advance; the example pricebook's default realm adds GST 15%."""
    a, _ = two_jetds
    done = subprocess.run([str(BIN / "jet-invoicer"), "--config", str(a.config), "run",
                           "--date", "2026-07-01"], capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout)
    listed = json.loads(a.ctl("invoice", "list", "--json").stdout)
    july = {i["username"]: (i["subtotal"], i["tax"], i["total"])
            for i in listed if i["period_start"] == "2026-07-01"}
    subtotals = {user: figures[0] for user, figures in july.items()}
    assert subtotals == {"visp-owner": "45.00", "alice": "39.00", "bob": "39.00", "carol": "39.00",
                         "s1user": "49.95",  # S1: July's fee; June's 120 GB cost 0.00
                         "s2user": "95.00",  # S2: 10×2.00 + 40×1.50 + 15×1.00
                         "s3user": "0.38",  # S3: A 0.15 + B 0.00 + C 0.20 + D 0.03
                         "s4user": "1.29",  # S4: 1.2920 of calls
                         "s4buser": "0.92",  # S4b: 0.9240
                         "s5user": "139.20",  # S5: June's 126.00 − 24.00, July's 31 days at 1.20
                         "s6user": "80.20"}  # S6: 30.00 + the 50.20 of calls past the bundle
    assert july["s2user"] == ("95.00", "14.25", "109.25") and july["s6user"] == ("80.20", "12.03", "92.23")
    # S8: the owner's July invoice: 3 active subscribers × 5.00 and June's 60 GB × 0.50
    assert july["visp-owner"] == ("45.00", "6.75", "51.75")
    june = {i["username"]: i["subtotal"] for i in listed if i["period_start"] == "2026-06-01"}
    assert june["s5user"] == "36.00" and june["s1user"] == "49.95"  # S5: June's 30 days at 1.20
    # no e-mail addresses: every invoice went to the print outbox as a PDF
    outbox = a.config.parent.parent / "outbox"  # <outbox>/<realm>/<number>.pdf
    made = sorted(f"{c['account'].partition('@')[2]}/{c['number']}.pdf" for c in report["created"])
    assert sorted(str(p.relative_to(outbox)) for p in outbox.glob("*/*.pdf")) == made
