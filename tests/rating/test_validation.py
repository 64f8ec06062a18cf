"""Bad pricebooks: every problem is named with its file, line, key path and reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from rating import PricebookError, Problem, load_catalog

HEAD = 'currency = "NZD"\ntimezone = "Pacific/Auckland"\n'


def problems(
    tmp_path: Path, text: str, extra: dict[str, str] | None = None
) -> list[tuple[str, int | None, str, str]]:
    path = tmp_path / "book.toml"
    path.write_text(HEAD + text)
    for name, content in (extra or {}).items():
        (tmp_path / name).write_text(content)
    with pytest.raises(PricebookError) as caught:
        load_catalog([path])
    return [(Path(p.file).name, p.line, p.key, p.reason) for p in caught.value.problems]


def test_unknown_calendar_table_cost_and_plan(tmp_path: Path) -> None:
    got = problems(
        tmp_path,
        """
[plans.A]
calendar = "nope"
extends = "Ghost"
[plans.A.data]
price = "1"
[plans.A.voice]
table = "no-table"
cost = "no-costs"
""",
    )
    assert got == [
        ("book.toml", 6, "plans.A.extends", "unknown plan 'Ghost'"),
        ("book.toml", 5, "plans.A.calendar", "unknown calendar 'nope'"),
        ("book.toml", 10, "plans.A.voice.table", "unknown destination table 'no-table'"),
        ("book.toml", 11, "plans.A.voice.cost", "unknown cost table 'no-costs'"),
    ]


def test_overlapping_windows(tmp_path: Path) -> None:
    got = problems(
        tmp_path,
        """
[calendars.c]
default = "offpeak"
[[calendars.c.windows]]
name = "peak"
days = "mon-fri"
from = "08:00"
to = "20:00"
[[calendars.c.windows]]
name = "shoulder"
days = ["fri", "sat"]
from = "19:00"
to = "22:00"
""",
    )
    assert got == [("book.toml", 11, "calendars.c.windows[1]", "overlaps window 'peak' on fri (19:00–20:00)")]


def test_bands_out_of_order_and_open_ended(tmp_path: Path) -> None:
    got = problems(
        tmp_path,
        """
[plans.B.data]
bands = [
    { upto = "50 GB", price = "2.00" },
    { upto = "10 GB", price = "1.50" },
    { upto = "60 GB", price = "1.00" },
]
""",
    )
    assert got == [
        (
            "book.toml",
            5,
            "plans.B.data.bands[1].upto",
            "bands out of order: 10 GB is not above the previous band's end",
        ),
        (
            "book.toml",
            5,
            "plans.B.data.bands[2]",
            "the last band must be open-ended (no upto): usage beyond it has no price",
        ),
    ]


def test_prefix_in_two_zones_of_one_table(tmp_path: Path) -> None:
    got = problems(
        tmp_path,
        """
[tables.t]
csv = "zones.csv"
[tables.t.prefixes]
"61" = "australia"
""",
        {"zones.csv": "prefix,zone\n614,au-mobile\n61,australia-other\n"},
    )
    assert got == [
        (
            "zones.csv",
            3,
            "tables.t.csv",
            "prefix 61 is in two zones: 'australia' (" + str(tmp_path / "book.toml") + ":7) and "
            "'australia-other'",
        )
    ]


def test_currency_mismatch(tmp_path: Path) -> None:
    got = problems(
        tmp_path,
        """
[costs.carrier]
currency = "AUD"
prices = { "61" = "0.04" }
[plans.W.voice]
cost = "carrier"
markup_percent = 20
[[plans.W.bundles]]
name = "calls"
kind = "money"
size = "250.00 USD"
""",
    )
    assert got == [
        (
            "book.toml",
            8,
            "plans.W.voice.cost",
            "currency mismatch: cost table 'carrier' is in AUD, the plan in NZD",
        ),
        ("book.toml", 13, "plans.W.bundles[0].size", "currency mismatch: USD amount in a NZD plan"),
    ]


def test_unknown_keys_everywhere(tmp_path: Path) -> None:
    got = problems(
        tmp_path,
        """
colour = "blue"
[plans.U]
cycle_dya = 3
[plans.U.data]
prise = "1"
price = "1"
""",
    )
    keys = [(line, key) for _f, line, key, _r in got]
    assert keys == [(4, "colour"), (6, "plans.U.cycle_dya"), (8, "plans.U.data.prise")]
    assert got[0][3].startswith("unknown key (expected one of: calendars, costs, currencies, currency, plans")


def test_window_zone_class_must_exist(tmp_path: Path) -> None:
    got = problems(
        tmp_path,
        """
