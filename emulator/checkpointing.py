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
classes: a run is hit by a class at the summed rates of the units that hold at least one
of its GPUs (a 72-GPU run across two racks by both racks' failures), known once it is
placed; before, a job of N GPUs is estimated to touch ``⌈N/s⌉`` units of a class whose
units hold ``s`` GPUs (the fewest it can span). Spine switch failures are left out: they
cost bandwidth, not a restart. NIC and leaf-switch failures count only for a job that spans
NVLink domains: they cut GPUs off the scale-out network, which stops such a job, while a
job inside one NVLink domain keeps running (the rule the failure model applies,
:meth:`emulator.core.failure_verbs.FailureVerbs.fail`).

Which site and domain a job lands in is known only when it starts, so the cadence is chosen
then: :func:`with_young_daly` sets each job's write cost ``δ`` and a first interval (from
the first such site, as if the job spanned domains) when the workload is made, and
:class:`YoungDalyCadence` sets both of each run from where it starts (``δ`` from the
storage bandwidth of the site of its GPUs, ``M`` from that site's failure classes and
the units its GPUs touch, and whether they lie in one NVLink domain), at its first start
and at every restart; a run on a site with a fixed cadence (or none that fails) gets the
job's own interval and cost back.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence

import numpy as np

from emulator.failure_plan import FailurePlan
from emulator.work import Work
from topologies.index import TIER_NVLINK, TopologyIndex
from topologies.reliability import effect_of
from workloads.models import get_model
from workloads.spec import TrainingJobSpec
from workloads.spec_columns import JobSpecs

__all__ = ["YoungDalyCadence", "checkpoint_write_s", "job_failure_rate",
           "placed_failure_rate", "with_young_daly", "young_daly_s"]


def young_daly_s(write_s: float, mtbf_s: float) -> float:
    """Young's optimal checkpoint interval ``√(2·δ·M)`` (s)."""
    return math.sqrt(2.0 * write_s * mtbf_s)


def checkpoint_write_s(params: float, bytes_per_param: float, bandwidth_bps: float) -> float:
    """Seconds to write a checkpoint of ``params`` parameters at ``bandwidth_bps`` bytes/s."""
    return params * bytes_per_param / bandwidth_bps


def job_failure_rate(plan: FailurePlan, site: int, n_gpus: int, *,
                     in_domain: bool = False) -> float:
    """Interruptions per second of a job of ``n_gpus`` GPUs on site ``site`` before it is
    placed: ``⌈n_gpus/s⌉`` units of each class whose units hold ``s`` GPUs, at their mean
    rate; ``in_domain``: the job runs inside one NVLink domain, where a NIC or leaf-switch
    failure (scale-out network only) does not stop it."""
    rate = 0.0
    for cls in plan.classes:
        if cls.site != site or cls.n_units == 0:
            continue
        if not _stops(effect_of(cls.name), in_domain):
            continue
        unit_gpus = cls.gpus.size / cls.n_units
        rate += float(np.mean(cls.rate_per_s)) * math.ceil(n_gpus / unit_gpus)
    return rate


def _stops(effect: str, in_domain: bool) -> bool:
    """Whether a failure of this effect stops a run (``in_domain``: inside one NVLink
    domain): a spine failure slows jobs down; a cut-off NIC or leaf spares one domain."""
    return not (effect == "bandwidth" or (in_domain and effect == "scale_out"))


def placed_failure_rate(plan: FailurePlan, site: int, gpus: np.ndarray, in_domain: bool,
                        unit_of: Callable[[int], tuple[np.ndarray, int]]) -> float:
    """Interruptions per second of a run on ``gpus`` (GPU ids of site ``site``): the summed
    rates of the units of each class that hold at least one of its GPUs. ``unit_of(k)``
    gives class ``plan.classes[k]``'s unit per GPU (an array indexed by GPU id minus the
    offset returned with it)."""
    rate = 0.0
    for k, cls in enumerate(plan.classes):
        if cls.site != site or cls.n_units == 0 or not _stops(effect_of(cls.name), in_domain):
            continue
        units, offset = unit_of(k)
        touched = units[gpus - offset]
        if cls.n_units != cls.gpus.size:  # units of several GPUs: count each once
            touched = _distinct(touched, cls.n_units)
        rate += float(cls.rate_per_s[touched].sum())
    return rate


