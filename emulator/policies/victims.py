"""Victims for a blocked job: the fewest running jobs, in a policy's order, whose GPUs let
it fit.

Kept apart from :mod:`emulator.policies.ordered` (the round's loop) so each file has one
concern: :func:`free_by_preempting` takes a prefix of the candidates until the job fits
(by GPU counts per NVLink domain where any free GPUs fit, else by trial placements on a
copy of the round's scratch) and drops the victims it did not need after all.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from emulator.placement.base import Scratch
from emulator.placement.fit_counter import DomainCounts, FitCounter, domain_counts
from emulator.policies.base import QueuedJob, RunningJob
from emulator.policies.displacement import RankedLazily

__all__ = ["clone_scratch", "free_by_preempting"]


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
    if isinstance(candidates, RankedLazily):  # GPUs from the columns: no view built
        usable: Sequence[RunningJob] = candidates  # running work always holds its GPUs
        offered = candidates.offered_gpus()
    else:
        usable = [c for c in candidates if c.gpus is not None]
        offered = sum(c.n_gpus for c in usable)
    if scratch.free_gpus + offered < job.n_gpus:
        return None
    search = _victims_by_counts if scratch.placement.fits_anywhere else _victims_by_placing
    chosen = search(scratch, job, usable)
    if chosen is None:
        return None
    for v in chosen:
        scratch.release(v.gpus)  # type: ignore[arg-type]
    gpus = scratch.place(job.request)
    if gpus is None:  # cannot happen: the same releases placed it on a copy
        raise RuntimeError("placement differed between a scratch and its copy")
    return chosen, gpus


def _victims_by_counts(scratch: Scratch, job: QueuedJob,
                       usable: Sequence[RunningJob]) -> list[RunningJob] | None:
    """:func:`free_by_preempting`'s victims, each fit tested on free counts (for a
    placement policy whose answer depends on them alone): the same victims as placing on
    a trial copy each time, found with a few integer updates per victim.

    On a full scratch, a job of one GPU that any domain may hold fits as soon as one GPU
    comes back (its domain then holds one free group: :class:`FitCounter`'s answer), so
    its victim is the first candidate that gives one back (the counter's search would
    then prune those before it, which give back nothing), found without a counter."""
    request = job.request
    if (request.n_gpus == 1 and request.group_size == 1 and request.eligible is None
            and scratch.free_gpus == 0):
        for c in usable:
            if scratch.returned(c.gpus).size:  # type: ignore[arg-type]
                return [c]
        return None
    counter = FitCounter(scratch, job.request)
    chosen: list[RunningJob] = []
    counts: list[DomainCounts] = []
    for c in usable:
        counts.append(domain_counts(scratch, c.gpus))  # type: ignore[arg-type]
        counter.add(counts[-1])
        chosen.append(c)
        if counter.fits:
            break
    else:
        return None
    for i in range(len(chosen) - 2, -1, -1):  # prune victims that turn out not to be needed
        counter.remove(counts[i])
        if counter.fits:
            del chosen[i], counts[i]
        else:
            counter.add(counts[i])
    return chosen


def _victims_by_placing(scratch: Scratch, job: QueuedJob,
                        usable: Sequence[RunningJob]) -> list[RunningJob] | None:
    """:func:`free_by_preempting`'s victims, each fit tested by placing on a trial copy."""
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
    return chosen
