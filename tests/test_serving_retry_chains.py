"""Requests on a failed replica's slots: every one not ended, running or queued on the slot,
is retried once (or failed), and the redo loads the surviving replicas."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import yaml

from emulator.build import Simulation, build
from emulator.loader import validate_scenario
from emulator.results import Results, collect

_AT = 295.0  # each slot then holds a running request and one queued behind it


def _sim(tmp_path: Path, fail: bool, rows: bool = True) -> Simulation:
    """Two one-slot replicas of an 8B model at 0.6 req/s (a queue forms for the slots);
    with ``fail``, replica 0's GPU fails at 295 s for 90 s."""
    data: dict[str, Any] = {
        "name": "chains", "seed": 3, "duration": "10m",
        "sites": [{"preset": "bizerte-20mw",
                   "halls": [{"name": "hall-b", "system": "gb200-nvl72", "racks": 1}]}],
        "tenants": {"chat": {"origin": "marseille", "inference": [{
            "name": "chat", "model": "llama3-8b", "replicas": 2, "gpus_per_replica": 1,
            "rate": "0.6/s", "max_batch": 1,
            "prompt_tokens": {"dist": "fixed", "value": 512},
            "output_tokens": {"dist": "lognormal", "median": 300, "p90": 900},
            "slo": {"ttft": "5s", "tpot": "50ms"}}]}},
        "scheduler": {"queue": "fifo", "placement": "pack"},
        "compute": {"backend": "numpy"},
        "engine": {"sample_interval": "1m", "serving_window": "1m"},
        "output": {"requests": rows}}
    path = None
    if fail:
        path = tmp_path / "events.yaml"
        path.write_text(yaml.safe_dump({"events": [
            {"at": int(_AT), "target": "gpu:bizerte-20mw/hall-b/0/0", "action": "fail",
             "duration": 90}]}))
    return build(validate_scenario(data), events_file=path)


def _run(tmp_path: Path, fail: bool, rows: bool = True) -> tuple[Simulation, Results]:
    sim = _sim(tmp_path, fail, rows)
    sim.run(until=600.0)
    return sim, collect(sim, include_requests=rows)


def test_requests_queued_on_a_lost_slot_are_retried(tmp_path: Path) -> None:
    """At 295 s each slot holds a running request and one queued behind it. The lost slot's
    two are both retried (its running request used to be left to finish on the failed GPU,
    only the last request the slot was given being retried); the other slot's two are
    untouched and, being on one slot, never overlap."""
    _, res = _run(tmp_path, True)
    ref_sim, ref = _run(tmp_path, False)
    rtt = ref_sim.engine.serving.services[0].rtt_s
    req, base = res.tables["requests"], ref.tables["requests"]
    a = base["arrival_s"]
    assert np.array_equal(a, req["arrival_s"])
    end, ref_end = a + req["e2e_s"] - rtt, a + base["e2e_s"] - rtt
    in_flight = (a < _AT) & (ref_end > _AT)
    assert int(in_flight.sum()) == 4
    moved = in_flight & (end > ref_end + 0.1)  # (the window cut at the failure moves
    # the others by a few ms)
    kept = in_flight & ~moved
    f = res.summary["failures"]
    assert f["requests_failed"] == 0
    assert f["requests_retried"] == int(moved.sum()) == 2
    starts, ends = (a + base["wait_s"])[kept], ref_end[kept]
    order = np.argsort(starts)
    assert (starts[order][1:] >= ends[order][:-1] - 1e-6).all(), "one slot, one at a time"
    # the same run reduced to statistics counts the same requests
    _, reduced = _run(tmp_path, True, rows=False)
    r, s = (x.summary["tenants"]["chat"]["requests"] for x in (reduced, res))
    assert (r["count"], r["unreachable"]) == (s["count"], s["unreachable"]) == (len(a), 0)
    assert reduced.summary["failures"]["requests_retried"] == f["requests_retried"]


def test_a_retried_request_loads_the_surviving_replica(tmp_path: Path) -> None:
    """Right after the failure the surviving replica carries the retried requests' redo:
    their new decodes (not their lost runs') are in the decode load the next window sees,
    and its prefill pipeline is busy with their prefills."""
    seen: dict[str, Any] = {}
    sim = _sim(tmp_path, True)

    def step(s: Simulation) -> None:
        if s.env.now == _AT + 1.0:
            svc = s.engine.serving.services[0]
            seen["last"] = svc.decode_last.copy()
            seen["pipes"] = list(svc.prefill_free_at)
            seen["busy_end"] = svc.busy_end.copy()

    sim.run(until=600.0, on_progress=step, step_s=_AT + 1.0)
    res = collect(sim)
    ref_sim, ref = _run(tmp_path, False)
    rtt = ref_sim.engine.serving.services[0].rtt_s
    req, base = res.tables["requests"], ref.tables["requests"]
    a = base["arrival_s"]
    end, ref_end = a + req["e2e_s"] - rtt, a + base["e2e_s"] - rtt
    moved = (a < _AT) & (ref_end > _AT) & (end > ref_end + 0.1)
    assert moved.sum() == 2
    last = seen["last"]
    for new, old in zip(end[moved], ref_end[moved], strict=True):
        assert np.isclose(last, new, atol=1e-6, rtol=0).sum() == 1
        assert not np.isclose(last, old, atol=1e-6, rtol=0).any()
    # the pipeline is busy until the last redo's prefill ends, its GPU time carried
    assert max(seen["pipes"]) >= float(end[moved].max()) - 60.0
    assert (seen["busy_end"] > _AT).sum() >= 2


