"""The time series of a run over several sites splits GPUs held and utilisation by site
(they were the whole run's, repeated on every site's row), and GPUs out of service that no
work holds are not busy."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from emulator.logio import load_log, save_log
from emulator.tables import timeseries_table
from tests.conftest import SMALL_SITE, run_scenario, small_scenario


def _two_sites() -> dict:
    data = small_scenario(duration="12h")
    data["sites"] = [dict(SMALL_SITE),
                     {"preset": "morocco-40mw",
                      "halls": [{"name": "phase1-a", "system": "gb200-nvl72", "racks": 2}]}]
    return data


def test_busy_gpus_and_utilisation_are_per_site() -> None:
    sim = run_scenario(_two_sites())
    table = timeseries_table(sim.log)
    n = len(sim.log.samples)
    busy = table["busy_gpus"].reshape(n, 2)
    util = table["mean_util"].reshape(n, 2)
    site_gpus = np.bincount(sim.index.gpu_site, minlength=2)
    assert (busy <= site_gpus).all() and (busy >= 0).all()
    totals = np.array([s.busy_gpus for s in sim.log.samples])
    np.testing.assert_array_equal(busy.sum(axis=1), totals)
    assert (busy[:, 0] != busy[:, 1]).any()  # not one figure repeated on both rows
    # the utilisation per site, weighted by the sites' GPUs, is the run's mean
    means = np.array([s.mean_util for s in sim.log.samples])
    np.testing.assert_allclose(util @ site_gpus / site_gpus.sum(), means, rtol=1e-5)
    assert ((util >= 0) & (util <= 1)).all()


def test_a_saved_log_keeps_the_split() -> None:
    sim = run_scenario(_two_sites())
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "log.npz"
        save_log(sim.log, path)
        again = load_log(path)
    before, after = timeseries_table(sim.log), timeseries_table(again)
    for column in ("busy_gpus", "mean_util"):
        np.testing.assert_array_equal(before[column], after[column])
    assert again.digest() == sim.log.digest()


def test_idle_gpus_out_of_service_are_not_busy(tmp_path: Path) -> None:
    events = tmp_path / "events.csv"
    events.write_text("at,target,action,duration,value\n1h,rack:bizerte-20mw/hall-a/3,fail,,\n")
    data = small_scenario(duration="6h")
    data["events"] = str(events)
    data["tenants"]["lab"]["training"] = []
    data["tenants"]["eu"]["inference"] = []
    data["tenants"]["lab"]["jobs"] = [{"name": "one", "model": "llama3-8b", "gpus": 8,
                                       "tp": 8, "tokens": 1e12, "global_batch_tokens": 1e6}]
    sim = run_scenario(data)
    busy = np.array([s.busy_gpus for s in sim.log.samples])
    assert busy.max() == 8  # the one job; the failed rack's 72 idle GPUs are not busy

