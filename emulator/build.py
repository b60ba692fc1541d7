"""The composition root: the only place that picks concrete classes and wires them.

``build(loaded)`` turns a validated scenario into a ready :class:`Simulation`: topology
index, compute backend, generated work, policies, event log, serving model and engine.
Nothing else in the code base constructs its own collaborators (DESIGN principle 1).
"""

from __future__ import annotations

import gc
import re
import time
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path

import networkx as nx
import numpy as np
import simpy

from cupy_kernels.backend import Backend, BackendUnavailable, select_backend
from cupy_kernels.profile import apply_profile, load_profile
from emulator.build_events import drop_events_from, wire_events
from emulator.build_works import check_systems, estimate, estimate_error, make_book, restrict
from emulator.checkpointing import YoungDalyCadence, with_young_daly
from emulator.compute import ComputeModel
from emulator.core.allocation import ClusterState
from emulator.core.training import ShapeCache
from emulator.engine import Engine, EngineSettings
from emulator.errors import UserError
from emulator.eventlog import EventLog
from emulator.failure_plan import FailurePlan, resolve_plan
from emulator.feasibility import TRAINING_STATE_BYTES_PER_PARAM
from emulator.loader import LoadedScenario
from emulator.multisite import SiteOps, build_site_ops
from emulator.policies.registry import make_placement, make_queue_policy
from emulator.processes.failures import FailureModel
from emulator.processes.replica_loss import ReplicaLoss
from emulator.rng import RngStreams
from emulator.scenario import Scenario
from emulator.serving import ServingModel
from emulator.transfers import TransferModel
from emulator.wan_events import note_cuts_cut_off
from emulator.work_book import WorkBook
from topologies.config import SiteConfig
from topologies.index import TopologyIndex, derive_index
from topologies.sizing import size_site
from topologies.wan import origin_rtt_s, path_capacity_bps, wan_graph
from workloads.generate import TraceReplayError, generate_workload
from workloads.models import UnknownModelError
from workloads.spec import InferenceServiceSpec
from workloads.spec_columns import JobSpecs
from workloads.traces.common import TraceIssue

__all__ = ["Simulation", "build"]

_LOCAL_ORIGINS = ("local", "")


def _is_at(origin: str, site: SiteConfig) -> bool:
    """Whether requests from ``origin`` come from ``site`` itself: its name, or its city
    (in any case, as place names)."""
    city = getattr(site, "city", None)
    return origin == site.name or (city is not None and origin.lower() == city.lower())
_WEIGHT_BYTES = {"bf16": 2.0, "fp8": 1.0, "fp4": 0.5}


@dataclass
class Simulation:
    """A built, ready-to-run emulation."""

    loaded: LoadedScenario
    env: simpy.Environment
    engine: Engine
    log: EventLog
    backend: Backend
    index: TopologyIndex
    works: WorkBook
    horizon_s: float
    wall_s: float = 0.0
    trace_issues: tuple[TraceIssue, ...] = ()
    ops: SiteOps | None = None
    ended_when_done: bool = False
    """The run stopped before its planned end because every work item had ended
    (``engine.stop_when_done``); ``horizon_s`` is then that time."""
    planned_s: float = 0.0
    """Where the last :meth:`run` was to stop: the duration, or ``until`` if earlier (s)."""

    def run(self, until: float | None = None,
            on_progress: Callable[[Simulation], None] | None = None,
            step_s: float | None = None, speed: float | None = None,
            step_guard: Callable[[], AbstractContextManager[None]] | None = None) -> None:
        """Run to ``until`` (default: the scenario's duration), then close the run.

        The run advances in steps of ``step_s`` simulated seconds, calling ``on_progress``
        after each; ``speed`` paces it at that many simulated seconds per wall second.
        ``step_guard`` wraps each step (the CLI holds signals until a step ends, so an
        interrupted run stops between events, its state whole).
        """
        end = self.horizon_s if until is None else min(until, self.horizon_s)
        self.planned_s = end
        drop_events_from(self.engine, end, float(self.loaded.scenario.duration))
        if self.ops is not None:
            note_cuts_cut_off(self.ops.wan_events, end, float(self.loaded.scenario.duration))
        # Requests are judged against the end of what is simulated: one whose first or last
        # token would come after ``until`` has not been served in this run.
        self.engine.serving.horizon_s = end
        step = step_s or max(end / 200.0, 1.0)
        # The build made one object per job (a million on a campus): keep the cyclic
        # garbage collector from walking them all again and again during the run. The
        # collection first must be a full one: an earlier run in this process (a sweep
        # cell) is cyclic garbage in the oldest generation, and freezing it would keep
        # it for the life of the process.
        gc.collect()
        gc.freeze()
        try:
            self._advance(end, step, on_progress, speed, step_guard or nullcontext)
        finally:
            gc.unfreeze()

    def _advance(self, end: float, step: float,
                 on_progress: Callable[[Simulation], None] | None,
                 speed: float | None,
                 step_guard: Callable[[], AbstractContextManager[None]]) -> None:
        started = time.perf_counter()
        self.engine.start()
        ended = self.engine.all_ended  # with engine.stop_when_done: every work item ended
        t = 0.0
        while t < end:
            t = min(t + step, end)
            with step_guard():
                self.env.run(until=t)  # returns early when ``ended`` is processed
            if ended is not None and ended.triggered:  # (simpy re-queues it: not "processed")
                self.ended_when_done = True
                end = t = float(self.env.now)
            if speed:
                ahead = t / speed - (time.perf_counter() - started)
                if ahead > 0:
                    time.sleep(ahead)
            self.wall_s = time.perf_counter() - started
            if on_progress is not None:
                on_progress(self)
        self.engine.finish()
        self.horizon_s = end
        self.wall_s = time.perf_counter() - started

    def close_now(self) -> None:
        """Close an interrupted run at the time it reached (work there is truncated; the
        last serving window's requests are judged against that time, the earlier ones
        were against the planned end)."""
        self.engine.serving.horizon_s = float(self.env.now)
        self.engine.finish()
        self.horizon_s = float(self.env.now)


