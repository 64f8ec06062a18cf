"""jetd as an operator sees it: start, status, metrics, reload, drain."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.acceptance.harness import BIN, Jetd, base_config, wait_for


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "jet.toml"
    path.write_text(base_config(tmp_path))
    return path


@pytest.fixture
def jetd(config: Path) -> Iterator[Jetd]:
    daemon = Jetd(config)
    daemon.wait_ready()
    yield daemon
    daemon.stop()




def test_status_lists_listeners_and_config(jetd: Jetd, config: Path) -> None:
    status = jetd.status()
    assert status["config"] == str(config)
    assert status["version"]
    names = {entry["name"] for entry in status["listeners"]}
    assert {"control", "metrics", "api"} <= names
    human = jetd.ctl("status").stdout
    assert "listener   control" in human and str(config) in human


def test_metrics_and_healthz_answer(jetd: Jetd) -> None:
    code, body = jetd.http_get(jetd.listener("metrics"))
    assert code == 200
    assert 'jet_build_info{python="' in body
    assert "process_resident_memory_bytes" in body
    code, body = jetd.http_get(jetd.listener("api") + "healthz")
    assert code == 200 and json.loads(body)["status"] == "ok"


def test_sighup_reload_applies_a_changed_value(jetd: Jetd, config: Path) -> None:
    assert jetd.status()["settings"]["log_level"] == "info"
    config.write_text(config.read_text().replace('level = "info"', 'level = "debug"'))
    jetd.signal(signal.SIGHUP)
    wait_for(lambda: jetd.status()["reloads"] == 1)
    assert jetd.status()["settings"]["log_level"] == "debug"
    _, metrics = jetd.http_get(jetd.listener("metrics"))
    assert 'jet_config_reloads_total{result="applied"} 1.0' in metrics


def test_broken_config_on_reload_is_refused_and_daemon_keeps_serving(jetd: Jetd, config: Path) -> None:
    good = config.read_text()
    config.write_text(good.replace('level = "info"', 'level = "loud"') + '\n[radius.bogus]\nx = 1\n')
    result = jetd.ctl("reload", check=False)
    assert result.returncode != 0
    assert "refused" in result.stderr
    assert f"{config}: log.level: Input should be 'debug', 'info', 'warning' or 'error'" in result.stderr
    assert f"{config}: radius.bogus: unknown key" in result.stderr
    # SIGHUP with the same broken file: logged, not applied, daemon alive.
    jetd.signal(signal.SIGHUP)
    wait_for(lambda: "reload refused" in jetd.log.read_text())
    status = jetd.status()
    assert status["reloads"] == 0 and status["settings"]["log_level"] == "info"
    _, metrics = jetd.http_get(jetd.listener("metrics"))
    assert "jet_config_last_reload_successful 0.0" in metrics
    # Fixed file: jetctl reload succeeds.
    config.write_text(good)
    assert "reloaded" in jetd.ctl("reload").stdout
    assert jetd.status()["reloads"] == 1


def test_sigterm_drains_and_exits_zero_within_five_seconds(config: Path) -> None:
    daemon = Jetd(config)
    daemon.wait_ready()
    socket_path = Path(daemon.status()["listeners"][-1]["address"].removeprefix("unix:"))
    started = time.monotonic()
    daemon.signal(signal.SIGTERM)
    assert daemon.proc.wait(timeout=5) == 0
    assert time.monotonic() - started < 5
    daemon.stop()
    assert not socket_path.exists()
    assert "stopped" in daemon.log.read_text()


def test_check_reports_every_problem_with_file_and_key(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(
        '[radius]\nauth_port = "x"\n[[radius.clients]]\nname = "a"\naddress = "10.0.0.300/24"\n'
        'secret_env = "JET_TEST_UNSET_SECRET"\n[smtp]\nhots = "mail"\n'
    )
    result = subprocess.run([str(BIN / "jetd"), "--config", str(bad), "--check"],
                            capture_output=True, text=True)
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert f"{bad}: radius.auth_port: Input should be a valid integer, unable to parse string as an integer" \
        in lines
    assert f"{bad}: smtp.hots: unknown key" in lines
    assert any(line.startswith(f"{bad}: radius.clients[0]: secret_env: environment variable "
                               "JET_TEST_UNSET_SECRET is not set") for line in lines)
    assert lines[-1] == f"{bad}: 3 problem(s)"


def test_check_accepts_the_shipped_example_config() -> None:
    example = Path(__file__).parents[2] / "config" / "jet.example.toml"
    result = subprocess.run([str(BIN / "jetd"), "--config", str(example), "--check"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"{example}: OK")


def test_jetctl_without_daemon_says_so(tmp_path: Path) -> None:
    result = subprocess.run([str(BIN / "jetctl"), "--socket", str(tmp_path / "none.sock"), "status"],
                            capture_output=True, text=True)
    assert result.returncode == 1
    assert "is jetd running?" in result.stderr


def test_start_fails_cleanly_when_a_port_is_taken(tmp_path: Path, jetd: Jetd) -> None:
    taken = jetd.listener("api").removeprefix("http://").rstrip("/")
    path = tmp_path / "second.toml"
    (tmp_path / "second").mkdir()
    path.write_text(base_config(tmp_path / "second").replace(
        "[api]\nlisten = ", f'[api]\nlisten = "{taken}"\n#', 1))
    second = subprocess.run([str(BIN / "jetd"), "--config", str(path)], capture_output=True, text=True,
                            timeout=20)
    assert second.returncode == 1
    assert "cannot start" in second.stderr


def test_a_second_jetd_on_the_same_config_refuses_to_start(jetd: Jetd, config: Path) -> None:
    second = subprocess.run([str(BIN / "jetd"), "--config", str(config)], capture_output=True, text=True,
                            timeout=20)
    assert second.returncode == 1
    assert "another jetd is running" in second.stderr
    assert jetd.status()["pid"] == jetd.proc.pid


def test_a_database_from_a_newer_jet_stops_jetd_with_a_clear_message(config: Path, tmp_path: Path) -> None:
    import sqlite3

    daemon = Jetd(config)
    daemon.wait_ready()
    assert daemon.stop() == 0
    with sqlite3.connect(tmp_path / "jet.db") as db:
        db.execute("UPDATE alembic_version SET version_num = '9999_from_the_future'")
    result = subprocess.run([str(BIN / "jetd"), "--config", str(config)], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 1
    assert "cannot start" in result.stderr and "9999_from_the_future" in result.stderr
    assert "Traceback" not in result.stderr