[tables.t.prefixes]
"64" = "national"
[plans.P.data]
classes = { attribute = "Class", default = "web", values = { web = "web" } }
[[plans.P.data.rates]]
class = "video"
window = "peak"
price = "1"
[[plans.P.voice.rates]]
zone = "mars"
price = "1"
[plans.P.voice]
table = "t"
""",
    )
    assert got == [
        ("book.toml", 9, "plans.P.data.rates[0].class", "unknown data class 'video'"),
        (
            "book.toml",
            10,
            "plans.P.data.rates[0].window",
            "window 'peak' is not in the plan's calendar (the plan has no calendar)",
        ),
        ("book.toml", 13, "plans.P.voice.rates[0].zone", "zone 'mars' is not in the destination table 't'"),
    ]


def test_every_problem_across_files_at_once(tmp_path: Path) -> None:
    a = tmp_path / "a.toml"
    b = tmp_path / "b.toml"
    a.write_text('currency = "NZD"\n[plans.X.data]\nprice = "-1"\n')
    b.write_text('realm = "r"\n[plans.Y]\ncurrency = "XYZ"\n[plans.Y.data]\nprice = 1\nunit = "GiB"\n')
    with pytest.raises(PricebookError) as caught:
        load_catalog([a, b])
    assert caught.value.problems == [
        Problem(str(a), "plans.X.data.price", "must be at least 0", 3),
        Problem(str(b), "plans.Y.currency", "unknown currency 'XYZ' (declare it under [currencies.XYZ])", 3),
        Problem(str(b), "plans.Y.data.unit", "'GiB' is not one of: B, kB, KB, MB, GB, TB", 6),
    ]
    assert str(caught.value).splitlines()[0] == f"{a}:3: plans.X.data.price: must be at least 0"


def test_toml_syntax_error_and_missing_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('currency = "NZD"\n[plans.X\n')
    with pytest.raises(PricebookError) as caught:
        load_catalog([bad, tmp_path / "missing.toml"])
    first, second = caught.value.problems
    assert (first.line, first.key) == (2, "") and first.reason.startswith("not valid TOML")
    assert second.file == str(tmp_path / "missing.toml") and second.reason.startswith("cannot read")


def test_plan_defined_twice_in_a_realm(tmp_path: Path) -> None:
    a = tmp_path / "a.toml"
    b = tmp_path / "b.toml"
    a.write_text('currency = "NZD"\n[plans.X.data]\nprice = "1"\n')
    b.write_text('currency = "NZD"\n[plans.X.data]\nprice = "2"\n')
    with pytest.raises(PricebookError) as caught:
        load_catalog([a, b])
    assert caught.value.problems == [
        Problem(str(b), "plans.X", f"defined twice in realm 'default' (also in {a})", 2)
    ]


def test_extends_cycle(tmp_path: Path) -> None:
    got = problems(
        tmp_path, '[plans.A]\nextends = "B"\n[plans.A.data]\nprice = "1"\n[plans.B]\nextends = "A"\n'
    )
    assert got == [
        ("book.toml", 8, "plans.B.extends", "plan 'B' extends itself (through 'A')"),
        ("book.toml", 4, "plans.A.extends", "plan 'A' extends itself (through 'B')"),
    ]


def test_prepaid_plans(tmp_path: Path) -> None:
    path = tmp_path / "good.toml"
    path.write_text(HEAD + """
[plans.Plain]
prepaid = true
[plans.Plain.data]
price = "1"
[plans.Capped.prepaid]
low_balance = "2.00 NZD"
on_exhausted = "throttle"
reply = { "Mikrotik-Rate-Limit" = "256k/256k" }
[plans.Capped.data]
price = "1"
[plans.Post.data]
price = "1"
""")
    catalog = load_catalog([path])
    plans = {name: catalog.find_plan("default", name) for name in ("Plain", "Capped", "Post")}
    assert plans["Plain"].prepaid is not None and plans["Plain"].prepaid.on_exhausted == "block"
    capped = plans["Capped"].prepaid
    assert capped is not None and (capped.low_balance, capped.on_exhausted) == (2, "throttle")
    assert dict(capped.reply) == {"Mikrotik-Rate-Limit": "256k/256k"}
    assert plans["Post"].prepaid is None

    got = problems(tmp_path, """
[plans.A]
prepaid = { on_exhausted = "throttle", low = "1" }
[plans.A.data]
price = "1"
[plans.B]
prepaid = { on_exhausted = "charge", low_balance = "1.00 EUR" }
[plans.B.data]
price = "1"
""")
    assert [(key, reason) for _, _, key, reason in got] == [
        ("plans.A.prepaid.low", "unknown key (expected one of: low_balance, on_exhausted, reply)"),
        ("plans.A.prepaid.reply", "a throttle needs the reply attributes (e.g. Mikrotik-Rate-Limit)"),
        ("plans.B.prepaid.low_balance", "currency mismatch: EUR amount in a NZD plan"),
        ("plans.B.prepaid.on_exhausted", "'charge' is not one of: block, throttle, notify"),
    ]
