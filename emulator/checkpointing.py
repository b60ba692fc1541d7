"""Checkpoint cadence under failures: the Young/Daly interval from the failure model.

A job checkpoints every τ seconds and each write costs δ seconds; a failure loses on
average τ/2 of work plus the restart. To first order the time lost per unit time is
``δ/τ + τ/(2·M)`` (``M`` the job's mean time between failures), minimised at Young's
``τ = √(2·δ·M)`` (J. W. Young, CACM 17(9), 1974; J. T. Daly, FGCS 22(3), 2006).

``δ = model parameters × bytes per parameter / storage write bandwidth``, with
:data:`emulator.feasibility.TRAINING_STATE_BYTES_PER_PARAM` bytes per parameter (mixed-precision
Adam: weights, gradients, fp32 master weights and two moments — an assumption: a job that
skips the gradients or the master copy writes less). ``M`` comes from the site's failure
classes: a job of N GPUs is hit by a class whose units hold ``s`` GPUs at the rate of
``⌈N/s⌉`` units (it spans at least that many). Spine switch failures are left out: they
cost bandwidth, not a restart.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np

from emulator.failure_plan import FailurePlan
from topologies.reliability import effect_of
from workloads.models import get_model
from workloads.spec import TrainingJobSpec
from workloads.spec_columns import JobSpecs

__all__ = ["checkpoint_write_s", "job_failure_rate", "with_young_daly", "young_daly_s"]


def young_daly_s(write_s: float, mtbf_s: float) -> float:
    """Young's optimal checkpoint interval ``√(2·δ·M)`` (s)."""
    return math.sqrt(2.0 * write_s * mtbf_s)


def checkpoint_write_s(params: float, bytes_per_param: float, bandwidth_bps: float) -> float:
    """Seconds to write a checkpoint of ``params`` parameters at ``bandwidth_bps`` bytes/s."""
    return params * bytes_per_param / bandwidth_bps


def job_failure_rate(plan: FailurePlan, site: int, n_gpus: int) -> float:
    """Interruptions per second of a job of ``n_gpus`` GPUs on site ``site``."""
    rate = 0.0
    for cls in plan.classes:
        if cls.site != site or cls.n_units == 0 or effect_of(cls.name) == "bandwidth":
            continue  # a spine failure slows jobs down, it does not stop them
        unit_gpus = cls.gpus.size / cls.n_units
        rate += float(np.mean(cls.rate_per_s)) * math.ceil(n_gpus / unit_gpus)
    return rate


def with_young_daly(jobs: Sequence[TrainingJobSpec], plan: FailurePlan,
                    bytes_per_param: float) -> Sequence[TrainingJobSpec]:
    """``jobs`` with checkpoint interval and cost set by Young/Daly where a site asks.

    The first site whose ``failures.checkpoint`` is ``young_daly`` sets the failure rates
    and the storage bandwidth (jobs are not yet placed when the cadence is chosen).
    Jobs replayed with durations as given (``runtime_s``) are left alone.
    """
    site = next((s for s, c in sorted(plan.configs.items()) if c.checkpoint == "young_daly"),
                None)
    if site is None:
        return jobs
    bandwidth = plan.configs[site].checkpoint_bandwidth
    assert bandwidth is not None  # the config requires it with young_daly
    rates: dict[int, float] = {}

    def adjust(spec: TrainingJobSpec) -> TrainingJobSpec:
        rate = rates.get(spec.n_gpus)
        if rate is None:
            rate = rates[spec.n_gpus] = job_failure_rate(plan, site, spec.n_gpus)
        if spec.runtime_s is not None or rate <= 0:
            return spec
        write = checkpoint_write_s(get_model(spec.model).params, bytes_per_param, bandwidth)
        return dataclasses.replace(spec, checkpoint_interval_s=young_daly_s(write, 1 / rate),
                                   checkpoint_cost_s=write)

    if isinstance(jobs, JobSpecs):  # applied to each spec as it is made
        return jobs.with_adjustment(adjust, ("checkpoint_interval_s", "checkpoint_cost_s"))
    return [adjust(spec) for spec in jobs]
