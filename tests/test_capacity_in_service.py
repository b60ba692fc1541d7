"""Reallocating policies count only GPUs in service.

The Tiresias-style reallocation (:func:`emulator.policies.reallocate.reallocate`) and
Gavel's max-min fairness hand GPUs out down a ranking or an allocation. GPUs out of
service or draining are no one's to hand out: counted as capacity, they made a ranking
keep lower-ranked work running for a job that then could not be placed, and left a Gavel
job assigned for ever to a GPU type that had no GPU left.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from emulator.build import build
from emulator.core.allocation import ClusterState
from emulator.loader import validate_scenario
from emulator.placement.base import PlacementRequest, Scratch
from emulator.placement.pack import PackPlacement
from emulator.policies.base import ClusterView, PreemptJob, QueuedJob, RunningJob, StartJob
from emulator.policies.gavel_rounds import max_min_allocation
from emulator.policies.reallocate import reallocate
from tests.test_core_api import _index
from tests.test_repro_gavel import _two_job_scenario


def _view(cluster: ClusterState, queue: list[QueuedJob], running: list[RunningJob]
          ) -> ClusterView:
    def scratch() -> Scratch:
        c = cluster
        return Scratch(c.index, c.free, c.domain_free, c.domain_start, PackPlacement(),
                       c.by_free, down=c.down, draining=c.draining)
    return ClusterView(now=100.0, queue=queue, total_gpus=cluster.index.n_gpus,
                       free_gpus=cluster.free_gpus, running=lambda: running,
                       scratch=scratch, tenant_gpus={}, options={})


def _queued(work_id: int, gpus: int) -> QueuedJob:
    return QueuedJob(work_id=work_id, kind="training", tenant="lab", name=f"j{work_id}",
                     n_gpus=gpus, group_size=8, submit_s=50.0, priority=0, preemptible=True,
                     est_duration_s=3600.0, request=PlacementRequest(gpus, 8))


def _running(work_id: int, gpus: np.ndarray) -> RunningJob:
    return RunningJob(work_id=work_id, kind="training", tenant="lab", n_gpus=int(gpus.size),
                      start_s=0.0, expected_end_s=3600.0, priority=0, preemptible=True,
                      attained_gpu_s=0.0, gpus=gpus)


def test_a_ranking_does_not_count_idle_draining_gpus() -> None:
    # Two NVLink domains of 72 GPUs; the second drains while idle. Job 1 (72 GPUs) runs
    # on the first; job 2 (72 GPUs, waiting) ranks above it. Only 72 GPUs are in service,
    # so job 2 takes job 1's: counting the drained 72 as free kept job 1 running and left
    # job 2 waiting for a placement that could not exist.
    cluster = ClusterState(_index())
    cluster.allocate(np.arange(72), 1)
    cluster.drain(np.arange(72, 144))
    waiting, running = _queued(2, 72), _running(1, np.arange(72))
    decisions = reallocate(_view(cluster, [waiting], [running]), [waiting, running])
    assert decisions[0] == PreemptJob(1, "lower in the ranking")
    assert isinstance(decisions[1], StartJob) and decisions[1].work_id == 2
    assert np.array_equal(decisions[1].gpus, np.arange(72))
    assert len(decisions) == 2


@pytest.mark.parametrize("action", ["drain", "fail"])
def test_gavel_does_not_assign_work_to_a_gpu_type_out_of_service(tmp_path: Path,
                                                                 action: str) -> None:
    # One V100 and one P100; the V100 drains (or fails) at 0 s. The heterogeneity-aware allocation
    # favours the V100, so the job it went to was assigned to a type with no GPU in
    # service, round after round, and never ran (truncated after 5 days). Now the
    # allocation is over the P100 alone and both jobs share it.
    data = _two_job_scenario(tmp_path, {"reset_interval": "0s"})
    events = tmp_path / "events.yaml"
    events.write_text(yaml.safe_dump({"events": [
        {"at": 0, "target": "rack:lab/v100/0", "action": action}]}))
    sim = build(validate_scenario(data), keep_segments=True, events_file=events)
    sim.run()
    v100 = 0
    assert sim.index.systems[int(sim.index.rack_system[0])].gpu.name == "v100"
    for work in sim.works:
        assert work.state == "finished", (work.work_id, work.state)
        assert work.segments
        for _start, _end, gpus in work.segments:
            assert int(sim.index.gpu_rack[gpus[0]]) != v100


def test_a_job_that_can_run_only_on_a_type_out_of_service_leaves_the_lp_alone() -> None:
    # Job 0 runs only on type 0, whose GPUs are all out of service. Kept in the LP, its
    # share (0 at best) pinned the max-min optimum at 0 and any allocation was "optimal"
    # (HiGHS returned all zeros); left out, jobs 1 and 2 share type 1's 8 GPUs.
    thr = np.array([[1.0, 0.0], [1.0, 1.0], [2.0, 1.0]])
    for solver in ("highs", "ecos"):
        x = max_min_allocation(thr, np.ones(3), np.array([0.0, 8.0]), solver=solver)
        assert x[0] == pytest.approx([0.0, 0.0], abs=1e-6)
        assert x[1:, 0] == pytest.approx([0.0, 0.0], abs=1e-6)
        assert x[1:, 1] == pytest.approx([1.0, 1.0], abs=1e-4), solver

