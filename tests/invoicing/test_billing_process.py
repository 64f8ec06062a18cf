"""The billing run in a process of its own (jet-invoicer on PostgreSQL): the same invoices as
in the loop, the report and metrics back in the invoicer, failures reported, stopped on cancel."""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import subprocess
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from invoicing import metrics
from invoicing.billing_process import billing_run_apart, runs_apart
from invoicing.errors import InvoicingError
from provisioning.models import OPERATOR, NewAccount
from provisioning.service import Service
from rating import load_catalog
from tests import servers
from tests.acceptance.harness import BIN
from tests.invoicing.conftest import billing_now
from tests.invoicing.worker_fixtures import CATALOG, PRICEBOOK, day


@pytest.fixture
def database_url() -> Iterator[str]:
    """PostgreSQL only (the conftest's ``service`` runs on it): there the run goes apart."""
    with servers.postgres_database() as url:
        yield url


def test_postgresql_runs_apart_sqlite_in_the_loop() -> None:
    assert runs_apart("postgresql+asyncpg://jet@db/jet")
    assert not runs_apart("sqlite+aiosqlite:///var/lib/jet/jet.db")


async def test_invoices_made_apart_are_reported_here(database_url: str, service: Service) -> None:
    for name in ("s7a", "s7b"):
        await service.create_account(OPERATOR, NewAccount(name, plan="Fibre 300",
                                                             plan_start=day("2026-06-16")))  # fmt: skip
    created = metrics.INVOICES_CREATED._value.get()
    report = await billing_run_apart(database_url, CATALOG, date(2026, 7, 1), now=billing_now)
    assert sorted((c["account"], c["total"]) for c in report.created) == [  # S7: June, then July
        ("s7a@default", "148.35"), ("s7a@default", "69.00"),
        ("s7b@default", "148.35"), ("s7b@default", "69.00")]  # fmt: skip
    assert metrics.INVOICES_CREATED._value.get() == created + 4
    assert report.cpu_seconds is not None and report.cpu_seconds > 0
    assert report.peak_rss_mb is not None and report.peak_rss_mb > 10
    again = await billing_run_apart(database_url, CATALOG, date(2026, 7, 1), now=billing_now)
    assert again.created == [] and again.errors == []


async def test_an_account_that_cannot_be_billed_is_in_the_report(database_url: str, service: Service) -> None:
    await service.create_account(OPERATOR, NewAccount("odd", plan="Fibre 300",
                                                         plan_start=day("2026-06-16")))  # fmt: skip
    other = load_catalog([PRICEBOOK])
    other = replace(other, realms={name: replace(book, plans={}) for name, book in other.realms.items()})
    errors = metrics.BILLING_ERRORS._value.get()
    report = await billing_run_apart(database_url, other, date(2026, 7, 1), now=billing_now)
    assert report.created == [] and len(report.errors) == 1 and "no plan 'Fibre 300'" in report.errors[0]
    assert metrics.BILLING_ERRORS._value.get() == errors + 1


async def test_a_run_that_fails_as_a_whole_raises() -> None:
    url = "postgresql+asyncpg://postgres@127.0.0.1:5432/jet_no_such_database"
    with pytest.raises(InvoicingError, match=r"billing run for 2026-07-01 failed: .*jet_no_such_database"):
        await billing_run_apart(url, CATALOG, date(2026, 7, 1), now=billing_now)


async def test_cancelled_run_stops_its_process(database_url: str, service: Service) -> None:
    await service.create_account(OPERATOR, NewAccount("c", plan="Fibre 300", plan_start=day("2026-06-16")))
    run = asyncio.create_task(billing_run_apart(database_url, CATALOG, date(2026, 7, 1), now=billing_now))
    await asyncio.sleep(0.5)
    [process] = _billing_processes()
    run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await run
    await asyncio.get_running_loop().run_in_executor(None, process.join, 30)
    assert process.exitcode != 0  # terminated (-15, or 255 from the forkserver), not left to finish


def _billing_processes() -> list[multiprocessing.process.BaseProcess]:
    return [p for p in multiprocessing.active_children() if p.name == "jet-invoicer-billing"]


def _invoicer_run(config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "jet-invoicer"), "--config", str(config), "run", "--date", "2026-07-01",
                           "--no-intake"], capture_output=True, text=True, timeout=120)  # fmt: skip


def _config(tmp_path: Path, url: str) -> Path:
    config = tmp_path / "jet.toml"
    config.write_text(f'[database]\nurl = "{url}"\n\n[catalog]\nfiles = ["{PRICEBOOK}"]\n\n'
                      f'[invoicer]\nprint_outbox = "{tmp_path / "outbox"}"\n')  # fmt: skip
    return config


async def test_jet_invoicer_run_on_postgresql(database_url: str, service: Service, tmp_path: Path) -> None:
    await service.create_account(OPERATOR, NewAccount("cli", plan="Fibre 300",
                                                         plan_start=day("2026-06-16")))  # fmt: skip
    done = await asyncio.to_thread(_invoicer_run, _config(tmp_path, database_url))
    assert done.returncode == 0, done.stderr[-2000:]
    assert [(c["number"], c["total"]) for c in json.loads(done.stdout)["created"]] == [
        ("INV-default-2026-000001", "148.35"), ("INV-default-2026-000002", "69.00")]
    assert sorted(p.name for p in (tmp_path / "outbox" / "default").iterdir()) == [
        "INV-default-2026-000001.pdf", "INV-default-2026-000002.pdf"]


def test_jet_invoicer_run_names_a_database_it_cannot_open(tmp_path: Path) -> None:
    done = _invoicer_run(_config(tmp_path, "postgresql+asyncpg://postgres@127.0.0.1:5432/jet_no_such_database"))
    assert done.returncode == 1
    assert "Error: database postgresql+asyncpg://127.0.0.1:5432/jet_no_such_database:" in done.stderr
    assert "Traceback" not in done.stderr


async def test_a_billing_process_that_dies_is_an_error(database_url: str, service: Service) -> None:
    await service.create_account(OPERATOR, NewAccount("d", plan="Fibre 300", plan_start=day("2026-06-16")))
    run = asyncio.create_task(billing_run_apart(database_url, CATALOG, date(2026, 7, 1), now=billing_now))
    await asyncio.sleep(0)  # the process is started
    [process] = _billing_processes()
    process.kill()
    with pytest.raises(InvoicingError, match=r"billing process exited with code -?\d+ before reporting"):
        await run
