"""What ``gpuemu validate`` says about training work that can never run: one line per
explicit job (by name) and per generated stream or trace (by tenant and name), saying why.

The run rejects such work at submission (:mod:`emulator.feasibility`) and goes on; its
reason is either the job's own split (``tp``/``pp``/``ep`` that cannot divide its model's
heads, layers or experts: a mistake in the scenario, whatever the cluster) or its size
against this cluster (a tensor-parallel group larger than any NVLink domain, more GPUs
than any site offers in such groups, a model whose training state does not fit, no GPU of
the system it asks for). ``validate`` treats as errors (exit 2) the jobs the scenario names
(``jobs:``) and any split problem; jobs a stream or a trace draws too large for this
cluster are warnings, since a planner sweeping the site's size expects them to be rejected
and counted.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from emulator.work_book import fixed_fields

__all__ = ["Rejection", "training_rejections"]

SPLIT = "its parallel sizes cannot split its model"
"""Why-kind of a job whose tp/pp/ep cannot divide its model."""

TOO_LARGE = "too large for this cluster"
"""Why-kind of a job no domain, site or GPU of this cluster can hold."""


@dataclass(frozen=True)
class Rejection:
    """One line about training work that can never run."""

    error: bool
    """True: a mistake in the scenario (validate exits 2); False: a warning."""
    text: str


def _source(tenant: Any, name: str) -> tuple[str, str]:
    """``(kind, config name)`` of a job named ``name`` of ``tenant`` (a ``TenantConfig``):
    ``("job", name)`` for an explicit job, ``("training", stream)`` for a generated one,
    ``("traces", "")`` for a replayed one."""
    if name in {j.name for j in tenant.jobs}:
        return "job", name
    for stream in tenant.training:
        if re.fullmatch(re.escape(stream.name) + r"-\d+", name):
            return "training", stream.name
    return "traces", ""


def _why(reason: str, split: str | None) -> str:
    kind = SPLIT if split is not None and reason == split else TOO_LARGE
    return f"{kind} ({reason})"


def training_rejections(sim: Any, tenants: Mapping[str, Any]) -> list[Rejection]:
    """The lines for ``sim``'s training work that can never run (``sim.engine.infeasible``),
    grouped: one per explicit job, one per (stream or tenant's traces, reason).
    ``tenants`` are the scenario's ``TenantConfig`` by name."""
    from emulator.feasibility import split_problem

    works = sim.works
    ids = sorted(i for i in sim.engine.infeasible if i < works.n_jobs)
    if not ids:
        return []
    fixed = fixed_fields(works, ids)
    all_fixed = fixed_fields(works, range(works.n_jobs))
    totals: dict[tuple[str, str], int] = {}
    for tenant, name in zip(all_fixed["tenant"], all_fixed["name"], strict=True):
        if tenant in tenants:
            kind, where = _source(tenants[tenant], str(name))
            if kind != "job":
                totals[(str(tenant), f"{kind}.{where}")] = \
                    totals.get((str(tenant), f"{kind}.{where}"), 0) + 1
    lines: list[Rejection] = []
    groups: dict[tuple[str, str, str], list[int]] = {}
    splits: dict[str, str | None] = {}
    for i, tenant, name in zip(ids, fixed["tenant"], fixed["name"], strict=True):
        tenant, name = str(tenant), str(name)
        reason = sim.engine.infeasible[i]
        if reason not in splits:
            splits[reason] = split_problem(works[i].spec)
        why = _why(reason, splits[reason])
        kind, where = _source(tenants[tenant], name) if tenant in tenants else ("traces", "")
        if kind == "job":
            lines.append(Rejection(True, f"tenants.{tenant}.jobs.{name}: training job "
                                         f"{name!r} can never run: {why}"))
        else:
            groups.setdefault((tenant, f"{kind}.{where}", why), []).append(i)
    for (tenant, where, why), members in groups.items():
        what = ("generated job(s) of training stream" if where.startswith("training.")
                else "replayed trace job(s) of tenant")
        label = where.partition(".")[2] or tenant
        n, total = len(members), totals.get((tenant, where), len(members))
        lines.append(Rejection(why.startswith(SPLIT),
                               f"tenants.{tenant}.{where.rstrip('.')}: {n:,} of {total:,} "
                               f"{what} {label!r} will be rejected: {why}"))
    return lines
