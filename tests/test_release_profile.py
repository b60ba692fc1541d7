"""The incremental release profile equals a fresh sort of the running work, every round."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml

from emulator.build import build
from emulator.loader import validate_scenario
from tests.conftest import small_scenario


def test_incremental_profile_matches_a_full_sort() -> None:
    data = small_scenario(duration="1d")
    data["tenants"]["lab"]["training"][0]["rate"] = "150/d"  # a queue forms: backfill asks
    sim = build(validate_scenario(data))
    rounds = sim.engine.rounds
    core = sim.engine.core
    incremental = rounds._release_profile
    checked = [0]

    def both() -> tuple[np.ndarray, np.ndarray]:
        ends, gpus = incremental()
        items = sorted((core.expected_end(w), w.work_id, w.n_gpus) for w in core.running.values())
        assert np.array_equal(ends, np.array([e for e, _i, _g in items], dtype=np.float64))
        assert np.array_equal(gpus, np.array([g for _e, _i, g in items], dtype=np.int64))
        checked[0] += 1
        return ends, gpus

    rounds._release_profile = both  # type: ignore[method-assign]
    sim.run()
    assert checked[0] > 20, "backfill never needed a reservation: the test proves nothing"


def test_profile_counts_only_gpus_that_come_back_while_racks_drain(tmp_path: Path) -> None:
    """GPUs on a draining rack go back to no one when their job ends, so the profile counts
    only the others, entry for entry as a fresh count, through drains and their ends. EASY
    backfill reserves for the head job from it; counting them made the reservation too
    early, and a job backfilled behind it then delayed the head."""
    rows = [{"at": 3 * 3600, "target": "rack:bizerte-20mw/hall-a/0", "action": "drain"},
            {"at": 5 * 3600, "target": "rack:bizerte-20mw/hall-a/1", "action": "drain"},
            {"at": 9 * 3600, "target": "rack:bizerte-20mw/hall-a/0", "action": "restore"},
            {"at": 14 * 3600, "target": "rack:bizerte-20mw/hall-a/1", "action": "restore"}]
    events = tmp_path / "events.yaml"
    events.write_text(yaml.safe_dump({"events": rows}))
    data = small_scenario(duration="1d")
    data["tenants"]["lab"]["training"][0]["rate"] = "150/d"
    sim = build(validate_scenario(data), events_file=events)
    rounds = sim.engine.rounds
    core = sim.engine.core
    cluster = core.cluster
    incremental = rounds._release_profile
    fewer = [0]

    def both() -> tuple[np.ndarray, np.ndarray]:
        ends, gpus = incremental()
        items = sorted((core.expected_end(w), w.work_id, int(np.count_nonzero(
            ~(cluster.down[w.gpus] | cluster.draining[w.gpus])))) for w in core.running.values())
        assert np.array_equal(ends, np.array([e for e, _i, _g in items], dtype=np.float64))
        assert np.array_equal(gpus, np.array([g for _e, _i, g in items], dtype=np.int64))
        fewer[0] += sum(g < core.running[i].n_gpus for _e, i, g in items)
        return ends, gpus

    rounds._release_profile = both  # type: ignore[method-assign]
    sim.run()
    assert fewer[0] > 0, "no reservation saw work on a draining rack: the test proves nothing"


def test_profile_buffers_grow_and_shift_like_a_fresh_sort() -> None:
    """Hundreds of starts, ends and re-rates in random order (past the buffers' first
    64 slots, with ties of expected end): after each batch the arrays equal a fresh sort,
    and arrays handed out are read-only."""
    from types import SimpleNamespace

    from emulator.processes.release_profile import ReleaseProfile

    rng = np.random.default_rng(7)
    ends: dict[int, float] = {}
    core = SimpleNamespace(running={}, running_version=0, changed=set(), changed_all=False,
                           expected_end=lambda w: ends[w.work_id])
    profile = ReleaseProfile(core)  # type: ignore[arg-type]
    next_id = 0
    for batch in range(400):
        for _ in range(int(rng.integers(1, 6))):
            if core.running and rng.random() < (0.2 if batch < 200 else 0.7):  # an end
                wid = int(rng.choice(list(core.running)))
                del core.running[wid]
            elif core.running and rng.random() < 0.3:  # a re-rate: a new expected end
                wid = int(rng.choice(list(core.running)))
                ends[wid] = float(rng.integers(0, 50))
            else:  # a start
                wid, next_id = next_id, next_id + 1
                ends[wid] = float(rng.integers(0, 50))  # many ties: the id breaks them
                core.running[wid] = SimpleNamespace(
                    work_id=wid, kind="training", progress_start_s=0.0, gpus=None,
                    n_gpus=int(rng.integers(1, 9)))
            core.changed.add(wid)
            core.running_version += 1
        got_ends, got_gpus = profile.arrays()
        items = sorted((ends[w], w, core.running[w].n_gpus) for w in core.running)
        assert got_ends.tolist() == [e for e, _w, _g in items]
        assert got_gpus.tolist() == [g for _e, _w, g in items]
        assert not got_ends.flags.writeable and not got_gpus.flags.writeable
    assert next_id > 200 and profile._ends.size > 64, "the buffers never grew"
