"""The run's work at build: the work book, its placement limits and runtime estimates.

Part of the composition root (:mod:`emulator.build`), kept apart so each file has one
concern. :func:`make_book` holds training jobs as columns (one placement request per job
shape, shared) and services as objects; :func:`restrict` narrows placements by residency,
routing and feasibility and says which work can never run; :func:`estimate` and
:func:`estimate_error` give each job the runtime estimate policies see (s).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from emulator.core.training import ShapeCache
from emulator.errors import UserError
from emulator.feasibility import check_feasibility, service_fitting_domains
from emulator.multisite import SiteOps, restrict_works
from emulator.placement.base import PlacementRequest
from emulator.rng import RngStreams
from emulator.scenario import Scenario
from emulator.serving import ServingModel
from emulator.work import Work
from emulator.work_book import WorkBook
from topologies.config import SiteConfig
from topologies.index import TIER_LEAF, TIER_NVLINK, TopologyIndex
from workloads.spec import InferenceServiceSpec
from workloads.spec_columns import JobSpecs

__all__ = ["check_systems", "estimate", "estimate_error", "make_book", "restrict"]


def _systems_named(index: TopologyIndex, system: str) -> np.ndarray:
    """Indices of the index's systems that ``system`` names (halls may derive variants of
    a catalog system, "h100-hgx/1-per-rack": the base name matches them too)."""
    base = np.array([s.name.split("/")[0] for s in index.systems])
    return np.flatnonzero((base == system) | (np.array([s.name for s in index.systems])
                                              == system))


def _not_in_any_hall(index: TopologyIndex, field: str, system: str) -> UserError:
    base = sorted({s.name.split("/")[0] for s in index.systems})
    return UserError(f"{field}: {system!r} is not in any hall of this scenario; halls have "
                     f"{base}")


def check_systems(sc: Scenario, index: TopologyIndex) -> None:
    """Every ``system`` a tenant's training, jobs, inference or traces name is a system of
    one of the scenario's halls; else a :class:`UserError` naming that field's path (the
    jobs made from it no longer know where their system came from)."""
    for tenant, config in sc.tenants.items():
        for part in ("training", "jobs", "inference", "traces"):
            for i, item in enumerate(getattr(config, part, None) or ()):
                system = getattr(item, "system", None)
                if system is not None and _systems_named(index, system).size == 0:
                    raise _not_in_any_hall(index, f"tenants.{tenant}.{part}.{i}.system",
                                           system)


def _eligible_domains(index: TopologyIndex, system: str | None) -> np.ndarray | None:
    if system is None:
        return None
    matches = _systems_named(index, system)
    if matches.size == 0:
        raise _not_in_any_hall(index, "system", system)
    rack_ok = np.isin(index.rack_system, matches)
    return rack_ok[index.domain_rack]


def make_book(jobs: JobSpecs, services: list[InferenceServiceSpec],
               tenants: tuple[str, ...], index: TopologyIndex) -> WorkBook:
    """The run's work book: training jobs as columns (no object per job until it arrives),
    services as objects after them."""
    t_idx = {t: i for i, t in enumerate(tenants)}
    # One eligibility mask per GPU system and one request per shape, shared by all the
    # jobs that have them (a mask holds a bool per NVLink domain: thousands on a campus).
    masks: dict[str | None, np.ndarray | None] = {}
    requests: list[PlacementRequest] = []
    request_of: dict[tuple[int, int, str | None], int] = {}
    n = len(jobs)
    tenant_idx = np.empty(n, dtype=np.int16)
    request_idx = np.empty(n, dtype=np.int32)
    for i, (n_gpus, tp, system, tenant) in enumerate(zip(
            jobs.values("n_gpus"), jobs.values("tp"), jobs.values("gpu_system"),
            jobs.values("tenant"), strict=True)):
        key = (n_gpus, tp, system)
        r = request_of.get(key)
        if r is None:
            if system not in masks:
                masks[system] = _eligible_domains(index, system)
            r = request_of[key] = len(requests)
            requests.append(PlacementRequest(n_gpus, tp, masks[system]))
        tenant_idx[i] = t_idx[tenant]
        request_idx[i] = r
    others: list[Work] = []
    for spec in services:
        base_gpus = spec.base_replicas * spec.gpus_per_replica
        req = PlacementRequest(base_gpus, spec.gpus_per_replica,
                               _eligible_domains(index, spec.gpu_system))
        others.append(Work(work_id=n + len(others), kind="inference", tenant=spec.tenant,
                           tenant_idx=t_idx[spec.tenant], spec=spec, n_gpus=base_gpus,
                           group_size=spec.gpus_per_replica, submit_s=spec.start_s,
                           priority=spec.priority, preemptible=False,
                           est_duration_s=math.inf, request=req))
    return WorkBook(jobs, tenants, tenant_idx, requests, request_idx,
                    np.full(n, math.inf), others)


def restrict(book: WorkBook, sc: Scenario, sites: list[SiteConfig], index: TopologyIndex,
              rtt: Callable[[InferenceServiceSpec, int], float], ops: SiteOps,
              serving: ServingModel) -> dict[int, str]:
    """Residency, routing and feasibility: narrow each work's placement and return why
    work can never run (work id → reason).

    These depend on a job only through its tenant, placement request, model and
    precision, so they run on one representative object per such group of jobs (the
    group's first job: the one that answered for the group when every job was checked)
    and the services; each job then takes its group's request and answer."""
    groups: dict[tuple[int, int, str, str], int] = {}
    group_of = np.empty(book.n_jobs, dtype=np.int32)
    reps: list[Work] = []
    for i, (t, r, model, precision) in enumerate(zip(
            book.tenant_idx.tolist(), book.request_idx.tolist(), book.specs.values("model"),
            book.specs.values("precision"), strict=True)):
        key = (t, r, model, precision)
        g = groups.get(key)
        if g is None:
            g = groups[key] = len(reps)
            reps.append(book._make(i))
        group_of[i] = g
    probe = [*reps, *book.others]
    fitting = service_fitting_domains(book.others, index, serving) if len(sites) > 1 else {}
    infeasible, ops.routes = restrict_works(probe, sc.tenants, sites, index, rtt, ops.energy,
                                            fitting)
    check_feasibility(probe, index, serving, infeasible)
    if not reps:
        return infeasible
    rep_request = np.empty(len(reps), dtype=np.int32)
    for g, rep in enumerate(reps):
        before = int(book.request_idx[rep.work_id])
        if rep.request is book.requests[before]:
            rep_request[g] = before  # not narrowed: the shared request stays
        else:
            rep_request[g] = len(book.requests)
            book.requests.append(rep.request)
    book.request_idx = rep_request[group_of]
    answers = [infeasible.pop(rep.work_id, None) for rep in reps]
    for i, g in enumerate(group_of.tolist()):
        if answers[g] is not None:
            infeasible[i] = answers[g]  # type: ignore[assignment]
    return dict(sorted(infeasible.items()))  # by work id, as when each work was checked


def estimate(book: WorkBook, infeasible: dict[int, str], index: TopologyIndex,
              shapes: ShapeCache) -> None:
    """Runtime estimates for training jobs, as if ideally placed (kernel once per shape)."""
    ids = [i for i in range(book.n_jobs) if i not in infeasible]
    if not ids:
        return
    domain_first = np.searchsorted(index.gpu_domain, np.arange(index.n_domains))
    largest: dict[bytes | None, int] = {}
    where: dict[int, tuple[int, int]] = {}  # request index -> (tier, first GPU)
    for r in np.unique(book.request_idx[ids]).tolist():  # those of jobs that can run
        req = book.requests[r]
        eligible = req.eligible
        key = None if eligible is None else eligible.tobytes()
        if key not in largest:  # the largest eligible domain, once per eligibility mask
            doms = np.flatnonzero(eligible) if eligible is not None else np.arange(
                index.n_domains)
            largest[key] = int(doms[np.argmax(index.domain_size[doms])])
        d = largest[key]
        where[r] = (TIER_NVLINK if req.n_gpus <= index.domain_size[d] else TIER_LEAF,
                    int(domain_first[d]))
    picked = [where[r] for r in book.request_idx[ids].tolist()]
    first = np.array([f for _t, f in picked], dtype=np.int64)
    tiers = np.array([t for t, _f in picked], dtype=np.int64)
    chunk = 65536  # specs are made for the kernels a chunk at a time, then dropped
    for lo in range(0, len(ids), chunk):
        part = ids[lo:lo + chunk]
        _steps, _utils, durations = shapes.estimate(
            [book.specs[i] for i in part], first[lo:lo + chunk], tiers[lo:lo + chunk])
        book.estimates[part] = durations


def estimate_error(book: WorkBook, streams: RngStreams) -> None:
    """Users' estimates are off: multiply each by ``exp(sd · Z)`` (median 1, sd of the log
    ``spec.estimate_error``), ``Z`` drawn in work order from stream ``estimates/<tenant>``."""
    rngs: dict[str, np.random.Generator] = {}
    est = book.estimates
    for i, (sd, tenant) in enumerate(zip(book.specs.values("estimate_error"),
                                         book.specs.values("tenant"), strict=True)):
        if not sd > 0 or not math.isfinite(est[i]):
            continue
        rng = rngs.setdefault(tenant, streams.stream(f"estimates/{tenant}"))
        est[i] *= float(np.exp(sd * rng.standard_normal()))
