"""jetctl pricebook check / jetctl rate: offline, no daemon needed.

``jetctl pricebook check FILE…`` validates pricebooks and prints every problem as
``FILE:LINE: key.path: reason``. ``jetctl rate --plan P …`` prices one usage record
with the pricebooks of the config (or ``--pricebook``) and ``--explain`` prints why.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

import click

from jetd.ctl.base import cli, emit, json_option
from jetd.defaults import DEFAULT_CONFIG

if TYPE_CHECKING:
    import rating

# rating and the settings schema load only when a command here runs: every jetctl call
# would pay for them otherwise.


@cli.group()
def pricebook() -> None:
    """Pricebook files: check them offline."""


@pricebook.command("check")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
def pricebook_check(files: tuple[str, ...]) -> None:
    """Validate pricebook FILEs; print every problem; exit 1 if there is any."""
    import rating

    try:
        catalog = rating.load_catalog(files)
    except rating.PricebookError as exc:
        for problem in exc.problems:
            click.echo(str(problem))
        click.echo(f"{len(exc.problems)} problem(s)", err=True)
        sys.exit(1)
    click.echo(f"OK: {catalog.summary()}")


def _pricebooks(explicit: tuple[str, ...]) -> list[str]:
    from jetd.errors import ConfigError
    from jetd.settings import load_settings

    if explicit:
        return list(explicit)
    root = click.get_current_context().find_root().obj or {}
    config = root.get("config") or DEFAULT_CONFIG
    try:
        settings = load_settings(config)
    except ConfigError as exc:
        raise click.ClickException(f"cannot read the pricebooks from {config}:\n{exc}") from None
    files = [str(f) for f in settings.catalog.files]
    if not files:
        raise click.ClickException(f"{config} names no pricebook files: give --pricebook FILE")
    return files


def _when(text: str | None, plan: rating.Plan) -> datetime | None:
    if text is None:
        return None
    try:
        t = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(f"{text!r} is not an ISO 8601 date-time") from None
    return (t if t.tzinfo else t.replace(tzinfo=plan.timezone)).astimezone(UTC)


def _pairs(items: tuple[str, ...], what: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise click.BadParameter(f"{item!r}: expected {what}=VALUE")
        out[key.strip()] = value.strip()
    return out


def _octets(text: str | None) -> int:
    if text is None:
        return 0
    import rating
    from rating.units import parse_quantity

    try:
        return int(parse_quantity("data", text.replace(" ", ""), None))
    except rating.RatingError as exc:
        raise click.BadParameter(str(exc)) from None


@cli.command("rate")
@click.option("--plan", "plan_name", required=True, help="Plan name.")
@click.option("--realm", default="default", show_default=True, help="Realm whose namespace to search first.")
@click.option(
    "--pricebook",
    "files",
    multiple=True,
    metavar="FILE",
    help="Pricebook file (repeatable; default: [catalog] files of the config).",
)
@click.option("--type", "kind", required=True, type=click.Choice(["data", "time", "voice", "sms", "energy"]))
@click.option(
    "--start", metavar="TIME", help="Start, ISO 8601; without an offset, in the plan's zone (default now)."
)
@click.option("--end", metavar="TIME", help="End, ISO 8601 (default: start + --seconds, or start).")
@click.option("--seconds", type=click.IntRange(min=0), help="Duration in seconds (time, voice).")
@click.option("--octets-in", metavar="QTY", help="Octets in, e.g. 1500000 or 2GB.")
@click.option("--octets-out", metavar="QTY", help="Octets out, e.g. 20GB.")
@click.option("--events", type=click.IntRange(min=0), default=0, help="SMS/events.")
@click.option("--import-kwh", default="0", help="Energy taken from the grid, kWh.")
@click.option("--export-kwh", default="0", help="Energy sent to the grid, kWh.")
@click.option("--from", "a_number", default="", metavar="A", help="Calling number (E.164 without +).")
@click.option("--to", "b_number", default="", metavar="B", help="Called number (E.164 without +).")
@click.option("--attr", multiple=True, metavar="NAME=VALUE", help="Accounting attribute (data class).")
@click.option("--counter", multiple=True, metavar="KEY=VALUE", help="Period counter before this usage.")
@click.option(
    "--explain", is_flag=True, help="Print the full trace: rate, band, window, zone, prefix, rounding."
)
@json_option
def rate_command(
    plan_name: str,
    realm: str,
    files: tuple[str, ...],
    kind: str,
    start: str | None,
    end: str | None,
    seconds: int | None,
    octets_in: str | None,
    octets_out: str | None,
    events: int,
    import_kwh: str,
    export_kwh: str,
    a_number: str,
    b_number: str,
    attr: tuple[str, ...],
    counter: tuple[str, ...],
    explain: bool,
    as_json: bool,
) -> None:
    """Price one usage record offline, with the pricebooks' plan."""
    import rating

    try:
        catalog = rating.load_catalog(_pricebooks(files))
    except rating.PricebookError as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        raise click.ClickException("the pricebooks have problems") from None
    plan = catalog.find_plan(realm, plan_name)
    if plan is None:
        names = ", ".join(p.name for p in catalog.plans(realm))
        raise click.ClickException(f"no plan {plan_name!r} in realm {realm!r} (plans: {names})")
    t0 = _when(start, plan) or datetime.now(UTC).replace(microsecond=0)
    t1 = _when(end, plan) or (t0 + timedelta(seconds=seconds) if seconds is not None else t0)
    try:
        usage = rating.Usage(
            kind,
            t0,
            t1,
            octets_in=_octets(octets_in),
            octets_out=_octets(octets_out),
            seconds=seconds,
            events=events,
            kwh_import=rating.money.decimal(import_kwh),
            kwh_export=rating.money.decimal(export_kwh),
            a_number=a_number,
            b_number=b_number,
            attributes=_pairs(attr, "NAME"),
        )
        before = {k: rating.money.decimal(v) for k, v in _pairs(counter, "KEY").items()}
        result = rating.rate(usage, plan, before)
    except rating.RatingError as exc:
        raise click.ClickException(str(exc)) from None
    emit(rating.rating_to_dict(result), as_json, lambda _r: _human(result, explain))


def _human(result: rating.Rating, explain: bool) -> str:
    import rating
    if explain:
        return rating.explain(result)
    due = result.total
    lines = [
        f"{result.plan}: {due.normalize() if due else Decimal(0):f} {result.currency} "
        f"(ledger {rating.to_ledger(due, result.currency)})"
    ]
    lines += [
        f"  {c.meter} {c.kind}: {c.units.normalize():f} {c.unit} × {c.rate} = {c.amount}"
        for c in result.charges
    ]
    return "\n".join(lines)
