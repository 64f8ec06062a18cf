"""The RADIUS hot path's request counter and duration histogram, counted in the process and
flushed: a scrape must show exactly what observing each request one by one shows."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from jetd.radius.metrics import DURATION_BUCKETS, Answers

# on a bound, between bounds, past the last one (+Inf), repeated; two kinds, three results
ANSWERED = [("auth", "accept", 0.0005), ("auth", "accept", 0.0001), ("auth", "reject", 0.003),
            ("acct", "ok", 0.7), ("acct", "ok", 3.0), ("acct", "spooled", 2.5), ("auth", "accept", 0.0005)]


def _metrics(registry: CollectorRegistry) -> tuple[Counter, Histogram]:
    return (Counter("r_requests_total", "r", ["kind", "result"], registry=registry),
            Histogram("r_duration_seconds", "d", ["kind"], buckets=DURATION_BUCKETS, registry=registry))


def _observed_one_by_one() -> bytes:
    registry = CollectorRegistry()
    requests, duration = _metrics(registry)
    for kind, result, seconds in ANSWERED:
        requests.labels(kind=kind, result=result).inc()
        duration.labels(kind=kind).observe(seconds)
    return _without_created(generate_latest(registry))


def _without_created(text: bytes) -> bytes:
    return b"\n".join(line for line in text.splitlines() if b"_created" not in line)


def test_a_flush_writes_what_observing_each_request_writes() -> None:
    registry = CollectorRegistry()
    answers = Answers(*_metrics(registry), DURATION_BUCKETS)
    for kind, result, seconds in ANSWERED[:3]:
        answers.answered(kind, result, seconds)
    assert b'r_requests_total{kind="auth"' not in generate_latest(registry)  # not flushed yet
    answers.flush()
    for kind, result, seconds in ANSWERED[3:]:
        answers.answered(kind, result, seconds)
    answers.flush()
    answers.flush()  # nothing new: changes nothing
    assert _without_created(generate_latest(registry)) == _observed_one_by_one()


def test_listeners_flush_while_they_run_and_when_the_last_stops() -> None:
    registry = CollectorRegistry()
    requests, duration = _metrics(registry)
    answers = Answers(requests, duration, DURATION_BUCKETS)

    async def scenario() -> None:
        answers.attach()
        answers.attach()  # the auth and the accounting listener
        answers.answered("auth", "accept", 0.001)
        await answers.detach()
        assert registry.get_sample_value("r_requests_total", {"kind": "auth", "result": "accept"}) == 1
        answers.answered("acct", "ok", 0.02)
        for _ in range(100):  # the periodic flush, while the other listener runs
            if registry.get_sample_value("r_requests_total", {"kind": "acct", "result": "ok"}):
                break
            await asyncio.sleep(0.05)
        answers.answered("acct", "ok", 0.02)
        await answers.detach()

    asyncio.run(scenario())
    assert registry.get_sample_value("r_requests_total", {"kind": "acct", "result": "ok"}) == 2
    assert registry.get_sample_value("r_duration_seconds_bucket", {"kind": "acct", "le": "0.025"}) == 2


def test_with_workers_the_merged_view_is_the_same(tmp_path: Path) -> None:
    """radius.workers > 1: prometheus-client's multiprocess values, read back by the collector."""
    script = textwrap.dedent(f"""
        from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
        from prometheus_client.multiprocess import MultiProcessCollector
        from jetd.radius.metrics import DURATION_BUCKETS, Answers
        answered = {ANSWERED!r}
        answers = Answers(Counter("a_requests_total", "r", ["kind", "result"]),
                          Histogram("a_duration_seconds", "d", ["kind"], buckets=DURATION_BUCKETS),
                          DURATION_BUCKETS)
        requests = Counter("b_requests_total", "r", ["kind", "result"])
        duration = Histogram("b_duration_seconds", "d", ["kind"], buckets=DURATION_BUCKETS)
        for kind, result, seconds in answered:
            answers.answered(kind, result, seconds)
            requests.labels(kind=kind, result=result).inc()
            duration.labels(kind=kind).observe(seconds)
        answers.flush()
        merged = CollectorRegistry()
        MultiProcessCollector(merged)
        text = generate_latest(merged).decode()
        a = sorted(l[1:] for l in text.splitlines() if l.startswith("a_"))
        b = sorted(l[1:] for l in text.splitlines() if l.startswith("b_"))
        assert a == b and len(a) > 20, (a, b)
        print("same", len(a))
    """)
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("same")
