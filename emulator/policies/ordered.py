"""Building blocks shared by the ordering policies (not a policy itself).

Most queue policies in the literature differ only in *the order* in which they consider
waiting work and in *which running work* a waiting job may displace. :func:`greedy_round`
implements that common loop once, on the read-only view: take the queue in the policy's
order, start what fits on the round's scratch, and — when a job does not fit and the
policy allows it — free GPUs by preempting running work chosen by the policy
(:func:`free_by_preempting`), emitting :class:`PreemptJob` decisions before the
:class:`StartJob` that uses the freed GPUs (the engine applies decisions in order).

Preempted training keeps its progress up to its last checkpoint and pays its checkpoint
restore time when it starts again (the engine does the book-keeping and counts the lost
GPU-seconds); policies only decide.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

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
from emulator.units import parse_duration

__all__ = [
    "Displacement",
    "as_seconds_list",
    "clone_scratch",
    "free_by_preempting",
    "greedy_round",
    "services_first",
]

MAX_PREEMPT_TRIES = 32
"""Blocked jobs per round that may try to preempt (bounds a round's cost on long queues)."""


def services_first(job: QueuedJob) -> int:
    """0 for serving work (services and autoscaled replicas), 1 for training.

    Serving runs until the horizon (its estimate is infinite), so shortest-first and
    attained-service orders would otherwise starve it; training yields to serving.
    """
    return 1 if job.kind == "training" else 0


def clone_scratch(scratch: Scratch) -> Scratch:
    """An independent copy of a round's scratch (for trial placements)."""
    return scratch.clone()


def _fits_after(scratch: Scratch, job: QueuedJob, victims: Iterable[RunningJob]) -> bool:
    trial = clone_scratch(scratch)
    for v in victims:
        trial.release(v.gpus)  # type: ignore[arg-type]
    return trial.place(job.request) is not None


def free_by_preempting(scratch: Scratch, job: QueuedJob,
                       candidates: Sequence[RunningJob]) -> tuple[list[RunningJob],
                                                                 np.ndarray] | None:
    """Preempt a prefix of ``candidates`` (in order) so that ``job`` fits, then place it.

    Victims are added in the given order until the job fits; then every victim that is not
    needed after all (topology can make an early one useless) is dropped, latest first.
    On success the victims' GPUs are released on ``scratch``, the job is placed there and
    ``(victims, gpus)`` is returned; on failure ``scratch`` is unchanged and ``None`` is
    returned.
    """
    usable = [c for c in candidates if c.gpus is not None]
    if scratch.free_gpus + sum(c.n_gpus for c in usable) < job.n_gpus:
        return None
    trial = clone_scratch(scratch)
    chosen: list[RunningJob] = []
    for c in usable:
        trial.release(c.gpus)  # type: ignore[arg-type]
        chosen.append(c)
        if trial.free_gpus >= job.n_gpus and clone_scratch(trial).place(job.request) is not None:
            break
    else:
        return None
    for c in reversed(chosen[:-1]):  # prune victims that turn out not to be needed
        rest = [v for v in chosen if v is not c]
        if _fits_after(scratch, job, rest):
            chosen = rest
    for v in chosen:
        scratch.release(v.gpus)  # type: ignore[arg-type]
    gpus = scratch.place(job.request)
    if gpus is None:  # cannot happen: the same releases placed it on a copy
        raise RuntimeError("placement differed between a scratch and its copy")
    return chosen, gpus


@dataclass(frozen=True)
class Displacement:
    """Which running work a blocked job may displace, as a ranking and a threshold test.

    ``rank(r)`` orders running work most expendable first; ``may_displace(job, r)`` must
    hold for a prefix of that ranking (a threshold on the ranked quantity), so the victims
    of a job are a prefix of one ranking computed once per round. ``monotone`` declares
    that along the policy's queue order a later job never displaces more than an earlier
    one (e.g. LAS's levels, SRTF's remaining times), so a round may stop at the first job
    that can neither fit nor displace anything.
    """

    rank: Callable[[RunningJob], Any]
    may_displace: Callable[[QueuedJob, RunningJob], bool]
    monotone: bool = False


def greedy_round(view: ClusterView, order: Sequence[QueuedJob],
                 victims_for: Callable[[QueuedJob, Sequence[RunningJob]],
                                       list[RunningJob]] | None = None,
                 blocking: bool = False,
                 admit: Callable[[QueuedJob], bool] | None = None,
                 displacement: Displacement | None = None) -> list[Decision]:
    """Start ``order`` greedily; blocked jobs may preempt running work.

    Victims come from ``displacement`` (a ranking computed once per round, see
    :class:`Displacement`) or, for policies that need more, from ``victims_for(job,
    running)``, which returns the running work ``job`` may displace, most expendable first.
    Only preemptible training is ever offered, and never work already preempted this round.
    ``blocking`` stops at the first job that cannot start (head-of-line blocking);
    otherwise later jobs may start (work-conserving). ``admit`` may veto a job (e.g. a hard
    quota) before it is placed.
    """
    decisions: list[Decision] = []
    if not order:
        return decisions
    scratch = view.scratch()
    preempted: set[int] = set()
    tries = 0
    running: list[RunningJob] | None = None
    pool: list[RunningJob] = []
    ranked: list[RunningJob] = []
    pool_for = -1  # len(preempted) the pool was built for
    displaces = victims_for is not None or displacement is not None
    smallest = min(j.n_gpus for j in order)
    for job in order:
        may_preempt = displaces and tries < MAX_PREEMPT_TRIES
        if not may_preempt and scratch.free_gpus < smallest:
            break  # nothing can start and nothing may be displaced
        if admit is None and scratch.free_gpus < job.n_gpus and displacement is not None \
                and may_preempt and pool_for == len(preempted) and (
                    not ranked or not displacement.may_displace(job, ranked[0])):
            if displacement.monotone and scratch.free_gpus < smallest:
                break  # neither this job nor any later one can fit or displace
            if not blocking:
                continue  # cannot fit and has nothing to displace
        if admit is not None and not admit(job):
            if blocking:
                break
            continue
        gpus = scratch.place(job.request)
        if gpus is None and may_preempt:
            if running is None:
                running = [r for r in view.running if r.preemptible]
            if pool_for != len(preempted):
                # Work started at this very instant (an earlier round now) is left alone:
                # preempting it would only pay a restore for nothing.
                pool = [r for r in running
                        if r.work_id not in preempted and r.start_s < view.now]
                if displacement is not None:
                    ranked = sorted(pool, key=displacement.rank)
                pool_for = len(preempted)
            if displacement is not None:
                test = displacement.may_displace
                candidates = list(itertools.takewhile(
                    lambda r, job=job, test=test: test(job, r), ranked))
            else:
                candidates = victims_for(job, pool) if pool else []  # type: ignore[misc]
            if candidates:
                tries += 1
                freed = free_by_preempting(scratch, job, candidates)
                if freed is not None:
                    victims, gpus = freed
                    for v in victims:
                        preempted.add(v.work_id)
                        decisions.append(PreemptJob(v.work_id, f"for work {job.work_id}"))
        if gpus is None:
            if blocking:
                break
            continue
        decisions.append(StartJob(job.work_id, gpus))
    return decisions


def as_seconds_list(values: Any, what: str) -> list[float]:
    """A strictly increasing list of positive seconds from numbers or strings like ``"2h"``."""
    if isinstance(values, str | int | float):
        values = [values]
    out = [parse_duration(v) for v in values]
    if any(v <= 0 for v in out) or any(b <= a for a, b in itertools.pairwise(out)):
        raise ValueError(f"{what} must be positive and strictly increasing, got {list(values)}")
    return out
