"""Whole-cluster reallocation in priority order (not a policy itself).

The schedulers of the Tiresias simulator (Gu et al., NSDI 2019; github.com/SymbioticLab/
Tiresias, ``simulator/run_sim.py``) do not only start waiting jobs: at every event they
rank *all* runnable jobs — running and waiting — and hand GPUs out down that ranking,
skipping a job that does not fit and going on with the next one (GPU counting, no
topology). A running job that no longer gets GPUs is preempted; a waiting one that gets
them starts. :func:`reallocate` implements that step once on the read-only view, so the
preemptive policies here differ only in their ranking.

Work that is not preemptible training (inference services, non-preemptible jobs) keeps its
GPUs and is never displaced, and so does work started at this very instant (a round that
its own decisions asked for): moving it again would only pay a restore. GPUs come from
the round's scratch (the scenario's placement policy): a job the counting admits but
that does not place (tensor-parallel groups across NVLink domains) stays queued, and a
running job whose GPUs no start took keeps running. Only GPUs in service are handed
out: failed and draining ones count for no one, and a running job on draining GPUs counts
only those it would give back.

:class:`StableOrder` keeps the ranking's tie order from one round to the next, as a
stable sort of the simulator's persistent job list does: ties keep their previous order,
newcomers join behind in arrival order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from emulator.placement.base import Scratch
from emulator.policies.base import (
    ClusterView,
    Decision,
    PreemptJob,
    QueuedJob,
    RunningJob,
    StartJob,
)

__all__ = ["StableOrder", "reallocate"]

Job = QueuedJob | RunningJob


class StableOrder:
    """The runnable jobs' order across rounds: stable re-sorting with memory."""

    def __init__(self) -> None:
        self._ids: list[int] = []

    def sort(self, jobs: Sequence[Job], key: Callable[[Job], object]) -> list[Job]:
        """``jobs`` sorted by ``key``; ties in last round's order, then by arrival."""
        by_id = {j.work_id: j for j in jobs}
        kept = [by_id[i] for i in self._ids if i in by_id]
        known = set(self._ids)
        new = sorted((j for j in jobs if j.work_id not in known),
                     key=lambda j: (_submit(j), j.work_id))
        ranked = sorted(kept + new, key=key)  # Python's sort is stable
        self._ids = [j.work_id for j in ranked]
        return ranked


def _submit(job: Job) -> float:
    return job.submit_s if isinstance(job, QueuedJob) else 0.0


def reallocate(view: ClusterView, ranked: Sequence[Job]) -> list[Decision]:
    """Preempt and start so that GPUs go down ``ranked`` (running and queued jobs).

    Returns the :class:`PreemptJob` decisions first (their GPUs are then free for the
    :class:`StartJob` ones, as the engine applies decisions in order). Running work missing
    from ``ranked`` keeps its GPUs.
    """
    now = view.now
    running = {r.work_id: r for r in view.running}
    ranked_ids = {j.work_id for j in ranked}

    def movable(r: RunningJob) -> bool:
        # Work started at this very instant (an earlier round now) keeps its GPUs: moving
        # it again would pay a restore for nothing, and a job whose rank rises with its
        # restore cost once running would swap with a waiting one for ever.
        return r.preemptible and r.start_s < now

    # The GPUs handed out down the ranking: those free now and those the ranked movable
    # jobs would give back. GPUs out of service or draining are in neither (a job on
    # draining GPUs that stops gives them to no one), so a ranking never counts on them.
    scratch = view.scratch()
    returns = {r.work_id: (r.n_gpus if r.gpus is None else int(scratch.returned(r.gpus).size))
               for r in running.values() if movable(r) and r.work_id in ranked_ids}
    free = scratch.free_gpus + sum(returns.values())
    keep: set[int] = set()
    want: list[QueuedJob] = []
    for job in ranked:
        if isinstance(job, RunningJob) and not movable(job):
            continue  # already counted as held
        cost = returns.get(job.work_id, job.n_gpus)  # a running job keeps what it holds
        if cost <= free:
            free -= cost
            if job.work_id in running:
                keep.add(job.work_id)
            elif isinstance(job, QueuedJob):
                want.append(job)
    victims = [r for r in running.values()
               if movable(r) and r.work_id in ranked_ids and r.work_id not in keep]
    for r in victims:
        if r.gpus is not None:
            scratch.release(r.gpus)
    starts: list[Decision] = []
    for job in want:
        gpus = scratch.place(job.request)
        if gpus is not None:
            starts.append(StartJob(job.work_id, gpus))
    # A victim none of whose GPUs went to a start keeps running: the jobs it made room for
    # did not place (tensor-parallel groups across NVLink domains). Preempting it anyway
    # would free GPUs nobody takes, and the next round at the same instant would start it
    # again and preempt it again, for ever. With GPU counting only (placements never
    # refused), every victim's GPUs are taken and this never applies. GPUs out of service
    # or draining never come back to anyone, so only the victim's others count here.
    preempts: list[Decision] = [
        PreemptJob(r.work_id, "lower in the ranking") for r in victims
        if r.gpus is None or _gave_to_a_start(scratch, r.gpus)]
    return preempts + starts


def _gave_to_a_start(scratch: Scratch, gpus: np.ndarray) -> bool:
    """Whether a start of this round took any of ``gpus`` that their work's stop frees."""
    back = scratch.returned(gpus)
    return bool(back.size) and not bool(np.all(scratch.is_free(back)))
