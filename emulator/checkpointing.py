"""Checkpoint cadence under failures: the Young/Daly interval from the failure model.

A job writes a checkpoint after every τ seconds of compute and each write takes δ seconds;
a failure loses the compute since the last completed checkpoint plus any write under way,
``(τ + δ)/2`` on average, plus the restart. To first order the time lost per unit time is
``δ/τ + τ/(2·M)`` (``M`` the job's mean time between failures), minimised at Young's
``τ = √(2·δ·M)`` (J. W. Young, CACM 17(9), 1974; J. T. Daly, FGCS 22(3), 2006).

``δ = model parameters × bytes per parameter / storage write bandwidth``, with
:data:`emulator.feasibility.TRAINING_STATE_BYTES_PER_PARAM` bytes per parameter (mixed-precision
Adam: weights, gradients, fp32 master weights and two moments — an assumption: a job that
skips the gradients or the master copy writes less). ``M`` comes from the site's failure
classes: a job of N GPUs is hit by a class whose units hold ``s`` GPUs at the rate of
``⌈N/s⌉`` units (it spans at least that many). Spine switch failures are left out: they
cost bandwidth, not a restart. NIC and leaf-switch failures count only for a job that spans
NVLink domains: they cut GPUs off the scale-out network, which stops such a job, while a
job inside one NVLink domain keeps running (the rule the failure model applies,
:meth:`emulator.core.failure_verbs.FailureVerbs.fail`).

Which site and domain a job lands in is known only when it starts, so the cadence is chosen
then: :func:`with_young_daly` sets each job's write cost ``δ`` and a first interval (from
the first such site, as if the job spanned domains) when the workload is made, and
:class:`YoungDalyCadence` sets both of each run from where it starts (``δ`` from the
storage bandwidth of the site of its GPUs, ``M`` from that site's failure classes and
whether its GPUs lie in one NVLink domain), at its first start and at every restart; a
run on a site with a fixed cadence (or none that fails) gets the job's own interval and
cost back.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np

from emulator.failure_plan import FailurePlan
from emulator.work import Work
from topologies.index import TIER_NVLINK, TopologyIndex
from topologies.reliability import effect_of
from workloads.models import get_model
from workloads.spec import TrainingJobSpec
from workloads.spec_columns import JobSpecs

__all__ = ["YoungDalyCadence", "checkpoint_write_s", "job_failure_rate", "with_young_daly",
           "young_daly_s"]


def young_daly_s(write_s: float, mtbf_s: float) -> float:
    """Young's optimal checkpoint interval ``√(2·δ·M)`` (s)."""
    return math.sqrt(2.0 * write_s * mtbf_s)


def checkpoint_write_s(params: float, bytes_per_param: float, bandwidth_bps: float) -> float:
    """Seconds to write a checkpoint of ``params`` parameters at ``bandwidth_bps`` bytes/s."""
    return params * bytes_per_param / bandwidth_bps


def job_failure_rate(plan: FailurePlan, site: int, n_gpus: int, *,
                     in_domain: bool = False) -> float:
    """Interruptions per second of a job of ``n_gpus`` GPUs on site ``site``;
    ``in_domain``: the job runs inside one NVLink domain, where a NIC or leaf-switch
    failure (scale-out network only) does not stop it."""
    rate = 0.0
    for cls in plan.classes:
        if cls.site != site or cls.n_units == 0:
            continue
        effect = effect_of(cls.name)
        if effect == "bandwidth" or (in_domain and effect == "scale_out"):
            continue  # a spine failure slows jobs down; a cut-off NIC spares one domain
        unit_gpus = cls.gpus.size / cls.n_units
        rate += float(np.mean(cls.rate_per_s)) * math.ceil(n_gpus / unit_gpus)
    return rate


