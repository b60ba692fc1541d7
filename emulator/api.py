"""The Python API for notebooks and scripts: run a scenario, get pandas DataFrames.

>>> from emulator import api
>>> res = api.run("examples/bizerte_20mw.yaml", until="2h", seed=1)   # doctest: +SKIP
>>> res.jobs[["name", "n_gpus", "submit_time", "jct_s"]].head()              # doctest: +SKIP
>>> res.summary["requests"]["slo_attainment"]                             # doctest: +SKIP

:func:`run` accepts a scenario file path, a mapping shaped like a scenario file, a
validated :class:`~emulator.scenario.Scenario` or what :func:`emulator.loader.load_scenario`
returns; ``overrides`` are ``--set`` strings
(``"sites.0.halls.1.racks=8"``); every call builds a fresh simulation, so calling it
again (in a loop, a notebook cell run twice) is always safe. :func:`sweep` runs many
variants on the same executors as ``gpuemu sweep`` (:mod:`emulator.executor`).

The :class:`Result` frames come from the run's event log (:mod:`emulator.tables`), in SI
units, with a datetime column (UTC, from the scenario's ``start``) beside each absolute
time column: ``submit_s`` → ``submit_time``, ``t_s`` → ``time`` and so on. A missing
figure is NaN, never infinite (null in the Parquet files ``Result.write`` writes): e.g.
``energy.cap_w`` of a site without a power cap.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from emulator import api_args
from emulator.errors import UserError, short
from emulator.loader import LoadedScenario
from emulator.scenario import Scenario

__all__ = ["FAILURE_COLUMNS", "Result", "run", "sweep"]

_TIME_COLUMNS = {"submit_s": "submit_time", "start_s": "start_time", "end_s": "end_time",
                 "arrival_s": "arrival_time", "t_s": "time"}
"""Absolute simulated times (s since ``start``) and the datetime column beside each (the
names the Parquet tables use)."""

FAILURE_COLUMNS = ("t_s", "time", "event", "gpus", "label")
"""Columns of :attr:`Result.failures`: when GPUs went out of (``gpus_down``, ``failure``)
or back into (``gpus_up``, ``repair``) service, how many, and why (a failure's label is its
class); from the infra events of the log (per-class figures: ``Result.summary["failures"]``).
Empty (these columns, no rows) when the run had none."""


def _missing_not_infinite(col: np.ndarray) -> np.ndarray:
    """``col`` with ±inf as NaN (a float column): the result tables' convention
    (:mod:`emulator.arrow_columns`) is that a figure is finite or missing, so an uncapped
    site's ``cap_w`` reads as missing here as it does (null) in ``energy.parquet``."""
    col = np.asarray(col)
    if col.dtype.kind != "f" or not np.isinf(col).any():
        return col
    return np.where(np.isinf(col), np.nan, col)


def _frame(columns: Mapping[str, np.ndarray], start: dt.datetime) -> pd.DataFrame:
    """A DataFrame of ``columns`` (non-finite figures as NaN, as null in the Parquet files)
    with a UTC datetime column beside each absolute time."""
    df = pd.DataFrame({k: _missing_not_infinite(v) for k, v in columns.items()})
    for col, name in _TIME_COLUMNS.items():
        if col not in df.columns:
            continue
        if name in df.columns:  # the table has it already (UTC wall time): mark it UTC
            if getattr(df[name].dt, "tz", None) is None:
                df[name] = df[name].dt.tz_localize("UTC")
            continue
        seconds = pd.to_numeric(df[col], errors="coerce")
        df.insert(df.columns.get_loc(col) + 1, name,
                  pd.Timestamp(start) + pd.to_timedelta(seconds, unit="s"))
    return df


