"""The core's verbs without simpy: start, finish, preempt, disrupt, rerate on a manual clock."""

from __future__ import annotations

import math

import numpy as np
import pytest

from cupy_kernels.backend import select_backend
from emulator.compute import ComputeModel
from emulator.core.allocation import AllocationError, ClusterState
from emulator.core.clock import ManualClock
from emulator.core.core import Core
from emulator.core.training import ShapeCache
from emulator.eventlog import Ev, EventLog
from emulator.placement.base import PlacementRequest
from emulator.policies.base import PolicyError
from emulator.tables import held_seconds, jobs_table
from emulator.work import Work
from topologies.index import derive_index
from topologies.presets import resolve_site
from workloads.spec import TrainingJobSpec


def _index():  # type: ignore[no-untyped-def]
    site = resolve_site("bizerte-20mw", {"halls": [{"name": "a", "system": "gb200-nvl72",
                                                     "racks": 2}]})
    return derive_index([site])


def _job(work_id: int, gpus: int, *, hours: float = 1.0, ckpt_s: float = 600.0) -> Work:
    spec = TrainingJobSpec(
        job_id=work_id, tenant="lab", name=f"j{work_id}", model="llama3-8b", submit_s=0.0,
        n_gpus=gpus, tp=min(gpus, 8), pp=1, dp=max(gpus // 8, 1), tokens=1e9,
        tokens_per_step=1e6, seq_len=8192, precision="bf16",
        checkpoint_interval_s=ckpt_s, checkpoint_cost_s=0.0)
    return Work(work_id=work_id, kind="training", tenant="lab", tenant_idx=0, spec=spec,
                n_gpus=gpus, group_size=spec.tp, submit_s=0.0, priority=0, preemptible=True,
                est_duration_s=hours * 3600, request=PlacementRequest(gpus, spec.tp))


def _core(works: list[Work]) -> tuple[Core, ManualClock, EventLog]:
    index = _index()
    clock = ManualClock()
    log = EventLog(tenants=("lab",), sites=tuple(index.site_names))
    compute = ComputeModel(select_backend("numpy"), index)
    core = Core(clock, ClusterState(index), works, 1, log, ShapeCache(compute, index))
    return core, clock, log


def test_start_runs_to_completion_and_logs_every_step() -> None:
    job = _job(0, 8)
    core, clock, log = _core([job])
    core.submit(job)
    assert job.state == "queued" and len(core.queue) == 1
    core.start(job, np.arange(8), "test")
    core.launch([job])
    assert core.cluster.free_gpus == core.index.n_gpus - 8
    clock.run()
    assert job.state == "finished" and clock.now == pytest.approx(job.full_duration_s)
    assert core.cluster.free_gpus == core.index.n_gpus
    kinds = [Ev(k) for k in log.work_kind]
    assert kinds == [Ev.SUBMIT, Ev.START, Ev.FINISH]
    domains, gpus = log.placement(1)
    assert domains.tolist() == [0] and gpus.tolist() == [8]
    assert held_seconds(log, 1)[0] == pytest.approx(job.full_duration_s)


def test_start_is_validated() -> None:
    a, b = _job(0, 8), _job(1, 8)
    core, _clock, _log = _core([a, b])
    core.submit(a)
    core.submit(b)
    core.start(a, np.arange(8), "test")
    with pytest.raises(PolicyError, match="already held"):
        core.start(b, np.arange(4, 12), "test")
    with pytest.raises(PolicyError, match="needs exactly 8"):
        core.start(b, np.arange(8, 12), "test")
    with pytest.raises(PolicyError, match="split a tensor-parallel group"):
        core.start(b, np.arange(68, 76), "test")
    with pytest.raises(AllocationError, match="listed twice"):
        core.cluster.allocate(np.array([100, 100]), 5)


def test_preempt_keeps_the_last_checkpoint_and_counts_lost_work() -> None:
    job = _job(0, 8, ckpt_s=600.0)
    core, clock, log = _core([job])
    core.submit(job)
    core.start(job, np.arange(8), "test")
    core.launch([job])
    clock.run(until=1500.0)  # checkpoints at 600 and 1200 s: 300 s x 8 GPUs lost
    core.preempt(job, "test")
    assert job.state == "queued" and job.preemptions == 1
    assert job.lost_gpu_s == pytest.approx(300.0 * 8)
    assert job.remaining == pytest.approx(1.0 - 1200.0 / job.full_duration_s)
    row = [Ev(k) for k in log.work_kind].index(Ev.PREEMPT)
    assert log.work_lost_gpu_s[row] == pytest.approx(2400.0)
    table = jobs_table(log, [job])
    assert table["preemptions"][0] == 1 and table["lost_gpu_s"][0] == pytest.approx(2400.0)


def test_disrupt_preempts_holders_and_keeps_gpus_out_until_restored() -> None:
    a, b = _job(0, 8), _job(1, 72)
    core, clock, log = _core([a, b])
    core.submit(a)
    core.submit(b)
    core.start(a, np.arange(8), "test")
    core.launch([a])
    clock.run(until=100.0)
    hit = core.disrupt(np.arange(4, 6), "gpu failure", until=3600.0)
    assert hit == [0] and a.state == "queued"
    assert core.cluster.free_gpus == core.index.n_gpus - 2
    with pytest.raises(PolicyError, match="out of service"):
        core.start(b, np.arange(72), "test")
    clock.run(until=3600.0)
    assert core.cluster.free_gpus == core.index.n_gpus
    core.start(b, np.arange(72), "test")
    assert b.state == "running"
    assert [k for k in log.infra_kind] == [3, 4]  # GPUs down, then up


def test_rerate_moves_the_completion() -> None:
    job = _job(0, 8)
    core, clock, _log = _core([job])
    core.submit(job)
    core.start(job, np.arange(8), "test")
    core.launch([job])
    full = job.full_duration_s
    clock.run(until=full / 2)
    core.rerate(job, 0.5, "power cap")
    clock.run()
    assert job.state == "finished"
    assert clock.now == pytest.approx(full / 2 + full)  # the second half at half speed
    assert math.isclose(job.remaining, 0.0)


def test_scale_out_loss_stops_only_work_spanning_domains() -> None:
    """``fail(effect="scale_out")`` (a NIC or leaf switch): the GPUs stay in service, the
    job inside one domain runs on, the one spanning domains is returned to be stopped, and
    no placement spanning domains may start on a cut GPU until :meth:`Core.repair`."""
    local, wide, later = _job(0, 8), _job(1, 16), _job(2, 16)
    core, _clock, log = _core([local, wide, later])
    for job in (local, wide, later):
        core.submit(job)
    core.start(local, np.arange(8), "test")
    core.start(wide, np.concatenate([np.arange(64, 72), np.arange(72, 80)]), "test")
    core.launch([local, wide])
    hit = core.fail(np.array([0, 1, 64, 100]), "switch", 5, effect="scale_out")
    assert [w.work_id for w in hit] == [1]
    assert not core.cluster.down.any() and core.cluster.free[100]
    core.interrupt(wide, "switch", 300.0, 0.0)
    with pytest.raises(PolicyError, match="lost its scale-out network"):
        core.start(later, np.concatenate([np.arange(56, 64), np.arange(96, 104)]), "test")
    core.start(later, np.arange(96, 112), "test")  # one domain: cut GPU 100 is fine
    core.repair(np.array([0, 1, 64, 100]), "switch", 5, effect="scale_out")
    assert core.cluster.n_isolated == 0 and not core.cluster.isolated.any()
    assert [Ev(k) for k in log.work_kind].count(Ev.INTERRUPT) == 1
