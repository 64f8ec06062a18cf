"""jet-invoicer: the invoicing worker, a process of its own (same config file as jetd).

``jet-invoicer --config FILE`` runs as a service until SIGTERM.
``jet-invoicer --config FILE run --date YYYY-MM-DD`` runs the billing for a target date once.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import multiprocessing
import signal
import sys
from collections.abc import AsyncIterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import click
from sqlalchemy.exc import DBAPIError

import jetd.parts  # noqa: F401  registers the catalog loader
from invoicing.billing_process import billing_run_apart, runs_apart
from invoicing.delivery import Deliverer, PrintOutbox, RealmDelivery, RetryPolicy
from invoicing.errors import InvoicingError
from invoicing.intake import Intake, IntakeOptions
from invoicing.mailer import Mailer
from invoicing.overdue import OverdueReport, flag_overdue
from invoicing.receipts import ReceiptDelivery, issue_receipts
from invoicing.run import RunOptions, RunReport, billing_run
from invoicing.smtp import SmtpConfig
from invoicing.worker import DeliveryWorker
from jetd import __version__, logs, systemd
from jetd.errors import ConfigError
from jetd.loading import Loaded, load
from jetd.settings import DEFAULT_CONFIG
from provisioning.base import utc_now
from provisioning.db import make_engine
from provisioning.errors import DatabaseTooNew
from provisioning.migrate import require_head
from quota.connect import connect
from rating import Catalog

log = logging.getLogger("jet.invoicer")

DELIVERY_INTERVAL = 5.0  # seconds between looks for due deliveries
RECEIPT_INTERVAL = 30.0  # seconds between looks for payments without a receipt


@dataclass
class Invoicer:
    """Everything a run or the service needs, built from the config."""

    loaded: Loaded
    engine: Any
    redis: Any
    catalog: Catalog
    intake: Intake
    delivery: DeliveryWorker
    options: RunOptions
    receipts: ReceiptDelivery

    async def run_billing(self, target: dt.date) -> RunReport:
        s = self.loaded.settings
        if runs_apart(s.database.url):  # PostgreSQL: in a process of its own, beside intake and delivery
            report = await billing_run_apart(s.database.url, self.catalog, target, now=utc_now,
                                             options=self.options, log_level=s.log.level,
                                             log_format=s.log.format)  # fmt: skip
        else:
            report = await billing_run(self.engine, self.catalog, target, now=utc_now, options=self.options)
        for created in report.created:
            log.info("invoice %s for %s: %s %s", created["number"], created["account"], created["total"],
                     created["currency"])
        return report

    async def flag_overdue(self, today: dt.date) -> OverdueReport:
        return await flag_overdue(self.engine, today, self.loaded.settings.invoicer.grace_days, now=utc_now)

    async def drain_intake(self) -> int:
        total = 0
        await self.intake.ensure_groups()
        total += await self.intake.claim_once()
        while handled := await self.intake.read_once():
            total += handled
        return total

    async def deliver_all_due(self) -> int:
        total = await self.delivery.deliver_all()
        while attempted := await self.receipts.deliver_due():
            total += attempted
        return total

    async def issue_receipts(self) -> list[dict[str, str]]:
        return await issue_receipts(self.engine, now=utc_now)


def render_process_init() -> None:
    """In each PDF render process: Ctrl-C in a terminal reaches the whole process group;
    the invoicer stops its pool itself, so a render process ignores SIGINT (no traceback)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@asynccontextmanager
async def invoicer(loaded: Loaded) -> AsyncIterator[Invoicer]:
    s = loaded.settings
    inv = s.invoicer
    engine = make_engine(s.database.url)
    redis = connect(s.redis.url)
    mailer = Mailer(SmtpConfig.from_settings(s.smtp), keep=8)  # deliveries at once: 2 lanes x 4
    pool = ProcessPoolExecutor(inv.render_processes, mp_context=multiprocessing.get_context("forkserver"),
                               initializer=render_process_init)
    try:
        await require_head(engine)
        retry = RetryPolicy(first=dt.timedelta(seconds=inv.retry_first),
                            longest=dt.timedelta(seconds=max(inv.retry_first, inv.retry_longest)),
                            max_attempts=inv.retry_attempts)
        deliverer = Deliverer(mailer, PrintOutbox(inv.print_outbox), retry)
        intake = Intake(redis, engine, IntakeOptions(group=inv.group, consumer=inv.consumer,
                                                     shards=s.quota.stream_shards, batch=inv.batch,
                                                     claim_idle=inv.claim_idle), clock=utc_now)
        delivery = DeliveryWorker(engine, deliverer, pool, utc_now, realm_mail=realm_mail(inv))
        yield Invoicer(loaded, engine, redis, loaded.parts["catalog"], intake, delivery,
                       RunOptions(due_days=inv.due_days, payment_instructions=inv.payment_instructions),
                       ReceiptDelivery(engine, deliverer, pool, utc_now, delivery.realm_delivery))
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        await mailer.close()
        await redis.aclose()
        await engine.dispose()


