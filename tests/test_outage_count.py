"""The summary's ``outages.gpus_taken_down``: distinct GPU-outage intervals, each GPU going
out of service counted once however many failures then hold it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from emulator.core.allocation import ClusterState
from emulator.results import collect
from tests.conftest import run_with_events, small_scenario

RACK0 = "rack:bizerte-20mw/hall-a/0"


_run = run_with_events


def test_a_gpu_failed_inside_a_failed_rack_is_not_counted_again(tmp_path: Path) -> None:
    sim = _run(small_scenario(duration="6h"), tmp_path, [
        {"at": "1h", "target": RACK0, "action": "fail", "duration": "3h"},
        {"at": "2h", "target": "gpu:bizerte-20mw/hall-a/0/5", "action": "fail",
         "duration": "3h"},  # outlives the rack's failure: GPU 5 stays down alone
        {"at": "5h30m", "target": "gpu:bizerte-20mw/hall-a/0/5", "action": "fail"}])
    out = collect(sim).summary["outages"]
    assert out["gpus_down_events"] == 3
    # 72 GPUs of the rack at 1 h; GPU 5 out already at 2 h; back at 5 h, out again at 5h30
    assert out["gpus_taken_down"] == 72 + 1


@pytest.mark.parametrize("seed", [3, 5])
def test_gpus_taken_down_is_every_gpu_going_out_of_service(tmp_path: Path, seed: int,
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    """Against the cluster's own count of GPUs newly taken out, with overlapping sampled
    GPU, tray and rack failures and an operator's restore of a rack holding some."""
    taken = [0]
    take_down = ClusterState.take_down

    def counting(self: ClusterState, gpus: np.ndarray) -> np.ndarray:
        ids = np.unique(np.asarray(gpus, dtype=np.int64))
        taken[0] += int(np.count_nonzero(~self.down[ids]))
        return take_down(self, gpus)

    monkeypatch.setattr(ClusterState, "take_down", counting)
    data = small_scenario(duration="2d", seed=seed)
    data["sites"][0]["failures"] = {"components": {
        "gpu": {"mtbf": "5d", "repair": "6h"}, "tray": {"mtbf": "20d", "repair": "8h"},
        "rack": {"mtbf": "15d", "repair": "10h"}}, "defaults": False}
    sim = _run(data, tmp_path, [
        {"at": "20h", "target": RACK0, "action": "fail"},
        {"at": "22h", "target": RACK0, "action": "restore"}])
    out = collect(sim).summary["outages"]
    assert taken[0] > 72  # what is tested: more than the planned rack
    assert out["gpus_taken_down"] == taken[0]
