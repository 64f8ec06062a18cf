"""jetctl pricebook check and jetctl rate, offline (click's runner, no daemon)."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

import jetd.ctl.rating  # noqa: F401  registers the commands
from jetd.ctl.base import cli
from tests.rating.conftest import EXAMPLE, VISP


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def test_pricebook_check_ok_prints_summary() -> None:
    code, out = run("pricebook", "check", str(EXAMPLE), str(VISP))
    assert (code, out) == (0, "OK: 11 plans in 2 realms, 8 prefixes\n")


def test_pricebook_check_prints_every_problem_with_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('currency = "NZD"\n[plans.X]\ncalendar = "none"\n[plans.X.data]\nprice = "-1"\n')
    code, out = run("pricebook", "check", str(bad))
    assert code == 1
    assert out.splitlines()[:2] == [
        f"{bad}:3: plans.X.calendar: unknown calendar 'none'",
        f"{bad}:5: plans.X.data.price: must be at least 0",
    ]


def test_rate_explains_a_call() -> None:
    code, out = run(
        "rate",
        "--pricebook",
        str(EXAMPLE),
        "--plan",
        "Talk Standard",
        "--type",
        "voice",
        "--start",
        "2026-06-10T10:00",
        "--seconds",
        "125",
        "--from",
        "6493001111",
        "--to",
        "61412345678",
        "--explain",
    )
    assert code == 0, out
    assert out.splitlines()[0] == "plan 'Talk Standard': total due 0.8500 NZD"
    assert "connection 1 call × 0.10 = 0.1000 NZD" in out
    assert "voice         usage      3 min × 0.25 = 0.7500 NZD" in out
    assert "zone australia-mobile; prefix 614" in out and "quantity 125 s → billed 180 s" in out


def test_rate_json_with_counters_and_classes() -> None:
    code, out = run(
        "rate",
        "--pricebook",
        str(EXAMPLE),
        "--plan",
        "Business Metered",
        "--type",
        "data",
        "--start",
        "2026-06-10T10:00",
        "--end",
        "2026-06-10T11:00",
        "--octets-out",
        "20GB",
        "--counter",
        "data=45000000000",
        "--json",
    )
    assert code == 0, out
    doc = json.loads(out)
    assert doc["total"] == "22.50" and doc["counters"] == {"data": "20000000000"}
    assert [c["band"] for c in doc["charges"]] == ["2: 10 GB–50 GB", "3: 50 GB–∞"]


def test_rate_unknown_plan_names_the_choices() -> None:
    code, out = run("rate", "--pricebook", str(EXAMPLE), "--plan", "Nope", "--type", "data")
    assert code == 1 and "no plan 'Nope' in realm 'default'" in out


def test_jetd_check_names_pricebook_problems(tmp_path: Path) -> None:
    """The catalog config part: jetd --check / reload see every pricebook problem."""
    import pytest

    from jetd.errors import ConfigError, Problem
    from jetd.loading import load

    bad = tmp_path / "bad.toml"
    bad.write_text('currency = "NZD"\n[plans.X.data]\nprice = "-1"\n')
    config = tmp_path / "jet.toml"
    config.write_text(f'[catalog]\nfiles = ["{EXAMPLE}", "{bad}"]\n')
    with pytest.raises(ConfigError) as caught:
        load(config)
    assert Problem(str(bad), "plans.X.data.price", "must be at least 0", 3) in caught.value.problems
    config.write_text(f'[catalog]\nfiles = ["{EXAMPLE}", "{VISP}"]\n')
    loaded = load(config)
    assert loaded.parts["catalog"].summary() == "11 plans in 2 realms, 8 prefixes"