def _failures(tables: Mapping[str, Mapping[str, np.ndarray]], start: dt.datetime) -> pd.DataFrame:
    infra = tables.get("infra")
    if infra is None:
        empty = {"t_s": np.empty(0), "event": np.empty(0, object), "gpus": np.empty(0),
                 "label": np.empty(0, object)}
        return _frame(empty, start)[list(FAILURE_COLUMNS)]
    keep = np.isin(infra["event"], ["gpus_down", "gpus_up", "failure", "repair"])
    cols = {"t_s": infra["t_s"][keep], "event": infra["event"][keep],
            "gpus": infra["value"][keep], "label": infra["label"][keep]}
    return _frame(cols, start)[list(FAILURE_COLUMNS)]


@dataclass
class Result:
    """One finished run: its summary and its tables as DataFrames.

    ``jobs`` one row per training job or inference service; ``requests`` one row per
    inference request (empty unless the scenario keeps them, ``output.requests``);
    ``timeseries`` one row per sample and site (power W, busy GPUs, queues); ``energy``
    one row per energy sample and site (empty without an ``energy`` section);
    ``failures`` see :data:`FAILURE_COLUMNS`; ``summary`` the ``summary.json`` mapping.
    ``run_info`` is what :meth:`write` puts under ``run`` in ``summary.json``, as ``gpuemu
    run`` does: wall time (s), seed, ``until_s`` and the replayed traces' rows
    (``trace_issues``: malformed rows; ``trace_rows``: those and rows skipped, dropped or
    adjusted, by reason); each malformed row is also logged as a warning.
    """

    summary: dict[str, Any]
    jobs: pd.DataFrame
    requests: pd.DataFrame
    timeseries: pd.DataFrame
    energy: pd.DataFrame
    failures: pd.DataFrame
    start: dt.datetime
    tables: dict[str, dict[str, np.ndarray]] = field(repr=False, default_factory=dict)
    run_info: dict[str, Any] = field(repr=False, default_factory=dict)
    resolved_yaml: str = field(repr=False, default="")

    def __repr__(self) -> str:
        frames = ", ".join(f"{name}={len(getattr(self, name)):,} rows" for name in
                           ("jobs", "requests", "timeseries", "energy", "failures"))
        return (f"Result(scenario={self.summary.get('scenario')!r}, "
                f"seed={self.summary.get('seed')}, {frames})")

    def write(self, folder: str | Path) -> Path:
        """Write the run's output folder (as ``gpuemu run --out folder`` would)."""
        from emulator.provenance import RESOLVED_NAME
        from emulator.results import Results, write_results

        out = api_args.folder("folder", folder)
        write_results(out, Results(self.summary, self.tables), self.run_info,
                      {RESOLVED_NAME: self.resolved_yaml})
        return out

    def report(self, path: str | Path) -> Path:
        """Write the run folder at ``path`` with the HTML report (and its PNG figures) in
        it, as ``gpuemu run --report`` does; the path of ``report.html``.

        The report is drawn by :mod:`emulator.report` from the folder's files (imported
        here, when asked for).
        """
        from emulator.outputs import add_to_result_set  # type: ignore[attr-defined]
        from emulator.report.assemble import report_files  # type: ignore[import-not-found]
        from emulator.report.rundata import load_run  # type: ignore[import-not-found]

        folder = self.write(api_args.folder("path", path))
        add_to_result_set(folder, report_files(load_run(folder)))
        return folder / "report.html"


def _scenario_mapping(scenario: str | Path | Mapping[str, Any] | LoadedScenario
                      ) -> tuple[dict[str, Any], str]:
    """The scenario as a mapping and the source path relative files resolve from (what
    :func:`emulator.loader.load_scenario` returns gives the mapping it was read from)."""
    from emulator.loader import read_yaml

    if isinstance(scenario, LoadedScenario) and scenario.data is not None:
        return copy.deepcopy(scenario.data), scenario.source
    if isinstance(scenario, Mapping):
        return copy.deepcopy(dict(scenario)), "<scenario>"
    if isinstance(scenario, str | Path):
        return read_yaml(scenario), str(scenario)
    raise UserError(f"scenario: got {type(scenario).__name__}; expected a path, a mapping, "
                    "a Scenario or what load_scenario returns")


