"""An up-front size estimate of a scenario: jobs, requests, events and memory.

Computed from the validated scenario alone (arrival rates × time, trace row counts,
sampling periods, GPU counts), before anything is generated, so ``gpuemu validate``
can show it at once and ``gpuemu run`` can refuse a scenario far beyond the machine
(``racks: 1000000``, ``rate: 1e5/s`` for a year) instead of running out of memory after
minutes. The figures are expected values (Poisson means), good to a factor of about two:
they are a guard rail, not a forecast.

Per-item memory costs (bytes) are estimates from the array layouts: a request keeps its
arrival time, token counts and results (about 20 float/int columns of 8 bytes, plus event
log and table copies); a job keeps its spec, state and log rows; a GPU its index and
state arrays; a sample one row per tenant, site and (small sites) rack.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

from emulator.errors import UserError
from emulator.loader import LoadedScenario
from emulator.units import UnitError, format_bytes, parse_bytes
from topologies.sizing import size_site
from workloads.traces.mapping import resolve_trace_path

__all__ = ["BUDGET_ENV", "DEFAULT_BUDGET_BYTES", "SizeEstimate", "budget_bytes",
           "estimate_size"]

BUDGET_ENV = "GPUEMU_MAX_MEMORY"
"""Environment variable holding the memory budget (e.g. ``32GB``)."""
DEFAULT_BUDGET_BYTES = 16e9
"""Default memory budget of ``gpuemu run`` (bytes): a run estimated above it is refused."""

_BYTES_PER_REQUEST = 400.0
_BYTES_PER_JOB = 4000.0
_BYTES_PER_GPU = 400.0
_BYTES_PER_SAMPLE_ROW = 200.0
_BYTES_PER_EVENT = 64.0
_BASE_BYTES = 300e6  # interpreter, numpy, pyarrow, simpy loaded
_EVENTS_PER_JOB = 8.0


@dataclass(frozen=True)
class SizeEstimate:
    """Expected counts of one run and the memory they need (bytes)."""

    gpus: int
    racks: int
    jobs: float
    requests: float
    events: float
    memory_bytes: float

    def line(self) -> str:
        """One line: ``size estimate: 9,216 GPUs, ~1,300 jobs, …``."""
        return (f"size estimate: {self.gpus:,} GPUs in {self.racks:,} racks, "
                f"~{self.jobs:,.0f} training jobs, ~{self.requests:,.0f} inference requests, "
                f"~{self.events:,.0f} events, ~{format_bytes(self.memory_bytes)} memory")


def _rows(path: Path) -> int:
    """Data rows of a trace file (lines less a header; 0 when unreadable)."""
    try:
        with path.open("rb") as fh:
            return max(0, sum(1 for _ in fh) - (0 if path.suffix == ".jsonl" else 1))
    except OSError:
        return 0


def estimate_size(loaded: LoadedScenario, until_s: float | None = None) -> SizeEstimate:
    """The :class:`SizeEstimate` of ``loaded`` (no workload is generated), run to
    ``until_s`` (s) when that is before the scenario's end (``--until``)."""
    sc = loaded.scenario
    horizon = sc.duration if until_s is None else min(sc.duration, until_s)
    base = Path(loaded.source).parent
    sizes = [size_site(s) for s in loaded.sites]
    gpus = sum(s.gpus for s in sizes)
    racks = sum(s.racks for s in sizes)
    jobs = 0.0
    requests = 0.0
    services = 0
    for tenant in sc.tenants.values():
        jobs += len(tenant.jobs)
        for wl in tenant.training:
            n = wl.rate * max(0.0, horizon - wl.start)
            jobs += min(n, wl.max_jobs) if wl.max_jobs is not None else n
        for tr in tenant.traces:
            rows = _rows(resolve_trace_path(tr.path, base))
            jobs += min(rows, tr.limit) if tr.limit is not None else rows
        for svc in tenant.inference:
            services += 1
            span = max(0.0, horizon - svc.start)
            if svc.rate is not None:
                requests += svc.rate * span
            elif svc.trace is not None:
                rows = _rows(resolve_trace_path(svc.trace.path, base))
                rows = min(rows, svc.trace.limit) if svc.trace.limit is not None else rows
                # a repeated trace tiles the run; without its span, assume one tile an hour
                requests += rows * (max(1.0, span / 3600.0) if svc.trace.repeat else 1.0)
    samples = horizon / sc.engine.sample_interval
    windows = horizon / sc.engine.serving_window * services
    sample_rows = samples * (len(sc.tenants) + len(loaded.sites) + min(racks, 256))
    events = jobs * _EVENTS_PER_JOB + windows + samples + requests / 100.0
    # Without request rows (output.requests: false) requests are reduced into per-window
    # statistics as they are served and hold no memory of their own.
    per_request = _BYTES_PER_REQUEST if sc.output.requests else 0.0
    memory = (_BASE_BYTES + requests * per_request + jobs * _BYTES_PER_JOB
              + gpus * _BYTES_PER_GPU + sample_rows * _BYTES_PER_SAMPLE_ROW
              + events * _BYTES_PER_EVENT)
    return SizeEstimate(gpus=gpus, racks=racks, jobs=jobs, requests=requests,
                        events=events, memory_bytes=memory)


def budget_bytes(option: str | None = None) -> float:
    """The memory budget: ``option`` (``--max-memory``), else ``$GPUEMU_MAX_MEMORY``, else
    :data:`DEFAULT_BUDGET_BYTES`."""
    text = option if option is not None else os.environ.get(BUDGET_ENV)
    if text is None:
        return DEFAULT_BUDGET_BYTES
    where = "--max-memory" if option is not None else BUDGET_ENV
    try:
        value = parse_bytes(text)
    except UnitError as exc:
        raise UserError(f"{where}: {exc}") from None
    if not value > 0 or not math.isfinite(value):
        raise UserError(f"{where}: got {text!r}; expected a positive size such as 32GB")
    return value