def with_young_daly(jobs: Sequence[TrainingJobSpec], plan: FailurePlan,
                    bytes_per_param: float) -> Sequence[TrainingJobSpec]:
    """``jobs`` with checkpoint interval and cost set by Young/Daly where a site asks.

    The first site whose ``failures.checkpoint`` is ``young_daly`` sets the storage
    bandwidth (the write cost ``δ``) and the failure rates of a first interval, as if the
    job spanned NVLink domains; :class:`YoungDalyCadence` replaces that interval with the
    one of the GPUs each run holds when it starts. Jobs replayed with durations as given
    (``runtime_s``) are left alone.
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


class YoungDalyCadence:
    """Sets a training run's Young/Daly cadence from the GPUs it holds as it starts.

    A run on a site whose ``failures.checkpoint`` is ``young_daly`` gets the write cost
    ``δ`` of that site's ``checkpoint_bandwidth`` (:func:`checkpoint_write_s`, the model's
    parameters at ``bytes_per_param`` bytes each) and ``τ = √(2·δ·M)`` with ``M`` from that
    site's failure classes and its size, the scale-out classes (NIC, leaf switch) left out
    when its GPUs lie in one NVLink domain (:func:`job_failure_rate`). A run on a site with
    a fixed cadence, or one no failure class can stop, gets the job's own interval and cost
    back from ``configured`` (the jobs before :func:`with_young_daly`: that one sets every
    job's first cadence from the first Young/Daly site, wherever it will run);
    duration-as-given jobs keep theirs.
    """

    def __init__(self, plan: FailurePlan, index: TopologyIndex, bytes_per_param: float,
                 configured: Sequence[TrainingJobSpec] | None = None) -> None:
        self.plan = plan
        self.configured = configured
        self.gpu_site = index.gpu_site
        self.bytes_per_param = bytes_per_param
        self.sites = frozenset(s for s, c in plan.configs.items() if c.checkpoint == "young_daly")
        self._rates: dict[tuple[int, int, bool], float] = {}

    def interval_s(self, site: int, n_gpus: int, in_domain: bool, write_s: float
                   ) -> float | None:
        """Young's interval (s) of a run of ``n_gpus`` GPUs on ``site`` writing
        checkpoints in ``write_s`` s; ``None`` where the site does not ask or nothing can
        stop the run."""
        if site not in self.sites:
            return None
        key = (site, n_gpus, in_domain)
        rate = self._rates.get(key)
        if rate is None:
            rate = self._rates[key] = job_failure_rate(self.plan, site, n_gpus,
                                                       in_domain=in_domain)
        return young_daly_s(write_s, 1 / rate) if rate > 0 else None

    def write_s(self, site: int, spec: TrainingJobSpec) -> float:
        """Seconds ``spec``'s job takes to write a checkpoint on ``site`` (a site that asks
        for Young/Daly: its ``checkpoint_bandwidth``)."""
        bandwidth = self.plan.configs[site].checkpoint_bandwidth
        assert bandwidth is not None  # the config requires it with young_daly
        return checkpoint_write_s(get_model(spec.model).params, self.bytes_per_param, bandwidth)

    def apply(self, works: Sequence[Work]) -> None:
        """Give each placed training run in ``works`` (``tier`` and GPUs set) the write cost
        and interval of where it runs: Young/Daly's on a site that asks for it, the job's
        own (``configured``, indexed by work id) on a fixed-cadence site or where nothing
        can stop the run."""
        for work in works:
            spec = work.spec
            if not isinstance(spec, TrainingJobSpec) or spec.runtime_s is not None:
                continue
            first = work.span[0] if work.span is not None else int(work.gpus[0])  # type: ignore[index]
            site = int(self.gpu_site[first])
            tau: float | None = None
            write = spec.checkpoint_cost_s
            if site in self.sites:
                write = self.write_s(site, spec)
                tau = self.interval_s(site, work.n_gpus, work.tier == TIER_NVLINK, write)
            if tau is None:  # the job's own cadence (a workload-wide Young/Daly one replaced)
                if self.configured is None:
                    continue
                own = self.configured[work.work_id]
                tau, write = own.checkpoint_interval_s, own.checkpoint_cost_s
            if tau != spec.checkpoint_interval_s or write != spec.checkpoint_cost_s:
                work.spec = dataclasses.replace(spec, checkpoint_interval_s=tau,
                                                checkpoint_cost_s=write)
