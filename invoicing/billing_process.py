"""The billing run in a process of its own, beside jet-invoicer's event loop.

A billing run of 100,000 accounts is minutes of CPU. In the invoicer's event loop it takes
turns with the intake of sessions and with the delivery of the invoices it has just made
(rendering, e-mail), which then wait for it, and one core does all of it. In a process of
its own it runs alongside them: bench/invoicing, 5,000 accounts, e-mailed, 2 cores: see the
numbers in its README.

On PostgreSQL only: SQLite has one writer at a time, so there the run stays in the loop.
The run in the other process is the same ``billing_run`` (same batches and transactions);
a cancelled run terminates it (``systemctl stop`` signals it with the whole unit), which
loses nothing committed, and the next run resumes. Its log lines go where the invoicer's
go; its report (and the metrics) come back here.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import resource
import signal
import time
from collections.abc import Callable
from datetime import date, datetime
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

from sqlalchemy.engine import make_url

from invoicing import metrics
from invoicing.errors import InvoicingError
from invoicing.run import RunOptions, RunReport, billing_run
from jetd import logs
from provisioning.db import make_engine
from rating import Catalog


def runs_apart(database_url: str) -> bool:
    """Whether billing runs on this database go to a process of their own (PostgreSQL)."""
    return make_url(database_url).get_backend_name() == "postgresql"


async def billing_run_apart(database_url: str, catalog: Catalog, target: date, *, now: Callable[[], datetime],
                            options: RunOptions = RunOptions(), log_level: str = "info",
                            log_format: str = "json") -> RunReport:  # fmt: skip
    """``billing_run`` in a new process; its report. ``now`` must be picklable (a module's function).

    Raises InvoicingError when the run failed as a whole (the database unreachable, the
    process killed); an account that cannot be billed is in the report, as in ``billing_run``.
    """
    ctx = multiprocessing.get_context("forkserver")
    receiving, sending = ctx.Pipe(duplex=False)
    args = (sending, database_url, catalog, target, now, options, log_level, log_format)
    process = ctx.Process(target=_child, args=args, name="jet-invoicer-billing", daemon=True)
    process.start()
    sending.close()
    try:
        kind, value = await asyncio.get_running_loop().run_in_executor(None, _outcome, receiving, process)
    except asyncio.CancelledError:
        process.terminate()  # what it committed stays; the next run resumes
        raise
    if kind != "report":
        raise InvoicingError(f"billing run for {target} failed: {value}")
    report: RunReport = value
    metrics.INVOICES_CREATED.inc(len(report.created))
    metrics.BILLING_ERRORS.inc(len(report.errors))
    return report


def _outcome(receiving: Connection, process: BaseProcess) -> tuple[str, Any]:
    try:
        return receiving.recv()  # type: ignore[no-any-return]
    except EOFError:
        pass
    finally:
        receiving.close()
        process.join()
    return "died", f"the billing process exited with code {process.exitcode} before reporting"


def _child(sending: Connection, database_url: str, catalog: Catalog, target: date,
           now: Callable[[], datetime], options: RunOptions, log_level: str,
           log_format: str) -> None:  # fmt: skip
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the process group; the invoicer stops this
    logs.setup(log_level, log_format)
    try:
        report = asyncio.run(_run(database_url, catalog, target, now, options))
    except Exception as exc:  # reported to the invoicer, which logs it
        sending.send(("error", f"{type(exc).__name__}: {exc}"))
    else:
        sending.send(("report", report))
    finally:
        sending.close()


async def _run(database_url: str, catalog: Catalog, target: date, now: Callable[[], datetime],
               options: RunOptions) -> RunReport:  # fmt: skip
    engine = make_engine(database_url)
    try:
        report = await billing_run(engine, catalog, target, now=now, options=options)
        report.cpu_seconds = time.process_time()
        report.peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        return report
    finally:
        await engine.dispose()
