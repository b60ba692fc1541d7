"""A run stopped early (``--until``) judges requests against where it stops: its figures
are those of a scenario that lasts that long, never ones projected past what was simulated."""

from __future__ import annotations

import numpy as np

from emulator.build import build
from emulator.loader import validate_scenario
from emulator.tables import requests_table
from tests.conftest import small_scenario


def _overloaded(duration: str) -> dict:
    data = small_scenario(duration=duration)
    data["tenants"]["lab"]["training"] = []
    data["tenants"]["eu"]["origin"] = "local"  # no network time on top of the first token
    data["tenants"]["eu"]["inference"][0].update(replicas=1, rate="400/s")
    return data


def _light(duration: str) -> dict:
    data = _overloaded(duration)
    data["tenants"]["eu"]["inference"][0].update(rate="2/s", replicas=2)
    return data


def _requests(data: dict, until: float | None) -> dict[str, np.ndarray]:
    sim = build(validate_scenario(data))
    sim.run(until=until)
    return requests_table(sim.log, sim.works)


def test_until_gives_the_requests_of_a_run_that_long() -> None:
    short = _requests(_overloaded("10m"), None)
    stopped = _requests(_overloaded("2h"), 600.0)
    assert short["arrival_s"].size > 100_000
    assert np.isnan(short["ttft_s"]).sum() > 1000  # overloaded: many have no first token yet
    for column in ("arrival_s", "wait_s", "ttft_s", "tpot_s", "e2e_s"):
        np.testing.assert_array_equal(stopped[column], short[column], err_msg=column)


def test_no_request_figure_reaches_past_the_stop() -> None:
    reqs = _requests(_overloaded("2h"), 600.0)
    assert np.nanmax(reqs["arrival_s"] + reqs["wait_s"]) <= 600.0 + 1e-6
    first = reqs["arrival_s"] + reqs["ttft_s"]
    assert np.nanmax(first) <= 600.0 + 1e-6


def test_unfinished_counts_requests_still_decoding_at_the_end() -> None:
    from emulator.results import collect

    figures = []
    for keep in (True, False):
        data = _light("10m")
        data["output"] = {"requests": keep}
        sim = build(validate_scenario(data))
        sim.run(until=90.0)
        figures.append(collect(sim, include_requests=keep).summary["requests"])
    rows = _requests(_light("10m"), 90.0)
    decoding = np.isnan(rows["e2e_s"]) & ~np.isnan(rows["ttft_s"])
    assert decoding.sum() > 0  # requests with a first token, still generating at the end
    for got in figures:
        assert got["unfinished"] == int(np.isnan(rows["e2e_s"]).sum())
        assert got["unreachable"] == 0