def _distinct(values: np.ndarray, n_values: int) -> np.ndarray:
    """The distinct ``values`` (each in ``[0, n_values)``): one pass where they are sorted
    (a placement's GPUs in id order, units numbered along them) or few values are possible,
    else :func:`numpy.unique`."""
    if values.size < 2:
        return values
    if bool((values[1:] >= values[:-1]).all()):
        return values[np.flatnonzero(np.concatenate(([True], values[1:] != values[:-1])))]
    if n_values <= 4 * values.size:
        seen = np.zeros(n_values, dtype=bool)
        seen[values] = True
        return np.flatnonzero(seen)
    return np.unique(values)


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
    parameters at ``bytes_per_param`` bytes each) and ``τ = √(2·δ·M)`` with ``M`` from the
    units of that site's failure classes its GPUs touch, the scale-out classes (NIC, leaf
    switch) left out when its GPUs lie in one NVLink domain (:func:`placed_failure_rate`).
    A run on a site with a fixed cadence, or one no failure class can stop, gets the job's
    own interval and cost back from ``configured`` (the jobs before
    :func:`with_young_daly`, which sets every job's first cadence from the first Young/Daly
    site, wherever it will run); duration-as-given jobs keep theirs.
    """

    def __init__(self, plan: FailurePlan, index: TopologyIndex, bytes_per_param: float,
                 configured: Sequence[TrainingJobSpec] | None = None) -> None:
        self.plan = plan
        self.configured = configured
        self.gpu_site = index.gpu_site
        self.bytes_per_param = bytes_per_param
        self.sites = frozenset(s for s, c in plan.configs.items() if c.checkpoint == "young_daly")
        self._units: dict[int, tuple[np.ndarray, int]] = {}

    def _unit_of(self, k: int) -> tuple[np.ndarray, int]:
        """Class ``k``'s unit of each GPU of its site (indexed by GPU id minus the offset
        returned; -1 for a GPU in no unit), made on first use."""
        found = self._units.get(k)
        if found is None:
            cls = self.plan.classes[k]
            offset = int(cls.gpus.min()) if cls.gpus.size else 0
            size = int(cls.gpus.max()) - offset + 1 if cls.gpus.size else 0
            units = np.full(size, -1, dtype=np.int64)
            units[cls.gpus - offset] = np.repeat(np.arange(cls.n_units, dtype=np.int64),
                                                 np.diff(cls.unit_start))
            found = self._units[k] = (units, offset)
        return found

    def interval_s(self, site: int, gpus: np.ndarray, in_domain: bool, write_s: float
                   ) -> float | None:
        """Young's interval (s) of a run on ``gpus`` (GPU ids) of ``site`` writing
        checkpoints in ``write_s`` s, its failure rate from the units its GPUs touch
        (:func:`placed_failure_rate`); ``None`` where the site does not ask or nothing can
        stop the run."""
        if site not in self.sites:
            return None
        rate = placed_failure_rate(self.plan, site, gpus, in_domain, self._unit_of)
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
                tau = self.interval_s(site, work.gpus,  # type: ignore[arg-type]
                                      work.tier == TIER_NVLINK, write)
            if tau is None:  # the job's own cadence (a workload-wide Young/Daly one replaced)
                if self.configured is None:
                    continue
                own = self.configured[work.work_id]
                tau, write = own.checkpoint_interval_s, own.checkpoint_cost_s
            if tau != spec.checkpoint_interval_s or write != spec.checkpoint_cost_s:
                work.spec = dataclasses.replace(spec, checkpoint_interval_s=tau,
                                                checkpoint_cost_s=write)
