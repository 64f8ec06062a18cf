"""Realm auth mode `proxy`: a realm's users live in another RADIUS system (here, a second
jetd); Jet relays the Access-Request and the answer, with failover."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.acceptance.harness import Jetd, base_config, wait_for
from tests.acceptance.radclient import radclient
from tests.servers import free_port

pytestmark = pytest.mark.timeout(600)

PRICEBOOK = Path(__file__).parents[2] / "config" / "pricebook.example.toml"
NAS_SECRET = "nas-secret"
PROXY_SECRET = "between-servers"


def _start(tmp: Path, redis_url: str, clients: str) -> Jetd:
    tmp.mkdir()
    config = tmp / "jet.toml"
    config.write_text(base_config(tmp, redis_url, catalog=f'[catalog]\nfiles = ["{PRICEBOOK}"]\n',
                                  clients=clients))
    daemon = Jetd(config)
    daemon.wait_ready()
    return daemon


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory, module_redis_url: str) -> Iterator[tuple[Jetd, Jetd]]:
    tmp = tmp_path_factory.mktemp("proxy")
    home = _start(tmp / "home", module_redis_url,
                  f'[[radius.clients]]\nname = "edge"\naddress = "127.0.0.1"\nsecret = "{PROXY_SECRET}"\n')
    home.ctl("account", "add", "bob", "--password", "bobs-pw", "--plan", "Home 100")
    edge = _start(tmp / "edge", module_redis_url.rsplit("/", 1)[0] + "/15",
                  f'[[radius.clients]]\nname = "nas1"\naddress = "127.0.0.1"\nsecret = "{NAS_SECRET}"\n')
    dead = f"127.0.0.1:{free_port()}"  # nothing answers here: failover to the next server
    upstream = home.listener("radius-auth").removeprefix("udp://")
    settings = {"servers": [{"address": dead, "secret": PROXY_SECRET},
                            {"address": upstream, "secret": PROXY_SECRET}], "timeout": 1}
    edge.ctl("realm", "add", "partner", "--domain", "partner.example", "--auth-mode", "proxy",
             "--auth-settings", json.dumps(settings))
    # Until the home jetd's account cache has bob, the answer is a (relayed) reject.
    wait_for(lambda: _login(edge, "bob@partner.example", "bobs-pw") == "Access-Accept")
    yield home, edge
    edge.stop()
    home.stop()




def _login(daemon: Jetd, user: str, password: str) -> Any:
    server = daemon.listener("radius-auth").removeprefix("udp://")
    return radclient(server, "auth", NAS_SECRET, f'User-Name = "{user}", User-Password = "{password}"\n',
                     timeout=5.0).code


def test_the_upstream_decides_with_failover(servers: tuple[Jetd, Jetd]) -> None:
    _, edge = servers
    # The first upstream never answers; the second (the home jetd, which holds "bob") does.
    assert _login(edge, "bob@partner.example", "bobs-pw") == "Access-Accept"
    assert _login(edge, "bob@partner.example", "wrong") == "Access-Reject"


def test_the_upstream_reply_attributes_are_relayed(servers: tuple[Jetd, Jetd]) -> None:
    _, edge = servers
    server = edge.listener("radius-auth").removeprefix("udp://")
    answer = radclient(server, "auth", NAS_SECRET,
                       'User-Name = "bob@partner.example", User-Password = "bobs-pw"\n', timeout=5.0)
    assert answer.code == "Access-Accept"
    assert answer.attributes["Mikrotik-Rate-Limit"] == "100M/100M"  # from the home server's plan
    assert "Message-Authenticator" in answer.attributes
    _, metrics = edge.http_get(edge.listener("metrics"))
    assert 'jet_radius_proxied_total{result="accept"}' in metrics
