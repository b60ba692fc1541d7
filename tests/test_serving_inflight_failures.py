"""Requests in flight when a serving replica fails: failed ones are reported as failed, and
retried ones with the time the failure cost them, in the rows, the aggregated statistics,
the summary's SLO attainment and the failures summary alike."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from emulator.build import build
from emulator.eventlog import EventLog, RequestBatch
from emulator.loader import validate_scenario
from emulator.results import Results, collect
from emulator.serving_held import HeldRequests

_SITE = {"preset": "bizerte-20mw",
         "halls": [{"name": "hall-b", "system": "gb200-nvl72", "racks": 2}]}
_SERVICE = {"name": "chat-70b", "model": "llama3-70b", "replicas": 32, "gpus_per_replica": 4,
            "precision": "bf16", "rate": "100/s",
            "prompt_tokens": {"dist": "lognormal", "median": 1020, "p90": 2735},
            "output_tokens": {"dist": "lognormal", "median": 129, "p90": 424},
            "slo": {"ttft": "1s", "tpot": "50ms"}}
_AT = 330.0


def _run(tmp_path: Path, target: str | None, rows: bool = True,
         **service: Any) -> Results:
    data = {"name": "inflight", "seed": 1, "duration": "10m",
            "sites": [copy.deepcopy(_SITE)],
            "tenants": {"chat": {"origin": "marseille",
                                 "inference": [dict(_SERVICE, **service)]}},
            "scheduler": {"queue": "fifo", "placement": "pack"},
            "compute": {"backend": "numpy"},
            "engine": {"sample_interval": "1m", "serving_window": "1m"},
            "output": {"requests": rows}}
    path = None
    if target is not None:
        path = tmp_path / "events.yaml"
        path.write_text(yaml.safe_dump({"events": [
            {"at": int(_AT), "target": target, "action": "fail", "duration": 90}]}))
    sim = build(validate_scenario(data), events_file=path)
    sim.run(until=600.0)
    return collect(sim, include_requests=rows)


def test_requests_in_flight_at_a_site_failure_are_failed_everywhere(tmp_path: Path) -> None:
    """2 GB200 racks serving 100 req/s lose the site at 330 s for 90 s: the requests in
    flight then fail (NaN latencies, not met), none is "retried" on replicas that fail at
    the same instant, and the rows, the reduced statistics and the failures summary agree."""
    res = _run(tmp_path, "site:bizerte-20mw")
    req = res.tables["requests"]
    arrival, wait, e2e = req["arrival_s"], req["wait_s"], req["e2e_s"]
    outage = (arrival >= _AT) & (arrival < _AT + 90.0)
    failed = np.isnan(wait) & ~outage
    f = res.summary["failures"]
    assert f["requests_retried"] == 0
    assert f["requests_failed"] == int(failed.sum()) > 100
    assert (arrival[failed] < _AT).all() and not req["slo_met"][failed].any()
    # no row arriving before the failure still ends after it (RTT aside) with a latency
    rtt = float(np.nanmin(req["ttft_s"]))
    assert not ((arrival < _AT) & (arrival + e2e - rtt > _AT + 1e-6)).any()
    summary = res.summary["tenants"]["chat"]["requests"]
    assert summary["unreachable"] == int(np.isnan(wait).sum())
    assert summary["slo_attainment"] == float(req["slo_met"].mean())
    # the same run reduced to statistics (output.requests: false) says the same
    reduced = _run(tmp_path, "site:bizerte-20mw", rows=False)
    r = reduced.summary["tenants"]["chat"]["requests"]
    assert (r["count"], r["unreachable"]) == (summary["count"], summary["unreachable"])
    assert r["slo_attainment"] == summary["slo_attainment"]
    assert reduced.summary["failures"]["requests_failed"] == f["requests_failed"]


def test_requests_retried_after_a_rack_failure_end_later(tmp_path: Path) -> None:
    """One of the two racks fails at 330 s: its replicas' in-flight requests (arrived in
    the window being served) are retried on the other rack, counted once each, and their
    rows end later than in the same run without the failure (a new prefill, the KV cache
    being lost); no request fails."""
    res = _run(tmp_path, "rack:bizerte-20mw/hall-b/0")
    base = _run(tmp_path, None)
    f = res.summary["failures"]
    assert f["requests_failed"] == 0
    req, ref = res.tables["requests"], base.tables["requests"]
    assert np.array_equal(req["arrival_s"], ref["arrival_s"])
    # (the window is served in two parts around the failure, which moves other requests'
    # figures by well under a millisecond)
    longer = req["e2e_s"] - ref["e2e_s"] > 1e-3
    in_flight = (ref["arrival_s"] < _AT) & (ref["arrival_s"] + ref["e2e_s"] > _AT)
    # the rack holds 18 of the 32 replicas: about 18/32 of the requests in flight, each
    # retried once (dropped one by one, the replicas took those retried onto the next
    # ones to go, and counted them again: 209 of 258)
    assert 50 < f["requests_retried"] <= 0.65 * int(in_flight.sum())
    assert int((longer & in_flight).sum()) >= 0.7 * f["requests_retried"]
    done_before = (ref["arrival_s"] < _AT) & ~in_flight
    assert not (req["e2e_s"] - ref["e2e_s"] > 0.01)[done_before].any()


def test_a_failure_takes_extra_replicas_down_together(tmp_path: Path) -> None:
    """An autoscaled service (8 base replicas, 24 extra ones started with it) loses the
    rack that holds 18 of its 32 replicas: the extra replicas hit go in one drop with the
    base ones, so about 18/32 of the requests in flight are retried, each once (one drop
    per extra replica retried 195 of 258 in flight)."""
    scaled = {"autoscale": {"min_replicas": 8, "max_replicas": 32}}
    res = _run(tmp_path, "rack:bizerte-20mw/hall-b/0", **scaled)
    ref = _run(tmp_path, None, **scaled).tables["requests"]
    f = res.summary["failures"]
    in_flight = (ref["arrival_s"] < _AT) & (ref["arrival_s"] + ref["e2e_s"] > _AT)
    assert f["replicas_lost"] > 0 and f["requests_failed"] == 0
    assert 0.45 * int(in_flight.sum()) <= f["requests_retried"] <= 0.65 * int(in_flight.sum())


def _batch(service: int, arrival: list[float]) -> RequestBatch:
    a = np.array(arrival)
    one = np.ones(a.size)
    return RequestBatch(service, a, 0.0 * one, 0.1 * one, 0.01 * one, 1.0 * one,
                        (100 * one).astype(np.int64), (90 * one).astype(np.int64))


def test_held_rows_are_logged_in_order_once_ended() -> None:
    """A batch is logged once all its requests have ended, in the order the batches were
    made; a failure marks a held request failed, a retry moves its end and latencies."""
    log = EventLog(tenants=("web",), sites=("s",))
    held = HeldRequests(log)
    b1, b2 = _batch(0, [0.0, 0.5]), _batch(0, [1.0])
    held.hold(b1, (np.array([0.0, 0.5]), np.array([0.1, 0.6]), np.array([1.0, 1.5])))
    held.hold(b2, (np.array([1.0]), np.array([1.1]), np.array([2.0])))
    held.hold(_batch(1, [1.2]))  # no replica: nothing can change it, but it waits its turn
    held.release(1.4)
    assert log.requests == []
    # the request ending at 1.5 is retried at 1.2 on a slot free then: it prefills again
    # (0.1 s) and decodes what it had left (0.3 s), ending at 1.6
    moved = held.retry(0, 1.2, [1.5], lambda: 1.2, lambda end: None)
    assert np.allclose([r.end for r in moved], [1.6])
    assert held.fail_ends(0, 1.2, [2.0]) == 1
    held.release(1.55)
    assert log.requests == []
    held.release(1.61)
    assert [b.service for b in log.requests] == [0, 0, 1]
    first, second = log.requests[0], log.requests[1]
    assert np.allclose(first.e2e_s, [1.0, 1.1]) and np.allclose(first.ttft_s, 0.1)
    # the 0.1 s pause spreads over the 89 gaps between its 90 tokens
    assert np.allclose(first.tpot_s, [0.01, 0.01 + 0.1 / 89])
    assert np.isnan(second.e2e_s).all() and np.isnan(second.wait_s).all()