def _from_model(model: Scenario, overrides: Sequence[str], seed: int | None) -> Any:
    """A validated scenario model, its sites resolved; ``seed`` replaced. ``--set`` strings
    address file paths, so they need the mapping, not the model."""
    from topologies.presets import resolve_site

    if overrides:
        raise UserError("overrides: a Scenario model takes no override strings; expected a "
                        "path or mapping with overrides, or model.model_copy(update=…)")
    if seed is not None:
        model = model.model_copy(update={"seed": seed})
    sites = tuple(resolve_site(ref.preset, ref.overrides()) for ref in model.sites)
    return LoadedScenario(scenario=model, sites=sites, source="<scenario>")


_BACKENDS = ("auto", "numpy", "cupy")
"""What :func:`run`'s ``backend`` accepts (``compute.backend``'s values)."""


def run(scenario: Scenario | LoadedScenario | str | Path | Mapping[str, Any],
        overrides: Sequence[str] = (),
        until: str | float | None = None, seed: int | None = None,
        backend: str | None = None) -> Result:
    """Build a fresh simulation of ``scenario``, run it, return its :class:`Result`.

    ``overrides`` are ``--set`` strings (``"KEY.PATH=VALUE"``); ``until`` stops early (a
    duration such as ``"6h"`` or seconds); ``seed`` replaces the scenario's seed;
    ``backend`` is ``auto``, ``numpy`` or ``cupy``. Mistakes raise
    :class:`~emulator.errors.UserError` with one line naming the field.
    """
    from emulator.build import build
    from emulator.cli_common import _trace_rows, _warn_trace_issues
    from emulator.loader import apply_override, parse_override, validate_scenario
    from emulator.provenance import resolved_yaml, versions
    from emulator.results import collect

    if backend is not None and (not isinstance(backend, str) or backend not in _BACKENDS):
        raise UserError(f"backend: got {short(backend)}; expected one of "
                        f"{', '.join(_BACKENDS)} (or None: the scenario's compute.backend)")
    overrides = api_args.overrides_list(overrides)
    seed = api_args.seed(seed)
    until_s = api_args.until_s(until)
    if isinstance(scenario, LoadedScenario):  # what load_scenario returns: its sites kept
        loaded = _from_model(scenario.scenario, overrides, seed)
        data = copy.deepcopy(scenario.data) if scenario.data is not None else None
        if data is not None:
            data["seed"] = loaded.scenario.seed
        loaded = LoadedScenario(scenario=loaded.scenario, sites=scenario.sites,
                                source=scenario.source, data=data)
    elif isinstance(scenario, Scenario):
        loaded = _from_model(scenario, overrides, seed)
    else:
        data, source = _scenario_mapping(scenario)
        for text in overrides:
            keys, value = parse_override(text, api_args.OVERRIDES)
            apply_override(data, keys, value, api_args.OVERRIDES)
        if seed is not None:
            data["seed"] = seed
        loaded = validate_scenario(data, source=source)
    source = loaded.source
    sim = build(loaded, backend=backend)
    _warn_trace_issues(sim.trace_issues)  # as gpuemu run does: file:line of each bad row
    sim.run(until=until_s)
    res = collect(sim, include_requests=True)
    start = loaded.scenario.start
    tables = res.tables
    energy = tables.get("energy")
    return Result(
        summary=res.summary,
        jobs=_frame(tables["jobs"], start),
        requests=_frame(tables["requests"], start),
        timeseries=_frame(tables["timeseries"], start),
        energy=_frame(energy, start) if energy is not None else _empty_energy(loaded, start),
        failures=_failures(tables, start),
        start=start,
        tables=tables,
        run_info={"wall_s": round(sim.wall_s, 3), "simulated_s": sim.horizon_s,
                  "source": source, "seed": loaded.scenario.seed, "until_s": until_s,
                  "trace_issues": sum(1 for i in sim.trace_issues if i.kind == "malformed"),
                  "trace_rows": _trace_rows(sim.trace_issues),
                  "command": "emulator.api.run", "versions": versions()},
        resolved_yaml=resolved_yaml(loaded, ["emulator.api.run"]),
    )