def realm_mail(settings: Any) -> dict[str, RealmDelivery]:
    """``[invoicer.realms.NAME]`` as the delivery settings of each realm named there."""
    out = {}
    for name, realm in settings.realms.items():
        invoice_template, receipt_template = realm.templates()
        out[name] = RealmDelivery(sender=realm.sender, reply_to=realm.reply_to,
                                  invoice_template=invoice_template, receipt_template=receipt_template)
    return out


def _next_run(now: dt.datetime, run_at: str) -> dt.datetime:
    hour, minute = (int(x) for x in run_at.split(":"))
    at = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
    return at if at > now else at + dt.timedelta(days=1)


async def _periodic(stop: asyncio.Event, work: Any, name: str, *, every: float | None = None,
                    run_at: str | None = None) -> None:
    while not stop.is_set():
        try:
            await work()
        except Exception:  # a failed round is logged; the next one tries again
            log.exception("%s failed; trying again later", name)
        if run_at is not None:
            wait = (_next_run(utc_now(), run_at) - utc_now()).total_seconds()
        else:
            wait = every or 5.0
        try:
            await asyncio.wait_for(stop.wait(), wait)
        except TimeoutError:
            pass


async def _serve(loaded: Loaded) -> None:
    """Intake, the daily billing run (at start and then at ``invoicer.run_at`` UTC) and
    delivery retries, until SIGTERM."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if loaded.settings.invoicer.metrics_listen:
        from prometheus_client import start_http_server

        host, _, port = loaded.settings.invoicer.metrics_listen.rpartition(":")
        start_http_server(int(port), host or "127.0.0.1")
    async with invoicer(loaded) as inv:
        systemd.notify("READY=1\nSTATUS=consuming sessions")
        log.info("jet-invoicer ready", extra={"config": str(loaded.path), "database": _safe(loaded),
                                             "consumer": inv.intake.consumer})

        async def daily() -> None:
            today = utc_now().date()
            await inv.run_billing(today)
            await inv.flag_overdue(today)

        run_at = loaded.settings.invoicer.run_at
        tasks = [
            asyncio.create_task(inv.intake.run(stop)),
            asyncio.create_task(_periodic(stop, daily, "billing run", run_at=run_at)),
            asyncio.create_task(_periodic(stop, inv.deliver_all_due, "delivery", every=DELIVERY_INTERVAL)),
            asyncio.create_task(_periodic(stop, inv.issue_receipts, "receipts", every=RECEIPT_INTERVAL)),
        ]
        await stop.wait()
        systemd.notify("STOPPING=1")
        await asyncio.gather(*tasks, return_exceptions=True)
    log.info("jet-invoicer stopped")


def _safe(loaded: Loaded) -> str:
    url = loaded.settings.database.url
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.rpartition('@')[2]}"


def _load(config_path: str) -> Loaded:
    try:
        return load(config_path)
    except ConfigError as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        sys.exit(1)


@click.group(invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_path", default=DEFAULT_CONFIG, show_default=True, metavar="FILE")
@click.version_option(__version__, prog_name="jet-invoicer")
@click.pass_context
def cli(ctx: click.Context, config_path: str) -> None:
    """Jet's invoicing worker."""
    ctx.obj = config_path
    if ctx.invoked_subcommand is None:
        loaded = _load(config_path)
        logs.setup(loaded.settings.log.level, loaded.settings.log.format)
        import uvloop

        try:
            uvloop.run(_serve(loaded))
        except DatabaseTooNew as exc:
            raise click.ClickException(str(exc)) from None


@cli.command()
@click.option("--date", "target", required=True, type=click.DateTime(["%Y-%m-%d"]), help="Target date.")
@click.option("--no-intake", is_flag=True, help="Do not read the session streams first.")
@click.pass_obj
def run(config_path: str, target: dt.datetime, no_intake: bool) -> None:
    """Bill every account's cycle periods due by DATE, flag the invoices still owed past
    their due date and grace (invoice.overdue), make a receipt for each new payment, then
    deliver the new invoices and receipts.

    Reads what is waiting on the session streams first, so the run sees every stopped
    session. Prints a JSON report; exits 1 if an account could not be billed."""
    loaded = _load(config_path)
    logs.setup(loaded.settings.log.level, loaded.settings.log.format)

    async def once() -> tuple[RunReport, OverdueReport, list[dict[str, str]]]:
        async with invoicer(loaded) as inv:
            if not no_intake:
                await inv.drain_intake()
            report = await inv.run_billing(target.date())
            overdue = await inv.flag_overdue(target.date())
            receipts = await inv.issue_receipts()
            await inv.deliver_all_due()
            return report, overdue, receipts

    try:
        report, overdue, receipts = asyncio.run(once())
    except (DatabaseTooNew, InvoicingError) as exc:
        raise click.ClickException(str(exc)) from None
    except DBAPIError as exc:
        raise click.ClickException(f"database {_safe(loaded)}: {exc.orig}") from None
    click.echo(json.dumps({**report.to_dict(), "overdue": overdue.flagged, "receipts": receipts}, indent=2))
    if report.errors:
        sys.exit(1)


def main() -> None:
    cli(prog_name="jet-invoicer")