def _view_options(sc: Scenario, book: WorkBook, infeasible: Mapping[int, str]
                  ) -> dict[str, object]:
    """What policies see as ``view.options``: the scheduler options plus ``tenant_weights``
    (each tenant's ``share``, 1.0 when unset) and ``tenants_without_work`` (tenants of the
    scenario with no job or service that can run: no fair share is kept for them) for
    fair-share policies, and ``seed`` (the scenario's) for policies that draw at random."""
    weights = {name: float(t.share) if t.share is not None else 1.0
               for name, t in sorted(sc.tenants.items())}
    runnable = np.ones(book.n_jobs, dtype=bool)
    runnable[[i for i in infeasible if i < book.n_jobs]] = False
    with_work = {book.tenants[int(t)] for t in np.unique(book.tenant_idx[runnable])}
    with_work |= {w.tenant for w in book.others if w.work_id not in infeasible}
    return {**sc.scheduler.options, "tenant_weights": weights,
            "tenants_without_work": sorted(set(sc.tenants) - with_work), "seed": sc.seed}


def _transfer_model(jobs: JobSpecs, sites: list[SiteConfig],
                    graph: object) -> TransferModel | None:
    """The WAN transfer model when some job stages a dataset; its places must be known."""
    staged = [jobs[i] for i, size in enumerate(jobs.values("dataset_bytes")) if size > 0]
    if not staged:
        return None
    for job in staged:
        for site in sites:
            try:
                path_capacity_bps(graph, site.name, job.dataset_source)  # type: ignore[arg-type]
            except (KeyError, nx.NodeNotFound):
                raise UserError(f"tenants.{job.tenant}: dataset.source {job.dataset_source!r} "
                                "is not a place joined to the sites by a WAN link") from None
    return TransferModel(graph)  # type: ignore[arg-type]


def _solar_csv_from_scenario(site: SiteConfig, source: str) -> SiteConfig:
    """``site`` with a relative ``energy.solar.csv`` taken from the scenario file's folder
    (as its schema says; the working directory when the scenario is no file)."""
    solar = site.energy.solar if site.energy is not None else None
    if solar is None or solar.csv is None or Path(solar.csv).is_absolute():
        return site
    scenario = Path(source)
    if not scenario.is_file():
        return site
    csv = str(scenario.parent / solar.csv)
    energy = site.energy.model_copy(update={"solar": solar.model_copy(update={"csv": csv})})
    return site.model_copy(update={"energy": energy})


def in_source(exc: UserError, source: str) -> UserError:
    """``exc`` with the scenario file in front (``bad.yaml: tenants.x…``), as a
    validation error has it, when its message names a field of the scenario and no file;
    ``exc`` itself otherwise (a backend, a plug-in's misbehaviour, a file named already)."""
    text = str(exc)
    root = re.split(r"[.:\s\[]", text, maxsplit=1)[0]
    if root not in Scenario.model_fields or text.startswith(f"{source}:"):
        return exc
    return UserError(f"{source}: {text}")


