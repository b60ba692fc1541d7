"""Policy comparison studies: every policy × seed (× grid point) of one scenario.

``gpuemu compare SCENARIO --policies fifo,backfill,las --seeds 5`` builds and runs the
scenario once per policy and seed (seeds ``s, s+1, …`` from the scenario's own seed), on
the same scenario otherwise, and reports each metric's mean over seeds with a 95 %
confidence interval from the t-distribution (``mean ± t(0.975, n-1) · sd / √n``), one table
overall and one per tenant. ``--set KEY=a,b`` overrides become a grid
(:mod:`emulator.sweep`) and every point is compared the same way.

A policy other than the scenario's own runs with no options (``scheduler.options`` belong
to the scenario's policy). Every metric is computed from the run's event log:

- ``jct_mean_s``, ``jct_p99_s``: completion time of finished training jobs (s);
- ``wait_mean_s``: first start − submit of started training jobs (s);
- ``wait_incl_queued_mean_s``: the same with the training jobs never started counted at
  their wait so far (horizon − submit, a lower bound; the summary's
  ``wait_incl_queued_s``), so a policy that leaves jobs queued at the end does not look
  better for it; tables show it only where it differs from ``wait_mean_s``;
- ``util``: GPU-seconds held ÷ GPU-seconds available (a tenant: its part of the cluster);
- ``slo``: fraction of inference requests meeting their TTFT and TPOT objectives;
- ``ttft_p99_s``: 99th-percentile time to first token of inference requests (s);
- ``fairness`` (overall): Jain's index of the training tenants' GPU-seconds normalised by
  their entitlements; ``share_vs_quota`` (per tenant): that normalised share. The
  entitlement is the one the run's policy uses: ``fairshare``'s ``quotas``/``weights``
  when its options set them, else the tenants' ``share`` weights; each run records which
  (``entitlement``), and the tables name it (:mod:`emulator.compare_metrics`);
- ``energy_mwh``: facility energy (overall only);
- ``lost_gpu_h``: GPU-hours of work lost to preemption or failures; ``finished``:
  finished jobs;
- ``goodput``: productive GPU-seconds ÷ GPU-seconds held by training (checkpoint writes,
  work lost to failures or preemptions, restores, relaunch overhead and dataset staging are
  not productive; time computing on a slower GPU type is), a fraction, at most 1;
- ``ettr``: effective training time ratio, productive time ÷ time in the system summed
  over training jobs, a fraction (:mod:`emulator.failure_metrics`).

Files (``--out``): ``compare.csv`` (one row per point, policy, scope and metric),
``runs.csv`` (one row per run and scope), ``compare.json`` (both, plus the settings),
``compare.md`` (the tables in Markdown, for reports) and
PNG plots (:mod:`emulator.plots`): JCT CDF per policy, utilisation and queue length over
time. Runs are sequential by default; ``workers > 1`` runs them on a local
``dask.distributed`` cluster (:mod:`emulator.executor`), or pass any executor.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from emulator.errors import UserError
from emulator.executor import Executor
from emulator.run_metrics import RunMetrics, mean_ci, run_metrics, t_quantile_975
from emulator.sweep import GridPoint, expand_grid

__all__ = [
    "DEFAULT_SEEDS",
    "METRICS",
    "CompareResult",
    "RunMetrics",
    "aggregate",
    "mean_ci",
    "run_compare",
    "run_metrics",
    "t_quantile_975",
    "with_policy",
]

METRICS: dict[str, str] = {
    "jct_mean_s": "mean JCT",
    "jct_p99_s": "p99 JCT",
    "wait_mean_s": "mean wait",
    "wait_incl_queued_mean_s": "mean wait incl. queued",
    "util": "GPU alloc (%)",
    "slo": "SLO met (%)",
    "ttft_p99_s": "p99 TTFT",
    "fairness": "fairness (Jain)",
    "share_vs_quota": "share/quota",
    "energy_mwh": "energy (MWh)",
    "lost_gpu_h": "lost GPU-h",
    "goodput": "goodput (frac)",
    "ettr": "ETTR (frac)",
    "finished": "finished",
}
"""Metric keys and their short labels, in table order (a time's unit is chosen per column
when printed: :func:`emulator.compare_output.column_format`)."""

DEFAULT_SEEDS = 5
"""Seeds per policy unless told otherwise: with fewer, a 95 % t-interval is wide
(t(0.975, 4) = 2.78; with 2 seeds 12.7) and tells little."""

def _run_one(source: str, data: dict[str, Any], point: str, policy: str,
             seed: int, until_s: float | None = None) -> RunMetrics:
    """Build and run one scenario mapping in this process (to ``until_s`` if given); its
    metrics."""
    from emulator.build import build
    from emulator.loader import validate_scenario

    sim = build(validate_scenario(data, source=source))
    sim.run(until=until_s)
    return run_metrics(sim, point, policy, seed)


@dataclass
class CompareResult:
    """All runs of a comparison and their aggregates."""

    scenario: str
    policies: list[str]
    seeds: list[int]
    points: list[GridPoint]
    runs: list[RunMetrics]

    def scopes(self) -> list[str]:
        """``overall`` then the tenants, in the order runs report them."""
        seen: dict[str, None] = {}
        for r in self.runs:
            for s in r.metrics:
                seen.setdefault(s, None)
        return list(seen)


def aggregate(result: CompareResult) -> list[dict[str, Any]]:
    """One row per point, policy, scope and metric: mean, 95 % CI half-width and n."""
    rows = []
    for point in result.points:
        for policy in result.policies:
            runs = [r for r in result.runs if r.point == point.label and r.policy == policy]
            for scope in result.scopes():
                for metric in METRICS:
                    values = [r.metrics.get(scope, {}).get(metric) for r in runs]
                    mean, half, n = mean_ci(values)
                    rows.append({"point": point.label, "policy": policy, "scope": scope,
                                 "metric": metric, "mean": mean, "ci95": half,
                                 "low": mean - half, "high": mean + half, "n": n})
    return rows


def _scenario_data(path: Path, overrides: Sequence[str]) -> dict[str, Any]:
    from emulator.loader import apply_override, parse_override, read_yaml

    data = read_yaml(path)
    for text in overrides:
        keys, value = parse_override(text)
        apply_override(data, keys, value)
    return data


def with_policy(data: dict[str, Any], policy: str, seed: int) -> dict[str, Any]:
    """A copy of a scenario mapping with queue ``policy`` and ``seed``; a policy other than
    the scenario's own gets no options (the options belong to the scenario's policy)."""
    d = copy.deepcopy(data)
    sched = d.get("scheduler")
    if not isinstance(sched, dict):
        sched = d["scheduler"] = {}
    if sched.get("queue", "fifo") != policy:
        sched["queue"] = policy
        sched["options"] = {}
    d["seed"] = seed
    return d


def options_left_out(data: dict[str, Any], policies: Sequence[str]) -> dict[str, list[str]]:
    """For each of ``policies`` other than the scenario's own, the scenario's
    ``scheduler.options`` it takes too but runs without (:func:`with_policy` gives it
    none); only policies with some. Such a policy's figures differ from a ``gpuemu run
    --set scheduler.queue=POLICY`` of the scenario, which keeps them."""
    from emulator.policies.options import option_names
    from emulator.policies.registry import _queue_class

    sched = data.get("scheduler")
    sched = sched if isinstance(sched, dict) else {}
    options = sched.get("options")
    if not isinstance(options, dict) or not options:
        return {}
    own = sched.get("queue", "fifo")
    left: dict[str, list[str]] = {}
    for policy in policies:
        if policy == own:
            continue
        taken = set(option_names(_queue_class(policy)))
        shared = [name for name in options if name in taken]
        if shared:
            left[policy] = shared
    return left


def user_paths(issues: Sequence[str], cell: Any) -> list[str]:
    """``issues`` (``file:line: why`` lines of a run) naming the scenario's own files.

    A cell runs beside copies of the files its scenario names (:mod:`emulator.cells`), in a
    temporary folder gone once it ends; its trace rows are reported under those copies'
    names (``<temp folder>/gpuemu-cell-…/f0_trace.csv``), which are replaced here by the paths the
    scenario gave (as a ``gpuemu run`` of it reports them).
    """
    from emulator.cells import _file_refs

    found: dict[str, Path] = {}
    _file_refs(cell.data, Path(cell.source).parent, found, rewrite=False)
    if not found or not issues:
        return list(issues)
    copies = re.compile(r"[^\s:]*gpuemu-cell-[^/\\\s]*[/\\](" +
                        "|".join(re.escape(n) for n in found) + r")(?=:)")
    return [copies.sub(lambda m: str(found[m.group(1)]), text) for text in issues]


def run_compare(scenario: str | Path, policies: Sequence[str], seeds: int,
                overrides: Sequence[str] = (), workers: int = 1,
                progress: Callable[[RunMetrics, int, int], None] | None = None,
                executor: Executor | None = None, cache: Path | None = None,
                until_s: float | None = None) -> CompareResult:
    """Run every grid point × policy × seed of ``scenario``; ``progress`` after each run.

    The runs go to ``executor`` (default: :func:`emulator.executor.make_executor` with
    ``workers``); with ``cache`` a folder, finished runs are kept there and reused
    (:func:`emulator.cell_runner.run_cells`). ``until_s`` stops each run early.
    """
    from emulator.cell_runner import run_cells
    from emulator.cells import Cell
    from emulator.executor import make_executor
    from emulator.sweep_study import check_seeds

    path = Path(scenario)
    if not policies:
        raise UserError("--policies: expected a comma-separated list, e.g. fifo,backfill,las")
    if len(set(policies)) != len(policies):
        raise UserError(f"--policies: {','.join(policies)} names a policy twice")
    check_seeds(seeds)
    if workers < 1:
        raise UserError(f"--workers: got {workers}; expected at least 1")
    from emulator.loader import validate_scenario
    from emulator.policies.registry import make_queue_policy
    from emulator.sweep_study import scenario_seed, seeds_from

    points = expand_grid(overrides)
    swept = sorted({p.values["scheduler.queue"] for p in points
                    if "scheduler.queue" in p.values})
    if swept:  # with_policy replaces the queue of every point: the axis would do nothing
        raise UserError(f"--set scheduler.queue: got {','.join(swept)}; expected one value: "
                        "compare runs every policy named in --policies (e.g. --policies "
                        f"{','.join(swept)}), so a grid over it would repeat the same runs "
                        "at each point")
    cells: list[Cell] = []
    seed_list: list[int] = []
    for point in points:
        data = _scenario_data(path, point.overrides)
        seed_list = seeds_from(scenario_seed(data, str(path)), seeds)  # as run reads it
        for policy in policies:
            first = with_policy(data, policy, seed_list[0])
            sc = validate_scenario(first, source=str(path)).scenario  # fail before any run
            make_queue_policy(sc.scheduler.queue, dict(sc.scheduler.options))
            for seed in seed_list:
                cells.append(Cell(with_policy(data, policy, seed), str(path), "compare",
                                  until_s, {"point": point.label, "policy": policy,
                                            "seed": seed}))

    def as_run(cell: Cell, result: dict[str, Any]) -> RunMetrics:
        issues = user_paths(result.get("trace_issues", []), cell)
        return RunMetrics.from_json({**result, **cell.tags, "trace_issues": issues})

    def report(done: int, total: int, cell: Cell, result: dict[str, Any]) -> None:
        if progress is not None:
            progress(as_run(cell, result), done, total)

    own = executor is None
    ex = make_executor(workers) if executor is None else executor
    try:
        results = run_cells(cells, ex, cache, report)
    finally:
        if own:
            ex.close()
    runs = [as_run(c, r) for c, r in zip(cells, results, strict=True)]
    return CompareResult(str(path), list(policies), seed_list, points, runs)
