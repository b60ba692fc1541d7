"""Requests are judged against the replicas up at their own arrival, not at the end of
their serving window: none arrives to a service with no replica up and waits for one to
come (it is a miss with no latency), and none arriving before the failure of its
service's last replica is refused for it."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from emulator.build import build
from emulator.loader import validate_scenario
from emulator.results import collect

_SITE = {"preset": "bizerte-20mw",
         "halls": [{"name": "hall-a", "system": "gb200-nvl72", "racks": 2}]}
_SERVICE = {"name": "chat", "model": "llama3-8b", "replicas": 2, "gpus_per_replica": 1,
            "precision": "fp8", "rate": "50/s",
            "prompt_tokens": {"dist": "lognormal", "median": 1020, "p90": 2735},
            "output_tokens": {"dist": "lognormal", "median": 129, "p90": 424},
            "slo": {"ttft": "1s", "tpot": "50ms"}}


def _scenario(**tenants: Any) -> dict[str, Any]:
    return {"name": "availability", "seed": 3, "duration": "1h",
            "sites": [copy.deepcopy(_SITE)], "tenants": tenants,
            "scheduler": {"queue": "fifo", "placement": "pack"},
            "compute": {"backend": "numpy"},
            "engine": {"sample_interval": "5m", "serving_window": "1m"},
            "output": {"requests": True}}


def _requests(data: dict[str, Any], tmp_path: Path, until_s: float,
              events: list[dict[str, Any]] | None = None) -> tuple[dict[str, Any], Any]:
    path = None
    if events is not None:
        path = tmp_path / "events.yaml"
        path.write_text(yaml.safe_dump({"events": events}))
    sim = build(validate_scenario(data), events_file=path)
    sim.run(until=until_s)
    results = collect(sim)
    return results.tables["requests"], results


def test_requests_before_a_late_placement_are_misses_not_queued(tmp_path: Path) -> None:
    """A service queued behind a training job that holds every GPU starts mid-window:
    its requests from before its start are unreachable (NaN wait), and those it serves
    never waited for its start."""
    data = _scenario(
        research={"training": [{"name": "big", "model": "llama3-8b", "gpus": 144, "tp": 8,
                                "tokens": 2e9, "rate": "100/h"}]},
        chat={"inference": [dict(_SERVICE, start="1m")]})
    req, results = _requests(data, tmp_path, 3600.0)
    jobs = results.tables["jobs"]
    start = float(jobs["start_s"][jobs["kind"] == "inference"][0])
    assert 60.0 < start < 3600.0 and start % 60.0 != 0.0  # placed late, mid-window
    arrival, wait = req["arrival_s"], req["wait_s"]
    before = arrival < start
    assert before.any() and np.isnan(wait[before]).all()
    assert not np.isnan(wait[~before]).any()
    assert float(np.max(wait[~before])) < 1.0  # none waited for the service to start


def test_a_mid_window_outage_refuses_exactly_its_arrivals(tmp_path: Path) -> None:
    """The site (both replicas) fails at 330 s for 90 s, inside one-minute windows:
    requests arriving before the failure are served as usual (those still in flight at
    330 s fail with the replicas: no latency, counted as failed), those during the outage
    are unreachable, and those after the repair wait only for the replacements' cold
    start (placed at the repair, 2 min to serve)."""
    data = _scenario(chat={"inference": [dict(_SERVICE)]})
    req, results = _requests(data, tmp_path, 600.0, [
        {"at": 330, "target": "site:bizerte-20mw", "action": "fail", "duration": 90}])
    arrival, wait = req["arrival_s"], req["wait_s"]
    out = (arrival >= 330.0) & (arrival < 420.0)
    assert out.any() and np.isnan(wait[out]).all()
    failed = np.isnan(wait) & ~out
    assert results.summary["failures"]["requests_failed"] == int(failed.sum())
    assert failed.any() and (arrival[failed] < 330.0).all()
    served = ~out & ~failed
    assert float(np.max(wait[served & (arrival < 330.0)])) < 1.0
    late = served & (arrival >= 420.0)
    assert late.any() and 60.0 < float(np.max(wait[late])) <= 121.0
    summary = results.summary["requests"]
    assert summary["unreachable"] == int(out.sum()) + int(failed.sum())


def test_a_mid_window_cable_cut_refuses_exactly_its_arrivals(tmp_path: Path) -> None:
    """Medusa, the site's only way to Marseille, is cut at 330 s and repaired 90 s later,
    inside one-minute windows: requests from Marseille arriving before the cut are served
    (with its RTT), those during it are unreachable, those after are served."""
    data = _scenario(chat={"origin": "marseille", "inference": [dict(_SERVICE)]})
    data["wan_events"] = {"cuts": [{"cable": "medusa", "at": 330, "repair": 90}]}
    req, results = _requests(data, tmp_path, 600.0)
    arrival, wait, ttft = req["arrival_s"], req["wait_s"], req["ttft_s"]
    out = (arrival >= 330.0) & (arrival < 420.0)
    assert out.any() and np.isnan(wait[out]).all()
    assert not np.isnan(wait[~out]).any()
    assert results.summary["wan"]["unreachable_requests"] == int(out.sum())
    before = (arrival >= 300.0) & (arrival < 330.0)
    assert float(np.nanmedian(ttft[before])) < 0.1
