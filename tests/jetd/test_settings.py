"""The settings schema as an operator meets it: keys, secrets, paths, errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from jetd.errors import ConfigError
from jetd.settings import load_settings, parse_settings


def _problems(text: str, file: str = "/etc/jet/jet.toml") -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_settings(text, file)
    return [str(p) for p in info.value.problems]


def test_defaults_cover_every_design_key() -> None:
    s = parse_settings("", "jet.toml")
    radius = (s.radius.listen, s.radius.auth_port, s.radius.acct_port, s.radius.workers)
    assert radius == ("0.0.0.0", 1812, 1813, 1)
    assert s.redis.url == "redis://127.0.0.1:6379/0"
    assert s.database.url.startswith("sqlite+aiosqlite://")
    assert str(s.control.socket) == "/run/jet/jetd.sock"
    assert (s.metrics.listen.host, s.metrics.listen.port) == ("127.0.0.1", 9812)
    assert (s.api.listen.host, s.api.listen.port) == ("127.0.0.1", 8080)
    assert (s.diameter.port, s.smtp.port, s.smtp.starttls) == (3868, 25, False)


def test_unknown_keys_are_named_with_their_path() -> None:
    assert _problems("[radius]\nlisten = '::'\nwokers = 2\n[nope]\n") == [
        "/etc/jet/jet.toml: radius.wokers: unknown key",
        "/etc/jet/jet.toml: nope: unknown key",
    ]


def test_invalid_toml_names_the_line() -> None:
    assert _problems("[radius]\nauth_port = = 1\n") == [
        "/etc/jet/jet.toml:2: (top): not valid TOML: Invalid value (at line 2, column 13)"
    ]


def test_client_address_and_listen_are_validated() -> None:
    problems = _problems(
        "[[radius.clients]]\nname='a'\naddress='bras'\nsecret='s'\n[metrics]\nlisten='localhost'\n"
    )
    assert problems[0].startswith("/etc/jet/jet.toml: radius.clients[0].address: not an address or CIDR")
    assert problems[1] == "/etc/jet/jet.toml: metrics.listen: expected HOST:PORT, got 'localhost'"


def test_listen_accepts_ipv6_and_bare_port() -> None:
    s = parse_settings("[api]\nlisten = '[::1]:8081'\n[metrics]\nlisten = ':9900'\n", "x.toml")
    assert (s.api.listen.host, s.api.listen.port) == ("::1", 8081)
    assert (s.metrics.listen.host, s.metrics.listen.port) == ("127.0.0.1", 9900)


def test_secret_inline_from_file_and_from_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "bras2.secret").write_text("from-a-file\n")
    monkeypatch.setenv("JET_TEST_SMTP_PASSWORD", "from-env")
    config = tmp_path / "jet.toml"
    config.write_text(
        "[[radius.clients]]\nname='bras1'\naddress='10.0.0.1'\nsecret='inline'\n"
        "[[radius.clients]]\nname='bras2'\naddress='10.0.1.0/24'\nsecret_file='bras2.secret'\n"
        "[smtp]\nusername='u'\npassword_env='JET_TEST_SMTP_PASSWORD'\n"
    )
    s = load_settings(config)
    assert [c.secret for c in s.radius.clients] == ["inline", "from-a-file"]
    assert s.smtp.password == "from-env"


def test_text_files_nested_deep_are_relative_to_the_config(tmp_path: Path) -> None:
    (tmp_path / "mail").mkdir()
    (tmp_path / "mail" / "welcome.txt").write_text("Hello $name\n")
    (tmp_path / "mail" / "visp-invoice.txt").write_text("Your bill $number\n")
    config = tmp_path / "jet.toml"
    config.write_text('[hooks.builtin.realms.visp.mails.welcome]\nbody_file = "mail/welcome.txt"\n'
                      '[invoicer.realms.visp]\ninvoice_body_file = "mail/visp-invoice.txt"\n')
    s = load_settings(config)
    assert s.hooks.builtin.realms["visp"].mails["welcome"].body == "Hello $name\n"
    assert s.invoicer.realms["visp"].invoice_body == "Your bill $number\n"


def test_secret_given_twice_or_missing_is_an_error(tmp_path: Path) -> None:
    problems = _problems(
        "[[radius.clients]]\nname='a'\naddress='10.0.0.1'\nsecret='x'\nsecret_file='/nonexistent'\n"
        "[[radius.clients]]\nname='b'\naddress='10.0.0.2'\nsecret_file='/nonexistent/b.secret'\n"
    )
    assert problems[0] == "/etc/jet/jet.toml: radius.clients[0]: give only one of secret, secret_file"
    assert problems[1] == (
        "/etc/jet/jet.toml: radius.clients[1]: secret_file: cannot read /nonexistent/b.secret: "
        "No such file or directory"
    )


def test_relative_paths_are_relative_to_the_config_file(tmp_path: Path) -> None:
    config = tmp_path / "etc" / "jet.toml"
    config.parent.mkdir()
    config.write_text("[catalog]\nfiles=['pricebook.toml', '/abs/p.toml']\n[control]\nsocket='run/j.sock'\n")
    s = load_settings(config)
    assert s.catalog.files == [config.parent / "pricebook.toml", Path("/abs/p.toml")]
    assert s.control.socket == config.parent / "run" / "j.sock"


def test_duplicate_client_names_are_refused() -> None:
    problems = _problems(
        "[[radius.clients]]\nname='a'\naddress='10.0.0.1'\nsecret='x'\n"
        "[[radius.clients]]\nname='a'\naddress='10.0.0.2'\nsecret='y'\n"
    )
    assert problems == ["/etc/jet/jet.toml: radius: client name 'a' is used twice"]


def test_missing_file_is_reported() -> None:
    with pytest.raises(ConfigError) as info:
        load_settings("/nonexistent/jet.toml")
    assert str(info.value) == "/nonexistent/jet.toml: (top): cannot read: No such file or directory"
