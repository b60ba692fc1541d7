"""Collect a finished run's results from its log and write them to the output folder."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from emulator.build import Simulation
from emulator.export import write_json, write_parquet
from emulator.multisite import add_site_results
from emulator.summary import build_summary
from emulator.tables import (
    events_table,
    infra_table,
    jobs_table,
    placements_table,
    requests_table,
    timeseries_table,
)

__all__ = ["Results", "collect", "output_dir", "write_results"]


@dataclass(frozen=True)
class Results:
    """Summary and tables of one run."""

    summary: dict[str, Any]
    tables: dict[str, dict[str, np.ndarray]]


def collect(sim: Simulation, include_requests: bool = True) -> Results:
    """Summary and tables computed from ``sim``'s event log."""
    sc = sim.loaded.scenario
    sites = sim.loaded.sites
    idx = sim.index
    site_gpus = np.bincount(idx.gpu_site, minlength=len(sites))
    summary = build_summary(sim.log, sim.works, sim.horizon_s, idx.n_gpus,
                            [s.grid_connection for s in sites], site_gpus.tolist())
    summary = {
        "scenario": sc.name,
        "seed": sc.seed,
        "scheduler": {"queue": sc.scheduler.queue, "placement": sc.scheduler.placement},
        "compute": {"backend": sim.backend.name, "device": sim.backend.device,
                    "profile": sc.compute.profile,
                    "fused_kernels": sc.compute.fused_kernels},
        "event_log_sha256": sim.log.digest(),
        **summary,
    }
    tables = {
        "jobs": jobs_table(sim.log, sim.works),
        "timeseries": timeseries_table(sim.log),
        "events": events_table(sim.log),
        "placements": placements_table(sim.log),
    }
    if len(sim.log.infra_t):
        tables["infra"] = infra_table(sim.log)
    if include_requests:
        tables["requests"] = requests_table(sim.log, sim.works)
    add_site_results(summary, tables, sim.ops, sim.log, sim.works)  # energy, routing, WAN
    return Results(summary=summary, tables=tables)


def output_dir(template: str, name: str, seed: int) -> Path:
    """The output folder for a run: ``{name}`` and ``{seed}`` expanded."""
    return Path(template.replace("{name}", name).replace("{seed}", str(seed)))


def write_results(out: Path, results: Results, run_info: dict[str, Any]) -> list[Path]:
    """Write ``summary.json`` and one Parquet file per table, each atomically."""
    written = []
    for name, columns in results.tables.items():
        path = out / f"{name}.parquet"
        write_parquet(path, columns)
        written.append(path)
    path = out / "summary.json"
    write_json(path, {**results.summary, "run": run_info})
    written.append(path)
    return written
