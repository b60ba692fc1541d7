"""A serving replica's life cycle under autoscaling: a scaled-down replica drains (admits
nothing new, gives its GPUs back when its last request ends), and a scale-down while a
replica warms up cancels that one, not a warm one."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from emulator.build import Simulation, build
from emulator.loader import validate_scenario
from emulator.results import collect
from tests.conftest import run_scenario, small_scenario
from tests.test_engine_invariants import check_invariants

WINDOW_S = 120.0  # the small scenario's serving window


def _service(duration: str = "40m", **changes: Any) -> dict[str, Any]:
    data = small_scenario(duration=duration)
    data["tenants"]["lab"]["training"] = []
    svc = {"name": "chat", "model": "llama3-70b", "replicas": 4, "gpus_per_replica": 2,
           "precision": "fp8", "rate": "0.2/s", "max_batch": 8,
           "prompt_tokens": {"dist": "fixed", "value": 512},
           "output_tokens": {"dist": "fixed", "value": 2048},
           "slo": {"ttft": "2s", "tpot": "100ms"},
           "autoscale": {"min_replicas": 1, "max_replicas": 4, "scale_down_after": "2m"}}
    svc.update(changes)
    data["tenants"]["eu"]["inference"] = [svc]
    return data


def test_a_scaled_down_replica_drains_before_its_gpus_go_back() -> None:
    """Four replicas of long (2,048-token) answers at 0.2 req/s scale down to one within
    eight minutes. Each replica removed still holds requests (about 20 s of decode left):
    it finishes when the last of them ends, not at the window's end where it was scaled
    down (all three used to finish at 240, 360 and 480 s exactly, their requests carried on
    the survivors at no cost), and its GPU-seconds in the jobs table are those it held."""
    sim = run_scenario(_service())
    check_invariants(sim)
    stopped = [w for w in sim.works if w.kind == "replica" and w.state == "finished"]
    assert len(stopped) >= 3
    after = [w.end_s - WINDOW_S * math.floor(w.end_s / WINDOW_S) for w in stopped]
    assert all(0.0 <= a < 60.0 for a in after)  # drained within a minute of scale-down
    assert sum(a > 0.0 for a in after) >= 2  # and not at once: it held requests
    jobs = collect(sim).tables["jobs"]
    for w in stopped:
        row = np.flatnonzero(jobs["work_id"] == w.work_id)[0]
        assert jobs["gpu_s"][row] == w.n_gpus * (w.end_s - w.start_s)


def _warm_up_scenario() -> Simulation:
    data = _service(duration="10m", replicas=1, rate="0.01/s",
                    output_tokens={"dist": "fixed", "value": 256},
                    autoscale={"min_replicas": 1, "max_replicas": 4,
                               "scale_up_delay": "20m", "scale_down_after": "1h"})
    return build(validate_scenario(data), keep_segments=True)


def test_scale_down_during_warm_up_cancels_the_warming_replica() -> None:
    """A replica added at 100 s warms up for 20 minutes; at 200 s the service scales down
    by one: the warming replica goes (its servers never open) and the warm one keeps
    serving. The warm replica's slots used to be closed instead, so requests from 200 s on
    waited for the new replica to open at 1,300 s."""
    sim = _warm_up_scenario()
    eng = sim.engine
    seen: dict[str, Any] = {}

    def step(s: Simulation) -> None:
        svc = eng.serving.services[0]
        if s.env.now == 100:
            eng.autoscaler.scale_up(svc, 1)
        elif s.env.now == 200:
            eng.autoscaler.scale_down(svc, 1)
            seen["slots"] = svc.free_at.times()
            seen["pipes"] = sorted(svc.prefill_free_at)

    sim.run(on_progress=step, step_s=100)
    assert len(seen["slots"]) == 8 and max(seen["slots"]) < 1300.0
    assert len(seen["pipes"]) == 1 and seen["pipes"][0] < 1300.0
    replica = next(w for w in sim.works if w.kind == "replica")
    assert replica.state == "finished" and replica.end_s == 200.0
    waits = np.concatenate([b.wait_s for b in sim.log.requests
                            if b.arrival_s.size and b.arrival_s[0] >= 200.0])
    assert waits.size and float(np.nanmax(waits)) < 10.0


def _fail_others_while_draining(extra: list[int] | None = None) -> dict[str, Any]:
    """Run :func:`_service` for 15 minutes; at the first check (5 s apart) with a replica
    draining, fail the GPUs of every other replica (and of ``extra`` replica ids too)."""
    sim = build(validate_scenario(_service(duration="15m")), keep_segments=True)
    eng = sim.engine
    seen: dict[str, Any] = {}

    def step(s: Simulation) -> None:
        svc = eng.serving.services[0]
        if "t" in seen or not svc.draining:
            return
        wid, busy = next(iter(svc.draining.items()))
        held = eng.serving.held._of(svc.work.work_id)
        rows = [(h, int(np.argmin(np.abs(h.end_at - busy[0])))) for h in held]
        h, i = min(rows, key=lambda r: abs(r[0].end_at[r[1]] - busy[0]))
        seen.update(t=s.env.now, wid=wid, busy=list(busy), row=(h.batch, i),
                    e2e=float(h.batch.e2e_s[i]))
        gpus = np.concatenate([svc.work.gpus] + [w.gpus for w in svc.replica_works])
        seen["takes_all"] = eng.failures.replicas._takes_all(svc, gpus)
        d = sim.works[wid].gpus
        seen["takes_all_with_it"] = eng.failures.replicas._takes_all(
            svc, np.concatenate([gpus, d]))
        eng.failures._apply(gpus, "gpu", 0, 0.0, 600.0, spare_ok=False)
        seen["state"] = sim.works[wid].state

    sim.run(on_progress=step, step_s=5)
    seen["sim"] = sim
    return seen


def test_failure_of_the_other_replicas_spares_a_draining_ones_requests() -> None:
    """A replica scaled down at 240 s drains one request to about 248.6 s; at 245 s a
    failure takes every other replica. The draining replica is healthy: its request ends
    on it as it would have (its e2e unchanged, not failed), the replica finishes when it
    ends, and the failure does not say that no replica is left while it drains (it says
    so once its GPUs are in the failure too). Its request used to be failed (NaN
    latencies, counted in requests_failed) although it completed."""
    seen = _fail_others_while_draining()
    sim = seen["sim"]
    assert seen["state"] == "running"
    batch, i = seen["row"]
    assert batch.e2e_s[i] == seen["e2e"] and math.isfinite(seen["e2e"])
    replica = sim.works[seen["wid"]]
    assert replica.state == "finished" and replica.end_s == max(seen["busy"])
    assert seen["takes_all"] is False and seen["takes_all_with_it"] is True
    res = collect(sim)
    req = res.tables["requests"]
    failed = int(np.count_nonzero(np.isnan(req["e2e_s"]) & (req["arrival_s"] < seen["t"])))
    assert res.summary["failures"]["requests_failed"] == failed
    ends = req["arrival_s"] + req["e2e_s"] - sim.engine.serving.services[0].rtt_s
    assert np.isclose(ends, max(seen["busy"]), rtol=0.0, atol=1e-6).sum() == 1


def test_scale_down_takes_a_slots_queued_chain_out_of_the_carried_decodes() -> None:
    """Four replicas at 2 req/s of 2,048-token answers (far over their 32 slots): at
    245 s one is scaled down by hand while requests wait behind running ones on its slots.
    Every request on its slots decodes there, the running one before a queued one
    included, so none of their decodes stays in the decode load the survivors carry; the
    running one's used to stay (only each slot's last request was taken out)."""
    data = _service(duration="10m", rate="2/s",
                    autoscale={"min_replicas": 1, "max_replicas": 4,
                               "scale_down_after": "1h"})
    sim = build(validate_scenario(data), keep_segments=True)
    eng = sim.engine
    seen: dict[str, Any] = {}

    def step(s: Simulation) -> None:
        svc = eng.serving.services[0]
        if s.env.now != 245:
            return
        eng.autoscaler.scale_down(svc, 1)
        (busy,) = svc.draining.values()
        held = eng.serving.held._of(svc.work.work_id)
        end = np.concatenate([h.end_at for h in held])
        start = np.concatenate([h.start_at for h in held])
        ready = np.concatenate([h.ready_at for h in held])
        arrival = np.concatenate([h.batch.arrival_s for h in held])
        last = [int(np.argmin(np.abs(end - f))) for f in busy]
        before = [float(ready[k]) for k in last
                  if start[k] > s.env.now and ready[k] > max(s.env.now, arrival[k])]
        seen["before"] = before
        seen["carried"] = svc.decode_last.copy()

    sim.run(on_progress=step, step_s=5)
    assert len(seen["before"]) >= 2  # slots with a request queued behind a running one
    for f in seen["before"]:
        assert not np.isclose(seen["carried"], f, rtol=0.0, atol=1e-6).any()


def test_forget_decodes_drops_the_nearest_carried_decode() -> None:
    """Carried decodes end 0.9 µs before 10 s and at 10 s: forgetting the request ending at
    10 s drops the one at 10 s, not the earlier one within the tolerance (the first at or
    above ``10 - 1 µs`` used to go); an end with nothing within 1 µs drops nothing."""
    from types import SimpleNamespace

    from emulator.serving_carry import forget_decodes

    svc = SimpleNamespace(decode_first=np.array([1.0, 2.0, 3.0]),
                          decode_last=np.array([10.0 - 0.9e-6, 10.0, 20.0]))
    forget_decodes(svc, [10.0, 15.0])  # type: ignore[arg-type]
    assert svc.decode_last.tolist() == [10.0 - 0.9e-6, 20.0]
    assert svc.decode_first.tolist() == [1.0, 3.0]
    forget_decodes(svc, [10.0, 10.0])  # type: ignore[arg-type]
    assert svc.decode_last.tolist() == [20.0]