def build(loaded: LoadedScenario, backend: str | None = None,
          keep_segments: bool = False, events_file: str | Path | None = None) -> Simulation:
    """Wire a validated scenario into a runnable :class:`Simulation`.

    ``events_file`` replaces the scenario's planned events file (``gpuemu run --events``).

    ``keep_segments`` keeps, on each work item, the exact GPU ids of every run (for
    GPU-level invariant checks); results never need them (the log records placements by
    NVLink domain), and at campus scale they cost memory.

    A :class:`UserError` about a field of the scenario names the scenario file first, as
    the validation errors do (:func:`in_source`).
    """
    try:
        return _build(loaded, backend, keep_segments, events_file)
    except UserError as exc:
        raise in_source(exc, loaded.source) from None


def _build(loaded: LoadedScenario, backend: str | None, keep_segments: bool,
           events_file: str | Path | None) -> Simulation:
    """:func:`build`, with errors as raised."""
    sc = loaded.scenario
    try:
        be = select_backend(backend or sc.compute.backend)
    except (BackendUnavailable, ValueError) as exc:  # unavailable, or not a backend's name
        raise UserError(str(exc)) from None
    sites = [_solar_csv_from_scenario(site, loaded.source) for site in loaded.sites]
    index = derive_index(sites)
    if sc.compute.profile is not None:  # measured GPU figures replace the catalog's
        index = apply_profile(index, load_profile(sc.compute.profile, loaded.source))
    streams = RngStreams(sc.seed)
    tenants = tuple(sorted(sc.tenants))
    check_systems(sc, index)  # before the work is generated: the error names the field
    trace_issues: list[TraceIssue] = []
    try:
        jobs, services = generate_workload(dict(sc.tenants), sc.duration, streams,
                                           base_dir=Path(loaded.source).parent,
                                           issues=trace_issues)
    except (UnknownModelError, TraceReplayError) as exc:
        text = str(exc)
        raise UserError(text if text.startswith("tenants.") else f"tenants: {text}") from None
    failure_plan = resolve_plan(sites, index)
    configured = jobs  # each job's own checkpoint cadence, for runs on a fixed-cadence site
    if failure_plan is not None:  # checkpoint cadence from the failure rates, if asked
        jobs = with_young_daly(jobs, failure_plan,  # type: ignore[assignment]
                               TRAINING_STATE_BYTES_PER_PARAM)
    if not isinstance(jobs, JobSpecs):
        jobs = JobSpecs.of(jobs)
    sizings = [size_site(s) for s in sites]
    # the facility's fixed part is taken on the sites' nameplate IT (racks and switches),
    # the figure `gpuemu topology` and renewable_to_it_ratio use
    compute = ComputeModel(be, index, fused_kernels=sc.compute.fused_kernels,
                           site_design_w=[z.it_full_w for z in sizings])
    log = EventLog(tenants=tenants, sites=tuple(s.name for s in sites),
                   keep_rack_util=sc.output.rack_series or index.n_racks <= 256,
                   keep_requests=sc.output.requests)
    env = simpy.Environment()  # the clock exists before anything that reads it is wired
    graph = wan_graph(sites)
    site_by_id = {i: s for i, s in enumerate(sites)}

    def rtt(spec: InferenceServiceSpec, site_id: int) -> float:
        """Round trip (s) from ``spec``'s origin to site ``site_id``: 0 from the site itself
        or its city; from another site's city, that site's round trip to it."""
        site = site_by_id[site_id]
        if spec.origin in _LOCAL_ORIGINS or _is_at(spec.origin, site):
            return 0.0
        at = [other.name for other in sites if _is_at(spec.origin, other)]
        if at:  # users in another site's city reach this one over that site's links
            return min(origin_rtt_s(graph, site.name, name) for name in at)
        return origin_rtt_s(graph, site.name, spec.origin)

    for spec in services:  # fail before the run for an unknown origin
        for sid in range(len(sites)):
            try:
                rtt(spec, sid)
            except KeyError:
                joined = sorted({link.to.lower() for s in sites for link in s.wan})
                cities = sorted({s.city for s in sites if getattr(s, "city", None)})
                raise UserError(f"{_origin_field(sc, spec)}: "
                                f"unknown place {spec.origin!r}; expected a place joined "
                                f"to the site by a WAN link ({', '.join(joined) or 'none'}), "
                                f"a site's city ({', '.join(cities)}) or 'local'") from None
    try:  # energy series (once per run), cable-cut schedule, residency
        ops = build_site_ops(sc, sites, index, streams, graph)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    serving = ServingModel(compute, streams, log, rtt)
    serving.horizon_s = float(sc.duration)
    for site in reversed(sites):  # the first site of a city wins, as the listing goes
        if getattr(site, "city", None):
            serving.origin_sites[site.city.lower()] = site.name
    book = make_book(jobs, services, tenants, index)
    infeasible = restrict(book, sc, sites, index, rtt, ops, serving)
    shapes = ShapeCache(compute, index)
    estimate(book, infeasible, index, shapes)
    for w in book.others:  # the log counts SLO attainment per service from these objectives
        if isinstance(w.spec, InferenceServiceSpec):
            log.set_slo(w.work_id, w.spec.slo_ttft_s, w.spec.slo_tpot_s)
            serving.expect(w)  # its requests count from its submission, placed or not
    estimate_error(book, streams)
    ops.clock = lambda: env.now
    queue_policy = make_queue_policy(sc.scheduler.queue, dict(sc.scheduler.options))
    check_tenants = getattr(queue_policy, "check_tenants", None)
    if callable(check_tenants):  # options that name tenants (fairshare's quotas) name real ones
        check_tenants(set(sc.tenants) | set(book.tenants))
    if getattr(queue_policy, "needs_round_length", False) and sc.scheduler.round_length is None:
        raise UserError(f"scheduler.round_length: policy {sc.scheduler.queue!r} with these "
                        "options (mechanism: gavel) works in rounds; expected a round length, "
                        "e.g. 360s as in Gavel")
    policy = ops.wrap_queue(queue_policy)
    placement = ops.wrap_placement(make_placement(sc.scheduler.placement))
    settings = EngineSettings(
        sample_interval_s=sc.engine.sample_interval, serving_window_s=sc.engine.serving_window,
        site_pue=np.array([s.pue for s in sites], dtype=float),
        site_fabric_w=np.array([z.fabric_w for z in sizings], dtype=float),
        round_length_s=sc.scheduler.round_length, stop_when_done=sc.engine.stop_when_done)
    options = _view_options(sc, book, infeasible)
    by_gpu = {i: dict(runtimes) for i, runtimes in enumerate(jobs.values("runtime_by_gpu"))
              if runtimes}
    if by_gpu:  # per-GPU-type durations (throughput tables) for policies
        options["runtime_by_gpu_s"] = by_gpu
    book.retire_enabled = not keep_segments  # segments live on the objects
    engine = Engine(env, ClusterState(index), book, tenants, policy, placement, compute,
                    serving, log, settings, options, infeasible, energy=ops.energy,
                    power=ops.cap_policy(), timed=ops.timed_actions(serving, log, rtt),
                    transfers=_transfer_model(jobs, sites, graph), shapes=shapes)
    engine.core.keep_segments = keep_segments
    if failure_plan is not None:  # each run's checkpoint interval from where it starts
        cadence = YoungDalyCadence(failure_plan, index, TRAINING_STATE_BYTES_PER_PARAM,
                                   configured)
        engine.core.cadence = cadence if cadence.sites else None
    # Always a failure model, so operators and planned events can inject failures into a
    # scenario without a failures: section (it then samples nothing and changes nothing).
    engine.failures = FailureModel(engine.core, failure_plan or FailurePlan((), {}),
                                   streams.stream("failures"), float(sc.duration),
                                   ReplicaLoss(engine.core, serving))
    wire_events(loaded, engine, ops, serving, log, rtt, graph, events_file)
    return Simulation(loaded=loaded, env=env, engine=engine, log=log, backend=be, index=index,
                      works=engine.works, horizon_s=sc.duration, trace_issues=tuple(trace_issues),
                      ops=ops)


def _origin_field(sc: Scenario, spec: InferenceServiceSpec) -> str:
    """The scenario field that set ``spec``'s origin: the service's own ``origin`` where it
    has one, else its tenant's (which the service inherits)."""
    tenant = sc.tenants.get(spec.tenant)
    own = [svc for svc in getattr(tenant, "inference", []) if svc.name == spec.name]
    if tenant is not None and not any(svc.origin is not None for svc in own):
        return f"tenants.{spec.tenant}.origin"
    return f"tenants.{spec.tenant}.inference.{spec.name}.origin"

