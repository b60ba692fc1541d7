"""An operator's restore of a rack or site ends the sampled failures inside it: the log
says where each failure struck (GPU ids), and the report's shading and the failure
summary's GPU-hours down end there, not at the failure's own (later) repair."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from emulator import api
from emulator.report.rundata import RunData
from emulator.report.segments import outages
from topologies.reliability import COMPONENTS

RESTORE_S = 6 * 3600.0
HORIZON_S = 12 * 3600.0


def _run(tmp_path: Path) -> api.Result:
    events = tmp_path / "events.csv"
    events.write_text("at,target,action,duration,value\n6h,site:bizerte-20mw,restore,,\n")
    scenario = {
        "name": "restore-ends-failures", "seed": 3, "duration": "12h", "events": str(events),
        "sites": [{"preset": "bizerte-20mw",
                   "halls": [{"name": "hall-a", "system": "gb200-nvl72", "racks": 4}],
                   "failures": {"defaults": False, "components": {
                       "gpu": {"mtbf": "30d", "repair": "10h"}}}}],
        "tenants": {"lab": {"training": [{
            "name": "ft", "model": "llama3-8b", "rate": "10/d", "gpus": [8, 16], "tp": 8,
            "tokens": 1e10}]}},
        "scheduler": {"queue": "backfill", "placement": "pack"},
        "compute": {"backend": "numpy"},
        "engine": {"sample_interval": "10m"},
    }
    return api.run(scenario)


def test_a_restore_of_the_site_ends_the_sampled_failures_in_it(tmp_path: Path) -> None:
    res = _run(tmp_path)
    infra = pd.DataFrame(res.tables["infra"])
    gpu = COMPONENTS.index("gpu")
    sampled = infra[infra.subject == gpu]
    # where each sampled failure struck: one GPU, logged as its id
    assert (sampled.gpu_first >= 0).all() and (sampled.gpu_first == sampled.gpu_last).all()
    restore = infra[infra.label == "restore site:bizerte-20mw"]
    assert restore[["gpu_first", "gpu_last"]].values.tolist() == [[0, 287]]
    fails = sampled[sampled.event == "failure"]
    before = fails[fails.t_s < RESTORE_S]
    assert len(before) >= 2  # failures the restore ends, their repairs due after it (10 h)
    spans = outages(RunData(summary={"simulated_s": HORIZON_S}, tables=res.tables))
    got = sorted((o.start_s, o.end_s) for o in spans if o.label == "gpu")
    ends = {start: end for start, end in got}
    for t in before.t_s:
        assert ends[t] == RESTORE_S, (t, ends[t])
    # the failure summary agrees: each failure down until its repair or the restore
    down_h = sum(end - start for start, end in got) / 3600.0
    assert len(got) == len(fails)
    by_class = res.summary["failures"]["by_class"]["gpu"]
    assert np.isclose(by_class["gpu_h_down"], down_h, rtol=1e-12)
    assert np.isclose(by_class["availability"], 1.0 - down_h * 3600.0 / (288 * HORIZON_S),
                      rtol=1e-12)


def test_a_log_saved_without_gpu_ranges_loads_with_none(tmp_path: Path) -> None:
    """A log saved before infra rows carried GPU ids loads with -1 there (none logged)."""
    from emulator.eventlog import EventLog, Infra, Sample
    from emulator.logio import load_log, save_log

    log = EventLog(tenants=("a",), sites=("s",))
    log.sample(Sample(t=0.0, it_w=np.zeros(1), facility_w=np.zeros(1), busy_gpus=0,
                      mean_util=0.0, queue_by_tenant=(0,), running=0))
    log.infra_event(1.0, Infra.FAILURE, "gpu", subject=0, value=1.0, gpus=np.array([7]))
    log.infra_event(2.0, Infra.CABLE_CUT, "medusa")
    path = tmp_path / "log.npz"
    save_log(log, path)
    assert list(load_log(path).infra_gpu_first) == [7, -1]
    with np.load(path) as npz:
        old = {k: npz[k] for k in npz.files if not k.startswith("infra_gpu_")}
    np.savez(path, **old)
    loaded = load_log(path)
    assert list(loaded.infra_gpu_first) == [-1, -1] and list(loaded.infra_gpu_last) == [-1, -1]


def test_the_failure_summary_ends_a_failure_at_a_restore_only() -> None:
    """GPU-hours down per class: a sampled failure inside a restored target is down until
    the restore; the end of a timed planned failure of its rack (logged as ``fail …``)
    does not end it."""
    from emulator.eventlog import EventLog, Infra
    from emulator.failure_metrics import failure_summary

    gpu = COMPONENTS.index("gpu")
    log = EventLog(tenants=("a",), sites=("s",))
    log.infra_event(10.0, Infra.FAILURE, "gpu", subject=gpu, value=1.0, gpus=np.array([5]))
    log.infra_event(12.0, Infra.FAILURE, "gpu", subject=gpu, value=1.0, gpus=np.array([80]))
    rack0, rack1 = np.arange(0, 72), np.arange(72, 144)
    log.infra_event(20.0, Infra.FAILURE, "fail rack:s/h/0", value=72.0, gpus=rack0)
    log.infra_event(30.0, Infra.REPAIR, "fail rack:s/h/0", value=72.0, gpus=rack0)
    log.infra_event(40.0, Infra.REPAIR, "restore rack:s/h/1", value=1.0, gpus=rack1)
    log.infra_event(60.0, Infra.REPAIR, "gpu", subject=gpu, value=1.0, gpus=np.array([5]))
    log.infra_event(62.0, Infra.REPAIR, "gpu", subject=gpu, value=1.0, gpus=np.array([80]))
    got = failure_summary(log, [], 100.0, 144)["by_class"]["gpu"]
    assert np.isclose(got["gpu_h_down"] * 3600.0, (60.0 - 10.0) + (40.0 - 12.0))
