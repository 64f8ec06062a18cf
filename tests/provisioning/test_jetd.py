"""jetd with provisioning: migrated at start, jetctl over the control socket, /v1 mounted,
the account cache current; an unknown newer schema stops jetd from starting."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from click.testing import CliRunner
from sqlalchemy import text

import jetd.commands  # registers the control commands
import jetd.ctl.provisioning  # noqa: F401  registers the jetctl commands on cli
from jetd.api import ApiSite
from jetd.app import App
from jetd.control.server import ControlSite
from jetd.ctl.base import cli
from jetd.loading import load
from jetd.provisioning_site import ProvisioningSite
from jetd.runner import Runner
from provisioning.db import make_engine
from provisioning.errors import DatabaseTooNew

PRICEBOOK = Path(__file__).resolve().parents[2] / "config" / "pricebook.example.toml"
PLAN = "Home 100"


def _config(tmp_path: Path, database_url: str) -> Path:
    path = tmp_path / "jet.toml"
    path.write_text(f"""
[database]
url = "{database_url}"
[control]
socket = "{tmp_path / 'jetd.sock'}"
[api]
listen = "127.0.0.1:0"
[metrics]
enabled = false
[catalog]
files = ["{PRICEBOOK}"]
""")
    return path


async def jetctl(sock: Path, *argv: str, input: str | None = None) -> tuple[int, str, str]:
    def run() -> tuple[int, str, str]:
        result = CliRunner().invoke(cli, ["--socket", str(sock), *argv], input=input)
        return result.exit_code, result.stdout, result.stderr

    return await asyncio.to_thread(run)


async def jetctl_json(sock: Path, *argv: str) -> Any:
    code, out, err = await jetctl(sock, *argv, "--json")
    assert code == 0, err
    return json.loads(out)


async def test_jetd_serves_jetctl_api_and_cache(tmp_path: Path, database_url: str) -> None:
    app = App(load(_config(tmp_path, database_url)))
    sites = [ProvisioningSite(app, poll_interval=0.05), ApiSite(app), ControlSite(app)]
    runner = Runner(app, sites)  # type: ignore[arg-type]
    await runner.start()
    sock = tmp_path / "jetd.sock"
    try:
        token = (await jetctl_json(sock, "token", "create", "--operator"))["token"]
        a = await jetctl_json(sock, "account", "add", "alice", "--password", "pw", "--plan", PLAN,
                              "--email", "alice@example.net")
        assert a["username"] == "alice" and a["plan"] == PLAN
        code, _, err = await jetctl(sock, "account", "add", "bob", "--password", "pw", "--plan", "No Such")
        assert code == 1 and "plan" in err
        await jetctl_json(sock, "realm", "add", "isp2", "--domain", "isp2.example", "--allow-chap")
        await jetctl_json(sock, "account", "add", "bob@isp2.example", "--password", "pw")
        for verb, amount in (("topup", "5"), ("charge", "1.25"), ("payment", "10")):
            await jetctl_json(sock, verb, "alice", amount)
        await jetctl_json(sock, "account", "plan", "alice", PLAN, "--from", "2099-01-01")
        await jetctl_json(sock, "account", "suspend", "alice", "--reason", "test")
        shown = await jetctl_json(sock, "account", "show", "alice@default")
        assert {"username", "realm", "status", "plan", "balances", "usage"} <= set(shown)
        assert shown["status"] == "suspended" and shown["balances"]["balance"] == "13.75"
        assert "period_start" in shown["usage"]
        await jetctl_json(sock, "account", "resume", "alice")
        code, _, _ = await jetctl(sock, "account", "passwd", "bob", "--realm", "isp2", "--password", "new")
        assert code == 0
        listed = await jetctl_json(sock, "account", "list", "--realm", "isp2")
        assert [x["username"] for x in listed["items"]] == ["bob"]
        assert [r["name"] for r in await jetctl_json(sock, "realm", "list")] == ["default", "isp2"]
        code, out, _ = await jetctl(sock, "account", "show", "alice")
        assert code == 0 and "alice@default" in out and "13.75 EUR" in out
        assert "invoices    as the realm says" in out
        changed = await jetctl_json(sock, "account", "set", "alice", "--invoice-email", "off",
                                    "--contact-name", "Alice A.")
        assert changed["invoice_email"] is False and changed["contact_name"] == "Alice A."
        code, _, err = await jetctl(sock, "account", "set", "alice")
        assert code != 0 and "nothing to change" in err

        code, exported, _ = await jetctl(sock, "users", "export", "--realm", "isp2")
        assert code == 0 and 'bob\tCleartext-Password := "new"' in exported
        users = tmp_path / "users"
        users.write_text('carol Cleartext-Password := "c"\n\tFramed-IP-Address = 10.1.1.1\n'
                         "DEFAULT Auth-Type := Accept\n")
        code, _, err = await jetctl(sock, "users", "import", str(users))
        assert code == 1 and f"{users}:3:" in err and "nothing imported" in err + _
        code, out, _ = await jetctl(sock, "users", "import", str(users), "--partial")
        assert code == 1 and "imported 1 of 2" in out

        async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as http:
            api = app.listeners[0]["address"] if app.listeners else ""
            base = next(x["address"] for x in app.listeners if x["name"] == "api")
            async with http.get(f"{base}v1/accounts", params={"realm": "default"}) as resp:
                assert resp.status == 200, api
                names = [x["username"] for x in (await resp.json())["items"]]
            assert names == ["alice", "carol"]

        cache = app.services["account_cache"]
        for _ in range(100):
            rec = cache.get("isp2", "bob")
            if rec is not None and rec.cleartext == "new" and cache.get("default", "carol"):
                break
            await asyncio.sleep(0.05)
        rec = cache.get("isp2", "bob")
        assert rec is not None and rec.cleartext == "new"
        carol = cache.get("default", "carol")
        assert carol is not None and carol.static_ip == "10.1.1.1" and carol.status == "active"
        await jetctl_json(sock, "account", "delete", "carol")
    finally:
        await runner.stop()


async def test_jetd_refuses_a_database_from_a_newer_jet(tmp_path: Path, database_url: str,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    app = App(load(_config(tmp_path, database_url)))
    site = ProvisioningSite(app)
    await site.start()
    await site.stop()
    engine = make_engine(database_url)
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE alembic_version SET version_num = 'ffff_newer'"))
    await engine.dispose()
    with pytest.raises(DatabaseTooNew, match="ffff_newer"):
        await ProvisioningSite(app).start()
    assert "newer Jet" in caplog.text and "will not start" in caplog.text
