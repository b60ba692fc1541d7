"""Training-job arithmetic of the core: kernel results per job shape, progress, checkpoints.

Step time and utilisation depend on a job's *shape* (model, parallelism, batch, precision,
efficiency override) and on where it runs (GPU system, site, slowest network tier), not on
its token count; a campus has a handful of shapes and a million jobs. :class:`ShapeCache`
calls the training kernel once per distinct (shape, system, site, tier), batched for all
new keys of a round, and derives each job's duration from its step count with the same
arithmetic the kernel module uses (checkpoint saves included).
"""

from __future__ import annotations

import math
import operator
from array import array
from collections.abc import Sequence
from dataclasses import fields

import numpy as np

from emulator.compute import ComputeModel
from topologies.index import TopologyIndex
from workloads.spec import TrainingJobSpec

__all__ = ["ShapeCache", "checkpoint_progress", "duration_s", "progress"]


def duration_s(step_s: float, spec: TrainingJobSpec) -> float:
    """Run time incl. checkpoint saves: steps·step plus one save per full interval of
    compute (s), each written after its interval (:func:`checkpoint_progress`)."""
    compute = float(spec.steps) * step_s
    return compute + math.floor(compute / spec.checkpoint_interval_s) * spec.checkpoint_cost_s


def progress(rate_changes: list[tuple[float, float]], t0: float, t1: float) -> float:
    """Work fraction done in ``[t0, t1]`` given ``(from time, rate)`` steps, sorted by time."""
    done = 0.0
    for i, (start, rate) in enumerate(rate_changes):
        end = rate_changes[i + 1][0] if i + 1 < len(rate_changes) else math.inf
        lo, hi = max(start, t0), min(end, t1)
        if hi > lo:
            done += (hi - lo) * rate
    return done


def checkpoint_progress(origin: float, now: float, interval: float, cost: float = 0.0
                        ) -> float:
    """When the last checkpoint completed before ``now`` of a run that computes from
    ``origin`` (s): it computes ``interval`` s, writes a checkpoint in ``cost`` s, and so on
    (the cadence :func:`duration_s` counts), so checkpoint ``k`` completes at
    ``origin + k·(interval + cost)``; a failure loses the compute since then plus any
    write under way, ``(interval + cost)/2`` on average."""
    period = interval + cost
    return origin + math.floor((now - origin) / period) * period


_PER_JOB = frozenset({"job_id", "tenant", "name", "submit_s", "tokens", "priority",
                      "preemptible", "est_duration_s", "estimate_error", "dataset_bytes",
                      "dataset_source", "checkpoint_interval_s", "checkpoint_cost_s",
                      "runtime_s", "runtime_by_gpu"})
"""Spec fields that vary per job but do not enter the step-time kernel; every other field
is part of a job's shape (new model settings are included by default, never forgotten)."""

_SHAPE_FIELDS = tuple(f.name for f in fields(TrainingJobSpec) if f.name not in _PER_JOB)
_shape = operator.attrgetter(*_SHAPE_FIELDS)  # spec -> the tuple of its shape fields


def _ints(values: Sequence[int] | np.ndarray) -> list[int]:
    """``values`` as a list of Python ints (an array converted in one call)."""
    return values.tolist() if isinstance(values, np.ndarray) else [int(v) for v in values]


