"""Unit parsing at the edges, atomic writes, named random streams."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from emulator.export import atomic_write, write_json
from emulator.rng import RngStreams
from emulator.units import (
    UnitError,
    parse_bandwidth_bps,
    parse_bytes,
    parse_duration,
    parse_length_m,
    parse_power,
    parse_rate,
)


@pytest.mark.parametrize(("text", "seconds"), [("7d", 604800), ("30m", 1800), ("2h", 7200),
                                               ("250ms", 0.25), ("1w", 604800), (90, 90)])
def test_durations(text: str | int, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize(("text", "seconds"), [
    ("2 weeks", 1209600), ("1 week", 604800), ("3 days", 259200), ("1day", 86400),
    ("4 hours", 14400), ("90 minutes", 5400), ("45 secs", 45), ("2 Hours", 7200)])
def test_durations_spelled_out(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize(("text", "seconds"), [
    ("5h10m", 18600), ("1d 12h", 129600), ("2h30m15s", 9015), ("1h 30 minutes", 5400),
    ("1.5d6h", 151200)])
def test_durations_in_several_parts(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


def test_a_duration_in_parts_too_large_for_a_float_is_one_line() -> None:
    with pytest.raises(UnitError, match="expected a finite duration"):
        parse_duration("1" + "0" * 400 + "d 1h")


@pytest.mark.parametrize("text", ["10m5h", "5h5h"])
def test_duration_parts_out_of_order_are_one_line(text: str) -> None:
    with pytest.raises(UnitError, match="largest first, each unit once"):
        parse_duration(text)


def test_a_scenario_duration_in_several_parts_is_read() -> None:
    from emulator.loader import load_scenario

    loaded = load_scenario(Path(__file__).resolve().parent.parent / "examples"
                           / "bizerte_20mw.yaml", ["duration=5h20m"])
    assert loaded.scenario.duration == pytest.approx(19200)


def test_an_unknown_duration_unit_lists_the_short_ones_and_says_words_work() -> None:
    with pytest.raises(UnitError) as info:
        parse_duration("2 fortnights")
    assert str(info.value) == (
        "got '2 fortnights'; the duration unit 'fortnights' is unknown; expected one of d, "
        "h, hr, m, min, ms, ns, s, sec, us, w, µs (or spelled out: 2 weeks, 1 day, 3 hours)")
    assert parse_rate("10/hour") == pytest.approx(10 / 3600)
    assert parse_rate("2/week") == pytest.approx(2 / 604800)


def test_other_units() -> None:
    assert parse_power("20MW") == 20e6 and parse_power("120kW") == 120e3
    assert parse_bandwidth_bps("800Gbps") == 800e9
    assert parse_bandwidth_bps("400Gb/s") == 400e9
    assert parse_bandwidth_bps("900GB/s") == 7.2e12  # bytes → bits
    assert parse_bytes("186GB") == 186e9 and parse_bytes("80GiB") == 80 * 2**30
    assert parse_length_m("1050km") == 1.05e6
    assert parse_rate("6/d") == pytest.approx(6 / 86400) and parse_rate("40/s") == 40


@pytest.mark.parametrize("bad", ["7 fortnights", "MW", "", "1e999W", True])
def test_bad_quantities_name_the_value(bad: object) -> None:
    with pytest.raises(UnitError) as info:
        parse_power(bad)  # type: ignore[arg-type]
    assert repr(bad) in str(info.value) or str(bad) in str(info.value)


def test_atomic_write_keeps_old_file_on_failure(tmp_path: Path) -> None:
    path = tmp_path / "summary.json"
    write_json(path, {"a": 1})

    def broken(tmp: Path) -> None:
        tmp.write_text('{"a": ')
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        atomic_write(path, broken)
    assert path.read_text() == '{\n  "a": 1\n}\n'
    assert [p.name for p in tmp_path.iterdir()] == ["summary.json"]


def test_named_streams_are_stable_and_independent() -> None:
    a1 = RngStreams(5).stream("arrivals").random(4)
    a2 = RngStreams(5).stream("arrivals").random(4)
    b = RngStreams(5).stream("durations").random(4)
    c = RngStreams(6).stream("arrivals").random(4)
    assert np.array_equal(a1, a2)
    assert not np.array_equal(a1, b) and not np.array_equal(a1, c)
    with pytest.raises(ValueError):
        RngStreams(-1)


@pytest.mark.parametrize(("bare", "example"), [(40, "'40/s'"), (0, "'6/s'"), (-3, "'6/s'")])
def test_a_bare_rate_suggests_a_rate_that_is_accepted(bare: int, example: str) -> None:
    """A bare number is refused with an example that has a period; for 0 or below the
    example is a positive rate, not one the next check would refuse too."""
    with pytest.raises(UnitError, match="bare number") as err:
        parse_rate(bare)
    assert example in str(err.value)
    parse_rate(example.strip("'"))
