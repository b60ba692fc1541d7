"""Sweep studies: every ``--set`` grid point × seed of one scenario, one summary per cell.

``gpuemu sweep SCENARIO --set sites.0.halls.0.racks=2,4,8 --seeds 3`` makes one
:class:`~emulator.cells.Cell` per grid point (:func:`emulator.sweep.expand_grid`) and seed
(the scenario's seed, +1, …), runs them on an executor with the on-disk cache
(:func:`emulator.cell_runner.run_cells`) and turns each cell's ``summary.json`` into one flat
row (:func:`flatten`): ``point``, the swept values, ``seed``, ``wall_s``, ``trace_issues``
(malformed trace rows the run skipped; each is warned about once), then every scalar of the
summary under its dotted path (``requests.slo_attainment``,
``tenants.eu.requests.ttft_s.p99``, ``sites.bizerte-20mw.peak_facility_mw``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from emulator.cell_runner import run_cells
from emulator.cells import Cell
from emulator.errors import UserError
from emulator.executor import Executor, Progress
from emulator.sweep import GridPoint, expand_grid

__all__ = ["MAX_SEEDS", "SweepResult", "check_seeds", "flatten", "refuse_seed", "run_sweep",
           "scenario_seed", "seeds_from", "sweep_cells"]


def flatten(summary: Any, prefix: str = "") -> dict[str, Any]:
    """Every scalar of ``summary`` under its dotted path; list items that are mappings with
    a ``name`` go under that name, other lists are left out."""
    out: dict[str, Any] = {}
    if isinstance(summary, dict):
        for key, value in summary.items():
            out.update(flatten(value, f"{prefix}{key}."))
    elif isinstance(summary, list):
        for item in summary:
            if isinstance(item, dict) and isinstance(item.get("name"), str):
                out.update(flatten({k: v for k, v in item.items() if k != "name"},
                                   f"{prefix}{item['name']}."))
    else:
        out[prefix[:-1]] = summary
    return out


MAX_SEEDS = 10_000
"""Most seeds per point ``--seeds`` (and the API's ``seeds``) may ask for: each is a whole
run of every point, so a larger number is a mistyped option, not a study that can end."""

_MAX_SEED = 2**63 - 1
"""The largest scenario seed (``Scenario.seed``)."""


def check_seeds(n: int) -> int:
    """``n`` if it is a number of seeds per point (1 to :data:`MAX_SEEDS`), else the
    one-line error naming ``--seeds``."""
    if n < 1:
        raise UserError(f"--seeds: got {n}; expected at least 1")
    if n > MAX_SEEDS:
        raise UserError(f"--seeds: got {n}; expected at most {MAX_SEEDS} seeds per point")
    return n


def seeds_from(seed: int, n: int) -> list[int]:
    """``n`` seeds from the scenario's own (``seed``, as validated): ``seed, seed+1, …``."""
    check_seeds(n)
    if seed + n - 1 > _MAX_SEED:
        raise UserError(f"--seeds: got {n}; from the scenario's seed {seed} that passes the "
                        f"largest seed 2**63 - 1; expected at most {_MAX_SEED - seed + 1}")
    return [seed + i for i in range(n)]


def scenario_seed(data: dict[str, Any], source: str) -> int:
    """The seed of the scenario mapping ``data`` as the validated model has it (a quoted
    ``seed: "42"`` is 42, as ``gpuemu run`` reads it; a bad one is its one-line error)."""
    from emulator.loader import validate_scenario

    return validate_scenario(data, source=source).scenario.seed


def refuse_seed(paths: Sequence[str], option: str, study: str) -> None:
    """A one-line error when one of ``paths`` (``--set`` overrides or ``--vary`` paths) is
    the seed: a study's seeds come from ``--seeds``, so such a setting would be dropped."""
    if any(text.partition("=")[0].strip() == "seed" for text in paths):
        what = "override" if option == "--set" else "to vary"
        raise UserError(f"{option} seed: the seeds of a {study} come from --seeds (the "
                        f"scenario's seed, +1, …); expected no seed {what}")


def sweep_cells(scenario: Path, overrides: Sequence[str], seeds: int,
                until_s: float | None = None, data: Mapping[str, Any] | None = None
                ) -> tuple[list[GridPoint], list[int], list[Cell]]:
    """The grid points, the seeds and one summary cell per point and seed; ``data`` is the
    scenario mapping when it is not read from the file ``scenario`` (which then only names
    where relative paths resolve from)."""
    import copy

    from emulator.loader import apply_override, parse_override, read_yaml

    refuse_seed(overrides, "--set", "sweep")
    check_seeds(seeds)
    points = expand_grid(overrides)
    seed_list: list[int] = []
    cells = []
    for point in points:
        point_data = read_yaml(scenario) if data is None else copy.deepcopy(dict(data))
        for text in point.overrides:
            keys, value = parse_override(text)
            apply_override(point_data, keys, value)
        if not seed_list:  # no seed override: every point has the file's seed
            seed_list = seeds_from(scenario_seed(point_data, str(scenario)), seeds)
        for seed in seed_list:
            cells.append(Cell({**point_data, "seed": seed}, str(scenario), "summary", until_s,
                              {"point": point.label, "values": dict(point.values),
                               "seed": seed}))
    return points, seed_list, cells


@dataclass
class SweepResult:
    """The rows of a sweep (one per cell, in grid then seed order) and its settings."""

    scenario: str
    points: list[GridPoint]
    seeds: list[int]
    rows: list[dict[str, Any]]
    until_s: float | None = None


def run_sweep(scenario: Path, overrides: Sequence[str], seeds: int, executor: Executor,
              cache: Path | None = None, until_s: float | None = None,
              progress: Progress | None = None, data: Mapping[str, Any] | None = None
              ) -> SweepResult:
    """Run every point × seed (cached cells reused); one flat row per cell (``data``: see
    :func:`sweep_cells`)."""
    from emulator.cli_common import _warn_trace_issues as warn_trace_issues
    from emulator.compare import user_paths

    points, seed_list, cells = sweep_cells(scenario, overrides, seeds, until_s, data)
    results = run_cells(cells, executor, cache, progress)
    rows = []
    skipped: dict[str, None] = {}
    for cell, result in zip(cells, results, strict=True):
        issues = user_paths(result.get("trace_issues", []), cell)
        skipped.update(dict.fromkeys(issues))
        row: dict[str, Any] = {"point": cell.tags["point"], **cell.tags["values"],
                               "seed": cell.tags["seed"], "wall_s": result.get("wall_s"),
                               "trace_issues": len(issues)}
        row.update(flatten(result["summary"]))
        rows.append(row)
    warn_trace_issues(list(skipped))  # each malformed row once, as gpuemu run does
    return SweepResult(str(scenario), points, seed_list, rows, until_s)
