"""The control registry: requests in, JSON answers out, never a crash."""

from __future__ import annotations

from pathlib import Path

from jetd.app import App
from jetd.control import Args, command, dispatch
from jetd.errors import UsageError
from jetd.loading import Loaded
from jetd.settings import parse_settings


def _app() -> App:
    return App(Loaded(Path("jet.toml"), parse_settings("", "jet.toml")))


@command("test.echo")
async def _echo(app: App, args: Args) -> dict[str, object]:
    return {"name": args.need_str("name"), "n": args.get_int("n", 1)}


@command("test.boom")
async def _boom(app: App, args: Args) -> None:
    raise RuntimeError("bug")


@command("test.usage")
async def _usage(app: App, args: Args) -> None:
    raise UsageError("account bob not found")


async def test_dispatch_runs_a_registered_command() -> None:
    assert await dispatch(_app(), {"command": "test.echo", "args": {"name": "x", "n": 3}}) == {
        "ok": True, "result": {"name": "x", "n": 3}}


async def test_bad_requests_get_a_message_not_an_exception() -> None:
    app = _app()
    assert await dispatch(app, ["status"]) == {
        "ok": False, "error": 'request must be {"command": NAME, "args": {...}}'}
    assert await dispatch(app, {"command": "nope"}) == {"ok": False, "error": "unknown command: nope"}
    assert await dispatch(app, {"command": "test.echo", "args": {}}) == {
        "ok": False, "error": "missing argument: name"}
    assert await dispatch(app, {"command": "test.echo", "args": {"name": "x", "n": "3"}}) == {
        "ok": False, "error": "argument n must be an integer"}
    assert await dispatch(app, {"command": "test.usage"}) == {"ok": False, "error": "account bob not found"}


async def test_a_bug_in_a_command_is_reported_and_logged(caplog) -> None:  # type: ignore[no-untyped-def]
    reply = await dispatch(_app(), {"command": "test.boom"})
    assert reply == {"ok": False, "error": "internal error in test.boom; see the jetd log"}
    assert "control command test.boom failed" in caplog.text