class ShapeCache:
    """Training kernel results per (shape, system, site, tier), computed once each."""

    def __init__(self, compute: ComputeModel, index: TopologyIndex) -> None:
        self.compute = compute
        self.index = index
        self._gpu_system = index.rack_system[index.gpu_rack]
        # each GPU's system and site as array.array (a launch reads one entry of each)
        self._system_at = array("q", np.asarray(self._gpu_system, dtype=np.int64).tobytes())
        self._site_at = array("q", np.asarray(index.gpu_site, dtype=np.int64).tobytes())
        self._cache: dict[tuple[object, ...], tuple[float, float]] = {}
        self._slowed: dict[tuple[object, ...], float] = {}
        self.kernel_rows = 0  # rows the kernel actually evaluated (for benchmarks)

    def step_util(self, specs: Sequence[TrainingJobSpec], first_gpu: Sequence[int],
                  tiers: Sequence[int]) -> tuple[list[float], list[float]]:
        """Step time (s) and compute utilisation of each job placed from ``first_gpu``
        (GPU ids) at network tier ``tiers``."""
        return self._step_util(specs, _ints(first_gpu), _ints(tiers))

    def _step_util(self, specs: Sequence[TrainingJobSpec], firsts: list[int],
                   tier_list: list[int]) -> tuple[list[float], list[float]]:
        """:meth:`step_util` for GPU ids and tiers already Python ints (a launch calls
        this for every job it starts)."""
        idx = self.index
        system, site, cache = self._gpu_system, idx.gpu_site, self._cache
        if len(specs) == 1:  # the usual launch: one job, found in the cache
            g = firsts[0]
            key = (_shape(specs[0]), self._system_at[g], self._site_at[g], tier_list[0])
            hit = cache.get(key)
            if hit is not None:
                return [hit[0]], [hit[1]]
        keys = [(_shape(spec), int(system[g]), int(site[g]), tier)
                for spec, g, tier in zip(specs, firsts, tier_list, strict=True)]
        missing: dict[tuple[object, ...], int] = {}
        for i, key in enumerate(keys):
            if key not in cache and key not in missing:
                missing[key] = i
        if missing:
            rows = list(missing.values())
            est = self.compute.training(
                [specs[i] for i in rows],
                [idx.systems[int(system[firsts[i]])] for i in rows],
                np.array([tier_list[i] for i in rows], dtype=np.int64),
                np.array([firsts[i] for i in rows], dtype=np.int64))
            self.kernel_rows += len(rows)
            for j, key in enumerate(missing):
                cache[key] = (float(est.step_s[j]), float(est.util[j]))
        found = [cache[key] for key in keys]
        return [s for s, _u in found], [u for _s, u in found]

    def estimate(self, specs: Sequence[TrainingJobSpec], first_gpu: Sequence[int],
                 tiers: Sequence[int]) -> tuple[list[float], list[float], list[float]]:
        """Step time (s), utilisation and full duration (s) of each job placed from
        ``first_gpu``. Duration-as-given jobs (``runtime_s``, trace replay) bypass the
        kernels: one step of their given duration on the GPU type they run on, at full
        utilisation."""
        firsts, tier_list = _ints(first_gpu), _ints(tiers)
        given = [s.runtime_s is not None for s in specs]
        if not any(given):  # the usual case: every job through the kernels
            steps, utils = self._step_util(specs, firsts, tier_list)
            return steps, utils, [duration_s(st, sp) for st, sp in zip(steps, specs,
                                                                       strict=True)]
        rows = [i for i, g in enumerate(given) if not g]
        steps = [0.0] * len(specs)
        utils = [1.0] * len(specs)
        durations = [0.0] * len(specs)
        if rows:
            st, ut = self._step_util([specs[i] for i in rows], [firsts[i] for i in rows],
                                     [tier_list[i] for i in rows])
            for i, step, util in zip(rows, st, ut, strict=True):
                steps[i], utils[i], durations[i] = step, util, duration_s(step, specs[i])
        for i, g in enumerate(given):
            if g:
                gpu = self.index.systems[int(self._gpu_system[firsts[i]])].gpu.name
                runtime = specs[i].runtime_on(gpu)
                assert runtime is not None
                steps[i] = durations[i] = float(runtime)
        return steps, utils, durations

    def spine_slowdown(self, spec: TrainingJobSpec, first_gpu: int, tier: int,
                       spine_scale: float) -> float:
        """Speed (0..1] of a job at network ``tier`` when only ``spine_scale`` of its site's
        cross-pod bandwidth is left: its full duration (checkpoint saves included) at full
        bandwidth over the one at the reduced bandwidth. 1.0 for a duration-as-given job
        (no model of its traffic) and for any tier that does not cross the spine."""
        if spec.runtime_s is not None or spine_scale >= 1.0:
            return 1.0
        g = int(first_gpu)
        system, site = int(self._gpu_system[g]), int(self.index.gpu_site[g])
        key = (_shape(spec), system, site, tier, spine_scale)
        slow_step = self._slowed.get(key)
        if slow_step is None:
            est = self.compute.training([spec], [self.index.systems[system]],
                                        np.array([tier], dtype=np.int64),
                                        np.array([g], dtype=np.int64), spine_scale)
            self.kernel_rows += 1
            slow_step = self._slowed[key] = float(est.step_s[0])
        steps, _utils = self.step_util([spec], [g], [tier])
        return min(1.0, duration_s(steps[0], spec) / duration_s(slow_step, spec))
