"""Starts on consecutive GPUs across NVLink domains take the slice path, with the results
of the general path.

A job on whole groups of consecutive GPU ids (a 144-GPU job on two adjacent 72-GPU
domains) is checked, allocated and released on slices, one domain at a time, instead of
through ``np.unique`` and fancy indexing. The cluster state after each step must equal
the general path's, and whole runs (with failures and a drain) must give
the same event log with the slice path as with every such start sent down the general
path.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import yaml

from emulator.build import build
from emulator.core.allocation import ClusterState
from emulator.core.core import Core
from emulator.loader import validate_scenario
from tests.conftest import small_scenario
from tests.test_core_api import _index

INDEX = _index()  # 2 GB200 racks: 144 GPUs, 2 NVLink domains


def _state(c: ClusterState) -> tuple[Any, ...]:
    conn = None if c.domain_connected is None else c.domain_connected.tolist()
    return (c.owner.tolist(), c.free.tolist(), c.domain_free.tolist(), c.free_gpus,
            [list(b) for b in c.by_free], conn)


def test_a_span_across_domains_changes_the_state_as_the_general_path() -> None:
    spans = [(64, 80), (0, 144), (56, 88), (72, 144)]
    for isolate in (False, True):
        fast, general = ClusterState(INDEX), ClusterState(INDEX)
        if isolate:  # some GPUs cut off from scale-out: the connected counts are kept
            for c in (fast, general):
                c.isolate(np.array([3, 100]))
        for owner, (lo, hi) in enumerate(spans):
            gpus = np.arange(lo, hi)
            fast.allocate_span(lo, hi, owner)
            general.allocate(gpus, owner, np.unique(INDEX.gpu_domain[gpus],
                                                    return_counts=True))
            assert _state(fast) == _state(general)
            fast.release_span(lo, hi, owner)
            general.release(gpus, owner)
            assert _state(fast) == _state(general)


def _run(data: dict[str, Any], events: Path, slices: bool) -> tuple[str, int]:
    """The run's log digest and how many starts spanning domains took the slice path."""
    sim = build(validate_scenario(data), events_file=events)
    core = sim.engine.core
    span_start = Core._start_span
    crossed = [0]

    def start_span(self: Core, work: Any, gpus: np.ndarray, span: tuple[int, int],
                   who: str) -> bool:
        dom = self.index.gpu_domain
        if dom[span[0]] != dom[span[1] - 1]:
            if not slices:
                return False  # the general path instead
            crossed[0] += 1
        return span_start(self, work, gpus, span, who)

    core._start_span = start_span.__get__(core)  # type: ignore[method-assign]
    sim.run()
    return sim.log.digest(), crossed[0]


def test_runs_with_starts_across_domains_match_the_general_path(tmp_path: Path) -> None:
    """Jobs of 1, 2 and 3 domains and a rack drained for four hours; then the same with GPU
    and switch failures (GPUs out of service while spans hold them)."""
    events = tmp_path / "events.yaml"
    rack = "rack:bizerte-20mw/hall-a/1"
    events.write_text(yaml.safe_dump({"events": [
        {"at": 21600, "target": rack, "action": "drain"},
        {"at": 36000, "target": rack, "action": "restore"}]}))
    crossed = 0
    for failures in (False, True):
        data = small_scenario(duration="1d")
        lab = data["tenants"]["lab"]["training"][0]
        lab.update(rate="150/d", gpus=[16, 144, 216],
                   tokens={"dist": "lognormal", "median": 2e8, "p90": 1e9})
        if failures:
            data["sites"][0]["failures"] = {  # (releases of spans holding a failed GPU)
                "components": {"gpu": {"afr": 60.0, "repair": "3h"},
                               "switch": {"afr": 150.0, "repair": "1h"}},
                "spares": 1, "restart": "5m"}
        fast, n = _run(data, events, slices=True)
        general, _ = _run(data, events, slices=False)
        assert fast == general, f"failures={failures}"
        crossed += n
    assert crossed > 20, "few starts crossed a domain boundary: the test proves little"
