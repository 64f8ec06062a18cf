"""Realm auth mode `ldap`: PAP checked against the realm's own directory (a private slapd)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.acceptance.harness import Jetd, base_config, wait_for
from tests.acceptance.radclient import radclient
from tests.hooks.directory import SUFFIX, Slapd, slapd

pytestmark = pytest.mark.timeout(600)

PRICEBOOK = Path(__file__).parents[2] / "config" / "pricebook.example.toml"
SECRET = "ldap-secret"


@pytest.fixture(scope="module")
def directory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Slapd]:
    with slapd(tmp_path_factory.mktemp("slapd")) as server:
        yield server


@pytest.fixture(scope="module")
def jetd(tmp_path_factory: pytest.TempPathFactory, module_redis_url: str, directory: Slapd) -> Iterator[Jetd]:
    tmp = tmp_path_factory.mktemp("radius-ldap")
    config = tmp / "jet.toml"
    config.write_text(base_config(
        tmp, module_redis_url,
        catalog=f'[catalog]\nfiles = ["{PRICEBOOK}"]\n',
        clients=f'[[radius.clients]]\nname = "nas1"\naddress = "127.0.0.1"\nsecret = "{SECRET}"\n',
    ))
    daemon = Jetd(config)
    daemon.wait_ready()
    settings = {"url": directory.url, "bind_dn": f"uid={{user}},ou=people,{SUFFIX}", "timeout": 3}
    daemon.ctl("realm", "add", "corp", "--domain", "corp.example", "--auth-mode", "ldap",
               "--auth-settings", json.dumps(settings))
    daemon.ctl("account", "add", "alice@corp", "--plan", "Fibre 300")  # no password: the directory has it
    wait_for(lambda: _login(daemon, "alice@corp.example", "alice-pw") == "Access-Accept")
    yield daemon
    daemon.stop()




def _login(daemon: Jetd, user: str, password: str) -> str | None:
    server = daemon.listener("radius-auth").removeprefix("udp://")
    return radclient(server, "auth", SECRET, f'User-Name = "{user}", User-Password = "{password}"\n').code


def test_the_directory_decides_the_password(jetd: Jetd) -> None:
    assert _login(jetd, "alice@corp.example", "alice-pw") == "Access-Accept"
    assert _login(jetd, "alice@corp.example", "not-her-password") == "Access-Reject"


def test_jet_still_decides_status_and_plan(jetd: Jetd) -> None:
    jetd.ctl("account", "suspend", "alice@corp")
    try:
        wait_for(lambda: _login(jetd, "alice@corp.example", "alice-pw") == "Access-Reject")
    finally:
        jetd.ctl("account", "resume", "alice@corp")
    wait_for(lambda: _login(jetd, "alice@corp.example", "alice-pw") == "Access-Accept")


def test_directory_down_means_no_answer_not_a_reject(jetd: Jetd, directory: Slapd) -> None:
    wait_for(lambda: _login(jetd, "alice@corp.example", "alice-pw") == "Access-Accept")  # active again
    directory.stop()
    try:
        assert _login(jetd, "alice@corp.example", "alice-pw") is None  # the NAS retries or fails over
    finally:
        directory.start()
    wait_for(lambda: _login(jetd, "alice@corp.example", "alice-pw") == "Access-Accept")