def test_a_lost_slot_chain_is_found_from_its_last_request() -> None:
    """A slot lost at 1.0 s frees at 3.0 s: its last request (prefill from 2.0 s, queued at
    the failure) took it at 2.0 s, when the one before it there (running, to 2.0 s) ended;
    both are retried, in the order they started, on the one slot left (free at 1.5 s), and
    a request of another slot ending at 2.5 s is not touched."""
    from emulator.eventlog import EventLog, RequestBatch
    from emulator.serving_held import HeldRequests

    log = EventLog(tenants=("web",), sites=("s",))
    held = HeldRequests(log)
    arrival = np.array([0.0, 0.2, 0.5])
    batch = RequestBatch(service=0, arrival_s=arrival, wait_s=np.array([0.0, 0.0, 1.5]),
                         ttft_s=np.array([0.1, 0.1, 1.6]), tpot_s=np.full(3, 0.01),
                         e2e_s=np.array([2.0, 2.3, 2.5]), prompt_tokens=np.full(3, 100),
                         output_tokens=np.full(3, 100))
    # prefill start, first token, end, slot taken (the third waited for the first's slot)
    held.hold(batch, (np.array([0.0, 0.2, 2.0]), np.array([0.1, 0.3, 2.1]),
                      np.array([2.0, 2.5, 3.0]), np.array([0.0, 0.2, 2.0])))
    slots = [1.5]
    moved = held.retry(0, 1.0, [3.0], lambda: slots.pop(0), slots.append)
    assert [r.old_end for r in moved] == [2.0, 3.0]
    # the first prefills again (0.1 s) from 1.5 s and decodes its last 1.0 s: 2.6 s; the
    # second then prefills (0.1 s) and decodes all of its 0.9 s: 3.6 s
    assert np.allclose([r.end for r in moved], [2.6, 3.6]) and slots == [moved[1].end]
    assert np.allclose(batch.e2e_s, [2.6, 2.3, 3.6 - 0.5])


def _chain_held() -> tuple[Any, Any]:
    """Held requests of service 0 (times in s): a slot freeing at 3.0 s holds a request
    running to 2.0 s and one queued behind it (prefill from 2.0 s); another slot's
    request ends at 2.5 s."""
    from emulator.eventlog import EventLog, RequestBatch
    from emulator.serving_held import HeldRequests

    held = HeldRequests(EventLog(tenants=("web",), sites=("s",)))
    batch = RequestBatch(service=0, arrival_s=np.array([0.0, 0.2, 0.5]),
                         wait_s=np.array([0.0, 0.0, 1.5]), ttft_s=np.array([0.1, 0.1, 1.6]),
                         tpot_s=np.full(3, 0.01), e2e_s=np.array([2.0, 2.3, 2.5]),
                         prompt_tokens=np.full(3, 100), output_tokens=np.full(3, 100))
    held.hold(batch, (np.array([0.0, 0.2, 2.0]), np.array([0.1, 0.3, 2.1]),
                      np.array([2.0, 2.5, 3.0]), np.array([0.0, 0.2, 2.0])))
    return held, batch


def test_the_last_replicas_loss_spares_a_draining_slots_chain() -> None:
    """The slot freeing at 3.0 s is a scaled-down replica's, draining on healthy GPUs; at
    1.0 s the service's last serving replica fails: only the request ending at 2.5 s
    fails. Both requests on the draining slot (the running one and the one queued behind
    it) end where they were; all three used to fail."""
    held, batch = _chain_held()
    assert held.fail_after(0, 1.0, [3.0]) == 1
    assert np.isnan(batch.e2e_s[1]) and np.allclose(batch.e2e_s[[0, 2]], [2.0, 2.5])
    held, batch = _chain_held()
    assert held.fail_ends(0, 1.0, [2.5, 2.0], spare=[3.0]) == 1  # 2.0 s is not a lost slot's
    assert np.isnan(batch.e2e_s[1]) and np.allclose(batch.e2e_s[[0, 2]], [2.0, 2.5])
