"""radius.workers = 2: supervised worker processes, merged metrics, reload, stop."""

from __future__ import annotations

import os
import signal
from pathlib import Path

from tests.acceptance.harness import Jetd, base_config, wait_for


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True




def test_workers_are_supervised_reloaded_and_stopped(tmp_path: Path) -> None:
    config = tmp_path / "jet.toml"
    config.write_text(base_config(tmp_path).replace("acct_port = 0", "acct_port = 0\nworkers = 2"))
    daemon = Jetd(config)
    try:
        status = daemon.wait_ready()
        pids = [w["pid"] for w in status["workers"]]
        assert len(pids) == 2 and all(pids) and all(_alive(p) for p in pids)
        _, metrics = daemon.http_get(daemon.listener("metrics"))
        assert "jet_build_info{" in metrics and "process_resident_memory_bytes" in metrics

        # A worker that dies is restarted.
        os.kill(pids[0], signal.SIGKILL)
        wait_for(lambda: daemon.status()["workers"][0]["restarts"] == 1
                  and daemon.status()["workers"][0]["pid"] not in (None, pids[0]), timeout=60)
        assert daemon.status()["workers"][1]["pid"] == pids[1]

        # A reload validated by the main process is passed on to every worker, including one
        # that is still starting (it gets the signal once ready, not before: that would kill it).
        daemon.ctl("reload")
        wait_for(lambda: daemon.log.read_text().count("config reloaded") == 3, timeout=60)
        assert all(w["ready"] for w in daemon.status()["workers"])
        assert '"worker": 0' in daemon.log.read_text()

        # SIGTERM stops the workers too, and the main process exits 0.
        current = [w["pid"] for w in daemon.status()["workers"]]
        daemon.signal(signal.SIGTERM)
        assert daemon.proc.wait(timeout=10) == 0
        wait_for(lambda: not any(_alive(p) for p in current), timeout=5)
    finally:
        daemon.stop()
