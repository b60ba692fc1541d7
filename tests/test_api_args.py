"""The Python API's argument errors name its parameters (not the CLI's options) and a
wrong type is one UserError line, never a TypeError from deep inside."""

from __future__ import annotations

import pytest

from emulator import api
from emulator.errors import UserError
from tests.test_api import _data


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"seeds": 0}, r"^seeds: got 0; expected a number of seeds per point, from 1 to 10000$"),
    ({"seeds": 10**9}, r"^seeds: got 1000000000; expected a number of seeds per point, from 1 "
                       r"to 10000$"),
    ({"seeds": str(10**30)}, r"^seeds: got '10{30}'; expected a number of seeds per point, "
                             r"from 1 to 10000$"),
    ({"workers": 10**9}, r"^workers: got 1000000000; expected a number of workers, from 1 to "
                         r"1024$"),
    ({"workers": 4, "scheduler": "tcp://127.0.0.1:1"},
     r"^workers 4: cannot be used with scheduler tcp://127\.0\.0\.1:1 \(the scheduler's "
     r"workers run the cells\); expected one of them$"),
    ({"seeds": 2.5}, r"^seeds: got 2\.5; expected a number of seeds per point \(an int\)"),
    ({"seeds": True}, r"^seeds: got True; expected"),
    ({"seeds": "two"}, r"^seeds: got 'two'; expected"),
    ({"workers": 0}, r"^workers: got 0; expected a number of workers, from 1 to 1024$"),
    ({"workers": "x"}, r"^workers: got 'x'; expected"),
    ({"scheduler": "host:8786"}, r"^scheduler: got 'host:8786'; expected an address such as"),
    ({"scheduler": 8786}, r"^scheduler: got 8786; expected an address"),
    ({"scheduler": "tcp://"}, r"^scheduler: got 'tcp://'; expected an address such as "
                              r"'tcp://host:8786' \(or None: a local cluster\); it has no host$"),
    ({"cache": 5}, r"^cache: got 5; expected a folder path"),
    ({"until": [1]}, r"^until: got \[1\]; expected a duration"),
    ({"until": "-1h"}, r"^until: "),
    ({"overrides": 5}, r"^overrides: got 5; expected a 'KEY.PATH=VALUE' string"),
    ({"overrides": ["seed=1,2"]}, r"^overrides: got 'seed=1,2'; the seeds of a sweep come "
                                  r"from seeds="),
    ({"overrides": ["racks"]}, r"^overrides 'racks': expected KEY.PATH=VALUE"),
    ({"overrides": ["sites.5.halls.0.racks=1,2"]}, r"^overrides sites\.5\.halls\.0\.racks: "
                                                   r"index 5 out of range"),
    ({"overrides": ["sites.0.halls.0.racks=1", 3]}, r"^overrides: got 3 in the list"),
    ({"overrides": ["sites.0.halls.0.racks=1,2", "sites.0.halls.0.racks=3"]},
     r"^overrides 'sites\.0\.halls\.0\.racks': set again after an earlier override"),
])
def test_sweep_errors_name_its_parameters(kwargs: dict, message: str) -> None:
    with pytest.raises(UserError, match=message) as info:
        api.sweep(_data(), **{"until": "10m", **kwargs})
    assert "--" not in str(info.value)


def test_api_count_bounds_are_the_cli_bounds() -> None:
    from emulator.executor import MAX_WORKERS
    from emulator.sweep_study import MAX_SEEDS, check_seeds

    assert (MAX_SEEDS, MAX_WORKERS) == (10_000, 1024)  # as the API's docstring says
    assert check_seeds(MAX_SEEDS) == MAX_SEEDS
    with pytest.raises(UserError, match=r"^--seeds: got 10001; expected at most 10000"):
        check_seeds(MAX_SEEDS + 1)


def test_seeds_past_the_largest_seed_are_one_line() -> None:
    from emulator.sweep_study import seeds_from

    top = 2**63 - 1
    assert seeds_from(top - 2, 3) == [top - 2, top - 1, top]
    with pytest.raises(UserError, match=r"^--seeds: got 4; from the scenario's seed "
                                        rf"{top - 2} that passes the largest seed 2\*\*63 - 1; "
                                        r"expected at most 3$"):
        seeds_from(top - 2, 4)


def test_sweep_takes_a_count_of_seeds_as_a_string_as_the_cli_does() -> None:
    rows = api.sweep(_data(), "sites.0.halls.0.racks=1", seeds="2", until="10m", workers="1")
    assert list(rows["seed"]) == [7, 8]


def test_an_uncreatable_cache_names_the_cache_argument(tmp_path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(UserError, match=r"^cache .*: cannot create it") as info:
        api.sweep(_data(), until="10m", cache=blocker / "cells")
    assert "--" not in str(info.value)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"seed": 1.5}, r"^seed: got 1\.5; expected a whole-number seed"),
    ({"seed": True}, r"^seed: got True; expected"),
    ({"until": True}, r"^until: got True; expected a duration"),
    ({"until": {"h": 1}}, r"^until: got \{'h': 1\}; expected a duration"),
    ({"overrides": 5}, r"^overrides: got 5; expected"),
    ({"overrides": [None]}, r"^overrides: got None in the list"),
    ({"overrides": ["racks"]}, r"^overrides 'racks': expected KEY.PATH=VALUE"),
    ({"overrides": ["tenants.nobody.share=1"]}, r"^overrides tenants\.nobody\.share: no "
                                                r"tenant named"),
    ({"backend": ["numpy"]}, r"^backend: got \['numpy'\]; expected one of"),
])
def test_run_errors_name_its_parameters(kwargs: dict, message: str) -> None:
    with pytest.raises(UserError, match=message) as info:
        api.run(_data(), **{"until": "10m", **kwargs})
    assert "--" not in str(info.value)


def test_the_cli_keeps_naming_its_options() -> None:
    from emulator.loader import apply_override, parse_override

    with pytest.raises(UserError, match=r"^--set 'racks': expected KEY.PATH=VALUE"):
        parse_override("racks")
    with pytest.raises(UserError, match=r"^--set sites\.5\.racks: index 5 out of range"):
        apply_override({"sites": [{}]}, ["sites", "5", "racks"], 1)


def test_write_and_report_name_their_folder_argument() -> None:
    result = api.run(_data(), until="10m")
    with pytest.raises(UserError, match=r"^folder: got 5; expected a folder path$"):
        result.write(5)  # type: ignore[arg-type]
    with pytest.raises(UserError, match=r"^path: got None; expected a folder path$"):
        result.report(None)  # type: ignore[arg-type]