def _empty_energy(loaded: Any, start: dt.datetime) -> pd.DataFrame:
    """The energy frame's columns with no rows (a scenario without an energy section)."""
    from emulator.energy.accounting import energy_table

    return _frame(energy_table([], [s.name for s in loaded.sites]), start)


def sweep(scenario: str | Path | Mapping[str, Any] | LoadedScenario,
          overrides: str | Sequence[str] = (), seeds: int | str = 1,
          until: str | float | None = None, workers: int | str | None = 1,
          scheduler: str | None = None, cache: str | Path | None = None) -> pd.DataFrame:
    """Every grid point × seed of a scenario (``overrides`` as ``gpuemu sweep --set``:
    ``"sites.0.halls.0.racks=2,4,8"`` is an axis; one string is one override), one row per
    run: the point, the swept values, the seed and every scalar of its summary by dotted
    path.

    ``scenario`` is a file path, a mapping shaped like a scenario file or what
    :func:`emulator.loader.load_scenario` returns (a validated ``Scenario`` model takes no
    override grid: a one-line :class:`~emulator.errors.UserError`, as for :func:`run`).
    ``seeds`` is how many seeds per point (an int from 1 to
    :data:`~emulator.sweep_study.MAX_SEEDS` = 10,000, or a string of one, as the CLI's
    ``--seeds``): the scenario's seed, +1, …; ``until`` stops each run early (a duration
    such as ``"6h"`` or seconds). ``workers`` > 1 (at most
    :data:`~emulator.executor.MAX_WORKERS` = 1,024, as ``--workers``) runs on a local dask
    cluster (``None``: one worker per CPU), ``scheduler`` (``"tcp://host:8786"``) on a
    running one, whose own workers run the cells (``workers`` then stays 1 or ``None``);
    with ``cache`` a folder, finished runs are kept there and reused. A mistake in any argument
    is one :class:`~emulator.errors.UserError` line naming it (``seeds: got 0; expected …``).
    """
    from emulator.executor import MAX_WORKERS, make_executor
    from emulator.sweep_study import MAX_SEEDS, run_sweep

    overrides = api_args.overrides_list(overrides)
    n_seeds = api_args.count("seeds", seeds, "a number of seeds per point", MAX_SEEDS)
    until_s = api_args.until_s(until)
    n_workers = None if workers is None else api_args.count("workers", workers,
                                                            "a number of workers", MAX_WORKERS)
    address = api_args.scheduler(scheduler)
    if address is not None and n_workers == 1:  # the default: the scheduler's workers run
        n_workers = None
    cache_dir = api_args.cache_folder(cache)
    if isinstance(scenario, Scenario | LoadedScenario) and not (
            isinstance(scenario, LoadedScenario) and scenario.data is not None):
        raise UserError("scenario: a Scenario model takes no override grid; expected a path "
                        "or a mapping shaped like a scenario file")
    data, source = _scenario_mapping(scenario)
    _check_grid(data, overrides)
    with api_args.api_words(), make_executor(n_workers, address) as executor:
        result = run_sweep(Path(source), overrides, n_seeds, executor, cache_dir, until_s,
                           data=data)
    return pd.DataFrame(result.rows)


def _check_grid(data: Mapping[str, Any], overrides: Sequence[str]) -> None:
    """Apply every grid point's overrides to a copy of ``data``, so that a mistake in one
    is an error naming ``overrides`` before anything runs (not ``--set``, as the sweep
    would name it)."""
    from emulator.loader import apply_override, parse_override
    from emulator.sweep import expand_grid

    for text in overrides:
        if text.partition("=")[0].strip() == "seed":
            raise UserError(f"overrides: got {short(text)}; the seeds of a sweep come from "
                            "seeds= (the scenario's seed, +1, …); expected no seed override")
    for point in expand_grid(overrides, api_args.OVERRIDES):
        point_data = copy.deepcopy(dict(data))
        for text in point.overrides:
            keys, value = parse_override(text, api_args.OVERRIDES)
            apply_override(point_data, keys, value, api_args.OVERRIDES)
