"""Collect a finished run's results from its log and write them to the output folder."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from emulator.build import Simulation
from emulator.errors import UserError, short
from emulator.eventlog import EventLog, Infra
from emulator.export import write_json, write_parquet
from emulator.failure_metrics import failure_summary, failures_table
from emulator.multisite import add_site_results
from emulator.outputs import Writer, write_result_set
from emulator.summary import build_summary
from emulator.table_conventions import with_conventions
from emulator.tables import (
    events_table,
    infra_table,
    jobs_table,
    placements_table,
    rack_util_table,
    requests_table,
    timeseries_table,
)

__all__ = ["Results", "collect", "output_dir", "write_results"]


@dataclass(frozen=True)
class Results:
    """Summary and tables of one run."""

    summary: dict[str, Any]
    tables: dict[str, dict[str, np.ndarray]]


def _policy_switches(log: EventLog) -> dict[str, Any]:
    """``switches`` (when the queue policy was switched: time in s and the policy from then
    on) and ``final_queue``, from the log's infrastructure events; nothing without any."""
    kinds = np.asarray(log.infra_kind, dtype=np.int64)
    rows = np.flatnonzero(kinds == Infra.POLICY)
    if not rows.size:
        return {}
    names = infra_table(log)["label"][rows]
    times = np.asarray(log.infra_t, dtype=np.float64)[rows]
    return {"switches": [{"t_s": float(t), "queue": str(n)} for t, n in zip(times, names,
                                                                          strict=True)],
            "final_queue": str(names[-1])}


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
        "scheduler": {"queue": sc.scheduler.queue, "placement": sc.scheduler.placement,
                      **_policy_switches(sim.log)},
        "compute": {"backend": sim.backend.name, "device": sim.backend.device,
                    "profile": sc.compute.profile,
                    "fused_kernels": sc.compute.fused_kernels},
        "event_log_sha256": sim.log.digest(),
        **summary,
    }
    if sim.ended_when_done:  # the figures cover the time simulated, not the duration
        summary["ended_early"] = {"reason": "every job ended (engine.stop_when_done)",
                                  "at_s": float(sim.horizon_s),
                                  "planned_s": float(sim.planned_s)}
    tables = {
        "jobs": jobs_table(sim.log, sim.works),
        "timeseries": timeseries_table(sim.log),
        "events": events_table(sim.log),
        "placements": placements_table(sim.log),
    }
    racks = rack_util_table(sim.log)
    if racks is not None:
        tables["rack_util"] = racks
    if len(sim.log.infra_t):
        tables["infra"] = infra_table(sim.log)
    if include_requests:
        tables["requests"] = requests_table(sim.log, sim.works)
    failures = sim.engine.failures
    if failures is not None and (failures.plan.configs or failures.applied):
        # sites with a failures: section, or failures injected into the run
        summary["failures"] = failure_summary(sim.log, sim.works, sim.horizon_s, idx.n_gpus,
                                             idx.gpu_site, idx.site_names)
        tables["failures"] = failures_table(sim.log)
    add_site_results(summary, tables, sim.ops, sim.log, sim.works)  # energy, routing, WAN
    return Results(summary=summary, tables=with_conventions(tables, sc.start, _currencies(sim)))


def _currencies(sim: Simulation) -> dict[str, tuple[str, float]]:
    """Site name → (currency code, US dollars per unit), for sites with an energy model."""
    energy = sim.ops.energy if sim.ops is not None else None
    if energy is None:
        return {}
    return {site.name: (str(code), float(usd)) for site, code, usd in
            zip(sim.ops.sites, energy.currency, energy.usd_per_unit.tolist(), strict=True)}


def output_dir(template: str, name: str, seed: int) -> Path:
    """The output folder for a run: ``{name}`` and ``{seed}`` expanded.

    The scenario name cannot hold a path separator (see :data:`emulator.scenario.NAME_PATTERN`);
    a name that could still leave the template's folder is refused here as well.
    """
    if not name or "/" in name or "\\" in name or name.startswith(".") or "\0" in name:
        raise UserError(f"name: got {short(name)}; expected a name that is also a folder name "
                        "(no '/', no leading '.')")
    return Path(template.replace("{name}", name).replace("{seed}", str(seed)))


def write_results(out: Path, results: Results, run_info: dict[str, Any],
                  extra: dict[str, str] | None = None,
                  binary: dict[str, bytes] | None = None) -> list[Path]:
    """Write ``summary.json``, one Parquet file per table, the ``extra`` text files and the
    ``binary`` files (a report, a trace) as one crash-safe result set
    (:func:`emulator.outputs.write_result_set`)."""
    files: dict[str, Writer] = {}
    for name, columns in results.tables.items():
        files[f"{name}.parquet"] = partial(write_parquet, columns=columns)
    for name, text in (extra or {}).items():
        files[name] = partial(_write_text, text=text)
    for name, content in (binary or {}).items():
        files[name] = partial(_write_bytes, content=content)
    files["summary.json"] = partial(write_json, data={**results.summary, "run": run_info})
    info = {k: run_info[k] for k in ("command", "seed", "until", "versions") if k in run_info}
    return write_result_set(out, files, info)


def _write_text(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")


def _write_bytes(path: Path, content: bytes) -> None:
    path.write_bytes(content)
