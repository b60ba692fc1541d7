"""Grid expansion of ``--set`` overrides."""

from __future__ import annotations

import doctest

import pytest

import emulator.sweep
from emulator.sweep import expand_grid, split_values


@pytest.mark.parametrize(("raw", "values"), [
    ("0.2,0.4,0.6", ["0.2", "0.4", "0.6"]),
    ("fifo", ["fifo"]),
    ("[1,2]", ["[1,2]"]),
    ("{a: 1, b: 2}", ["{a: 1, b: 2}"]),
    ("'a,b'", ["'a,b'"]),
    ("[1,2],[3]", ["[1,2]", "[3]"]),       # several flow lists: several values
    ("x,[1,2]", ["x", "[1,2]"]),           # brackets protect their commas
    ("2/s, 4/s", ["2/s", "4/s"]),
    ("a,", ["a,"]),                        # an empty item: not a list, kept literally
    ("", [""]),
])
def test_split_values(raw: str, values: list[str]) -> None:
    assert split_values(raw) == values


def test_grid_is_the_cartesian_product_in_order() -> None:
    points = expand_grid(["seed=3", "tenants.eu.share=0.2,0.4", "duration=1d,2d,3d"])
    assert len(points) == 6
    assert points[0].overrides == ("seed=3", "tenants.eu.share=0.2", "duration=1d")
    assert points[-1].values == {"tenants.eu.share": "0.4", "duration": "3d"}
    assert points[1].label == "tenants.eu.share=0.2, duration=2d"


def test_no_lists_is_one_base_point() -> None:
    points = expand_grid(["seed=3", "a.b=[1,2]"])
    assert len(points) == 1 and points[0].label == "base"
    assert points[0].overrides == ("seed=3", "a.b=[1,2]")


def test_doctests() -> None:
    assert doctest.testmod(emulator.sweep).failed == 0


def test_overrides_keep_their_command_line_order() -> None:
    """A fixed override after a swept one applies after it (as ``gpuemu run`` does), so it
    refines the swept value instead of being overwritten by it."""
    points = expand_grid(["sites.0.halls=[{racks: 1}],[{racks: 2}]", "sites.0.halls.0.racks=3",
                          "duration=1d,2d"])
    assert points[1].overrides == ("sites.0.halls=[{racks: 1}]", "sites.0.halls.0.racks=3",
                                   "duration=2d")
    assert points[2].values == {"sites.0.halls": "[{racks: 2}]", "duration": "1d"}


@pytest.mark.parametrize(("overrides", "needle"), [
    (["sites.0.halls.0.racks=1,2", "sites.0.halls.0.racks=3"], "set again after"),
    (["sites.0.halls.0.racks=1,2", "sites.0.halls.0.racks=3,4"], "set again after"),
    (["sites.0.halls.0.racks=1,2", "sites.0.halls=[{racks: 3}]"], "replaces"),
])
def test_a_later_override_of_a_swept_field_is_refused(overrides: list[str],
                                                      needle: str) -> None:
    """It would replace the swept value at every point, each row still labelled with the
    swept value (``racks=1`` run with 3 racks)."""
    from emulator.errors import UserError

    with pytest.raises(UserError, match=needle) as info:
        expand_grid(overrides)
    assert "\n" not in str(info.value)
    # before the sweep, or on another field, it is fine
    assert len(expand_grid(["sites.0.halls.0.racks=3", "sites.0.halls.0.racks=1,2"])) == 2
    assert len(expand_grid(["sites.0.halls.0.racks=1,2", "sites.0.halls.0.rackss=3"])) == 2


def test_the_sweep_table_says_when_a_mean_leaves_runs_out() -> None:
    """A run without the figure (no job finished: no mean JCT) is left out of the mean over
    seeds; the table said 'mean over 2 seeds' for the one seed that had it."""
    import io

    from rich.console import Console

    from emulator.cli_sweep import _table
    from emulator.sweep_study import SweepResult

    point = expand_grid(["a=1,2"])
    rows = [{"point": "a=1", "seed": 1, "jct_s.mean": 600.0},
            {"point": "a=1", "seed": 2, "jct_s.mean": None},
            {"point": "a=2", "seed": 1, "jct_s.mean": 120.0},
            {"point": "a=2", "seed": 2, "jct_s.mean": 240.0}]
    out = io.StringIO()
    Console(file=out, width=200).print(_table(SweepResult("s.yaml", point, [1, 2], rows)))
    text = out.getvalue()
    assert "10.0 (1 of 2 runs)" in text
    assert " 3.0 " in text and "3.0 (" not in text  # both seeds: a plain mean
