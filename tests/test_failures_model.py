"""The failure model's parts: sampling statistics, what a failure does to work, bad input,
and that a run without failures is unchanged."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from scipy import stats

from emulator.build import build
from emulator.eventlog import Ev, Infra
from emulator.failure_metrics import failure_summary, failures_table
from emulator.failure_plan import FailurePlan, resolve_plan, sample_failures
from emulator.loader import validate_scenario
from emulator.rng import RngStreams
from tests.conftest import ROOT, run_scenario, small_scenario
from topologies.index import TopologyIndex, derive_index
from topologies.reliability import COMPONENTS, SECONDS_PER_YEAR

YEAR = SECONDS_PER_YEAR


def _with_failures(section: dict[str, Any], **changes: Any) -> dict[str, Any]:
    data = small_scenario(**changes)
    data["sites"][0]["failures"] = section
    return data


def _plan(section: dict[str, Any]) -> tuple[FailurePlan, TopologyIndex]:
    loaded = validate_scenario(_with_failures(section))
    index = derive_index(list(loaded.sites))
    plan = resolve_plan(list(loaded.sites), index)
    assert plan is not None
    return plan, index


def test_counts_match_rate_times_exposure_chi_square() -> None:
    """Over 5 seeds, failures per class follow Poisson(rate × units × horizon): the χ²
    statistic over (class, seed) cells is within its 0.1 % critical value."""
    plan, _ = _plan({"components": {"gpu": {"afr": 0.5}, "tray": {"afr": 2.0},
                                    "rack": {"afr": 3.0}, "nvlink_switch": {"afr": 4.0}}})
    horizon = 2 * YEAR
    chi2, cells = 0.0, 0
    for seed in range(5):
        _t, rows, _u = sample_failures(plan, horizon, RngStreams(seed).stream("failures"))
        for row, cls in enumerate(plan.classes):
            expected = float(cls.rate_per_s.sum()) * horizon
            observed = int((rows == row).sum())
            chi2 += (observed - expected) ** 2 / expected
            cells += 1
    assert chi2 < stats.chi2.ppf(0.999, cells), (chi2, cells)


def test_blast_radius_of_each_class() -> None:
    plan, index = _plan({"components": {c: {"afr": 1.0} for c in COMPONENTS}})
    sizes = {cls.name: {int(np.diff(cls.unit_start).max())} for cls in plan.classes}
    assert sizes["gpu"] == sizes["hbm"] == sizes["nic"] == sizes["software"] == {1}
    assert sizes["tray"] == {4}  # GB200 compute tray
    assert sizes["nvlink_switch"] == sizes["rack"] == {72}
    assert sizes["pdu"] == {4 * 72}  # racks_per_feed 4: the 4-rack hall is one feed
    rack = next(c for c in plan.classes if c.name == "rack")
    for u in range(rack.n_units):
        assert np.unique(index.gpu_rack[rack.unit_gpus(u)]).size == 1


def test_weibull_renewal_mean_matches_mtbf() -> None:
    """Weibull (k = 0.7) times between failures with the MTBF as mean: the count over a
    long horizon is units × horizon / MTBF within 5 %."""
    plan, _ = _plan({"defaults": False, "components": {
        "gpu": {"mtbf": "30d", "distribution": "weibull", "shape": 0.7, "repair": "1d"}}})
    horizon = 3 * YEAR
    t, _rows, _u = sample_failures(plan, horizon, RngStreams(3).stream("failures"))
    expected = 288 * horizon / (30 * 86400)
    assert t.size == pytest.approx(expected, rel=0.05)
    assert np.all(np.diff(t) >= 0) and t.max() < horizon


def test_no_section_and_empty_section_give_todays_log() -> None:
    """A site without failures (no section, or one with every rate zero) gives the event
    log a run without this feature gives (the golden digests pin the former)."""
    plain = run_scenario(small_scenario(duration="6h"))
    empty = run_scenario(_with_failures({"defaults": False}, duration="6h"))
    assert plain.engine.failures.plan.configs == {}
    assert empty.engine.failures.plan.configs and not empty.engine.failures.plan.classes
    assert empty.log.digest() == plain.log.digest()


@pytest.fixture(scope="module")
def failing_run() -> Any:
    data = _with_failures({"components": {"gpu": {"afr": 40.0, "repair": "3h"},
                                          "rack": {"afr": 15.0, "repair": "2h"},
                                          "software": {"afr": 5.0}},
                           "spares": 2, "restart": "7m"})
    # an autoscaled service on 1-GPU replicas, so failures hit extra replicas as well
    data["tenants"]["eu"]["inference"][0].update(
        {"replicas": 4, "autoscale": {"min_replicas": 2, "max_replicas": 12,
                                      "target_utilization": 0.05}})
    return run_scenario(data)


def test_interrupted_job_waits_for_detection_then_pays_restart(failing_run: Any) -> None:
    sim = failing_run
    c = sim.log.work_columns()
    k, w, t = c["kind"], c["work_id"], c["t_s"]
    interrupts = np.flatnonzero(k == Ev.INTERRUPT)
    assert interrupts.size > 3
    plan = sim.engine.failures.plan
    detection = {cls.name: cls.detection_s for cls in plan.classes}
    for i in interrupts.tolist():
        later = np.flatnonzero((w == w[i]) & (np.arange(k.size) > i))
        if not later.size:
            continue
        nxt = later[0]
        cause = sim.log.reasons[c["reason"][i]]
        if k[nxt] == Ev.REQUEUE:  # held exactly the class's detection time
            assert t[nxt] - t[i] == pytest.approx(detection[cause])
        restarts = later[k[later] == Ev.RESTART]
        if restarts.size:
            work = sim.works[int(w[i])]
            overhead = work.spec.checkpoint_cost_s + 7 * 60.0
            assert c["speed"][restarts[0]] == pytest.approx(overhead)


def test_replicas_lost_requests_retried_and_capacity_back() -> None:
    """A failed GPU under an autoscaled extra replica ends it (``lost``) and the
    autoscaler replaces it; one under a base replica stops that replica, and a replacement
    is queued at once."""
    data = _with_failures({"defaults": False}, duration="6h")
    data["tenants"]["eu"]["inference"][0].update(
        {"rate": "40/s", "replicas": 4,
         "max_batch": 8,
         "autoscale": {"min_replicas": 4, "max_replicas": 12, "target_utilization": 0.5}})
    sim = build(validate_scenario(data), keep_segments=True)
    sim.engine.start()
    sim.env.run(until=3 * 3600.0 + 1.0)  # just after a window: its requests are in flight
    serving = sim.engine.serving
    svc = serving.services[0]
    extra = [w for w in svc.replica_works if w.state == "running"]
    assert extra, "the load should have scaled the service up"
    victim = extra[0]
    before = svc.replicas
    sim.engine.failures.inject(victim.gpus[:1], "gpu", repair_s=1800.0)
    assert victim.state == "lost" and svc.replicas == before - 1
    base = svc.work
    sim.engine.failures.inject(base.gpus[:1], "hbm", repair_s=900.0)
    assert svc.replicas == before - 2
    sim.env.run(until=3 * 3600.0 + 902.0)  # the base replica's replacement is placed
    assert svc.replicas >= before - 1
    sim.env.run(until=3 * 3600.0 + 1800.0)
    assert svc.replicas + len(svc.queued_replicas) >= before  # replaced by autoscaling
    sim.engine.finish()
    summary = failure_summary(sim.log, sim.works, sim.env.now, sim.index.n_gpus)
    # the extra replica ended and the base replica stopped (then replaced): both lost
    assert summary["replicas_lost"] == 2
    assert summary["base_replicas_stopped"] == summary["base_replicas_restored"] == 1
    assert summary["requests_retried"] > 0  # busy slots of the lost replicas were retried


def test_a_service_left_without_replicas_carries_nothing_to_its_repaired_one() -> None:
    """Its only replica fails: the requests in flight fail with it, so the decodes and
    prefills the service carried from window to window go too (the next windows' prompts
    would otherwise find phantom sequences decoding); its replacement, placed at once on
    healthy GPUs, serves afresh after its cold start."""
    data = _with_failures({"defaults": False}, duration="3h")
    data["tenants"]["eu"]["inference"][0].update({"rate": "20/s", "replicas": 1})
    data["tenants"]["eu"]["inference"][0].pop("autoscale", None)
    sim = build(validate_scenario(data))
    sim.engine.start()
    sim.env.run(until=3600.0 + 1.0)  # just after a window: its requests are in flight
    svc = sim.engine.serving.services[0]
    assert svc.decode_last.size > 0 and svc.riding_seen is not None
    sim.engine.failures.inject(svc.work.gpus[:1], "hbm", repair_s=900.0)
    assert not len(svc.free_at)
    sim.env.run(until=3600.0 + 1.5)  # the replacement is placed: it opens after 2 min
    opens = 3601.0 + 120.0
    assert list(svc.opens_at.values()) == [opens]
    sim.env.run(until=3600.0 + 300.0)  # a window without a replica serving, then one
    # nothing carried from the failed replica: every decode begins on the replacement
    assert svc.decode_first.size == svc.decode_last.size
    assert bool((svc.decode_first >= opens).all())
    assert bool((svc.busy_end >= opens).all())
    sim.env.run(until=3600.0 + 1800.0)
    assert len(svc.free_at) and svc.riding_seen is not None
    sim.engine.finish()


def test_spares_shorten_downtime_and_return(failing_run: Any) -> None:
    sim = failing_run
    table = failures_table(sim.log)
    spares = table["event"] == "spare"
    assert spares.any()
    # the pool never goes below zero nor above its size
    left = table["gpus"][spares]
    assert np.all(left >= 0)
    ik = np.frombuffer(sim.log.infra_kind, dtype="b")
    assert np.all(np.frombuffer(sim.log.infra_value, dtype="d")[ik == Infra.SPARE] <= 2)


def test_down_gpus_match_failures_not_yet_repaired(failing_run: Any) -> None:
    """At the end, the GPUs out of service are exactly those of unrepaired failures."""
    sim = failing_run
    fm = sim.engine.failures
    assert np.array_equal(sim.engine.cluster.down, fm.down_count > 0)


def test_inject_applies_like_a_sampled_failure() -> None:
    sim = build(validate_scenario(small_scenario(duration="12h")),  # no failures: section
                keep_segments=True)
    sim.engine.start()
    sim.env.run(until=6 * 3600.0)
    core = sim.engine.core
    victim = next(w for w in core.running.values() if w.kind == "training")
    gpus = victim.gpus.copy()
    sim.engine.failures.inject(gpus[:1], "gpu", repair_s=3600.0)
    assert victim.state == "held" and victim.interruptions == 1
    assert core.cluster.down[gpus[0]]
    sim.env.run(until=6 * 3600.0 + 3601.0)
    assert not core.cluster.down[gpus[0]]


def _cli(tmp_path: Path, data: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "scenario.yaml"
    path.write_text(yaml.safe_dump(data))
    return subprocess.run([sys.executable, "-m", "emulator", "validate", str(path)],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)


@pytest.mark.parametrize(("section", "needles"), [
    ({"components": {"gpu": {"mtbf": "-5h"}}}, ("failures.components.gpu.mtbf", "-5h",
                                                 "greater than 0")),
    ({"components": {"gpux": {"afr": 1}}}, ("failures.components", "gpux", "one of gpu")),
    ({"components": {"rack": {"repair": 0}}}, ("failures", "components.rack.repair > 0",
                                               "spares")),
    # a spare pool does not make a repair of 0 s meaningful: spares only shorten repairs
    ({"components": {"gpu": {"repair": 0}}, "spares": 2},
     ("failures", "components.gpu.repair > 0", "spares 2")),
    ({"components": {"gpu": {"afr": 1, "mtbf": "52w"}}}, ("components.gpu", "either afr")),
    # without the catalog a class given a rate has no repair time: it was 0 s in silence
    ({"defaults": False, "components": {"gpu": {"afr": 100}}},
     ("failures", "components.gpu.repair", "defaults false")),
    # rates that would draw more failures than a run can hold: an error, not a traceback
    # from the sampler (afr) or a loop that fills the memory (a tiny Weibull shape)
    ({"components": {"gpu": {"afr": 1e300}}}, ("sites.0.failures.components.gpu",
                                               "failures expected", "at most 10,000,000")),
    ({"components": {"gpu": {"afr": 1, "distribution": "weibull", "shape": 0.01}}},
     ("sites.0.failures.components.gpu", "Weibull shape 0.01", "at most 10,000,000")),
])
def test_bad_failure_input_is_one_line_exit_2(tmp_path: Path, section: dict[str, Any],
                                              needles: tuple[str, ...]) -> None:
    proc = _cli(tmp_path, _with_failures(copy.deepcopy(section)))
    assert proc.returncode == 2, proc.stderr + proc.stdout
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()]
    assert len(lines) == 1, proc.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


def test_live_counts_follow_interruptions() -> None:
    """The dashboard's counts, folded from the log, agree with the engine mid-run (jobs
    held for detection counted neither queued nor holding GPUs), and the last frame keeps
    the state the run stopped in: its truncations are counted as cut off, not emptied."""
    from emulator.dashboard import LiveCounts

    data = _with_failures({"components": {"gpu": {"afr": 60.0, "repair": "1h"},
                                          "software": {"afr": 20.0}}}, duration="1d")
    sim = build(validate_scenario(data))
    counts = LiveCounts(sim.log, {w.work_id: w.tenant_idx for w in sim.works
                                  if w.kind == "inference"})
    sim.engine.start()
    sim.env.run(until=12 * 3600.0)
    assert sum(counts.gpus) == sum(sim.engine.core.tenant_gpus)
    assert sum(counts.queued) == len(sim.engine.queue)
    sim.env.run(until=sim.horizon_s)
    gpus, queued = sum(sim.engine.core.tenant_gpus), len(sim.engine.queue)
    assert (sum(counts.gpus), sum(counts.queued)) == (gpus, queued)
    cut = len(sim.engine.queue) + len(sim.engine.running) + len(sim.engine.core.held)
    sim.engine.finish()
    assert sim.engine.core.held == {}
    assert (sum(counts.gpus), sum(counts.queued)) == (gpus, queued)
    assert counts.cut_off == cut
    assert any(w.interruptions for w in sim.works)


def test_a_rate_too_small_to_register_never_fails() -> None:
    """An AFR that underflows to 0 per second (hypothesis found 5e-324) is a class that
    never fails, not a sampling error."""
    data = _with_failures({"defaults": False,
                           "components": {"software": {"afr": 5e-324},
                                          "gpu": {"afr": 1.0, "repair": "1h"}}})
    sim = build(validate_scenario(data))
    sim.run()
    assert all(c.code != COMPONENTS.index("software") for c in sim.engine.failures.plan.classes)
