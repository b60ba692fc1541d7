"""Predictions of serving runs under load (round 13) from the emulator's own serving model.

Every other validation row evaluates the kernels at a fixed batch. These rows send a
benchmark's requests to one replica and read back what the emulator's serving simulation
(queueing, batching, prefill steps between decode steps, host time) makes of them: the
scenario a user would write (one inference service, one replica on the row's GPU system),
its requests replayed from a serving trace of exactly the benchmark's ``requests``
arrivals, Poisson at the row's rate with a fixed seed (all at time 0 at the infinite rate),
the row's prompt and output lengths, runtime and chunking; every engine setting at its
default, as the page states none (``window_s`` overrides the serving window, 60 s by
default, for the sensitivity reported beside the round: a benchmark of 25 s to 250 s spans
one to five default windows; when the round was computed blind the model took a window's
time per output token from the window before). The run lasts an hour, long enough for
every request to finish (checked). Mean time to first token and mean inter-token latency are
the means over the requests; output throughput is the output tokens over the time from the
first arrival to the last token.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from emulator.build import build
from emulator.loader import validate_scenario
from tests.validation_cases import OnlineRow

__all__ = ["ARRIVAL_SEED", "online_predictions", "online_run", "online_scenario"]

ARRIVAL_SEED = 20241001
"""Seed of the Poisson arrival times (one stream per run, the same for every row)."""

_HORIZON_S = 3600.0  # long enough for 500 requests at the slowest rate to finish (checked)


def _arrivals(qps: float, requests: int) -> np.ndarray:
    """Arrival times (s from the first): Poisson at ``qps``, or all at 0 when infinite."""
    if math.isinf(qps):
        return np.zeros(requests)
    gaps = np.random.default_rng(ARRIVAL_SEED).exponential(1.0 / qps, requests)
    times = np.cumsum(gaps)
    return times - times[0]


def _write_trace(path: Path, times: np.ndarray, prompt: int, output: int) -> None:
    """An Azure LLM 2023 trace (``TIMESTAMP,ContextTokens,GeneratedTokens``) of the
    arrivals, 100 ns resolution, from midnight of 2024-01-01."""
    lines = ["TIMESTAMP,ContextTokens,GeneratedTokens"]
    for t in times:
        ticks = round(float(t) * 1e7)
        whole, frac = divmod(ticks, 10**7)
        hours, rest = divmod(whole, 3600)
        lines.append(f"2024-01-01 {hours:02d}:{rest // 60:02d}:{rest % 60:02d}.{frac:07d},"
                     f"{prompt},{output}")
    path.write_text("\n".join(lines) + "\n")


def online_scenario(row: OnlineRow, trace: Path, window_s: float | None = None,
                    with_decode: bool | None = None) -> dict[str, object]:
    """The scenario of ``row``'s run: one replica on the row's system, its requests
    replayed from ``trace`` (an Azure LLM 2023 file, :func:`_write_trace`), every engine
    setting at its default (``window_s``: the serving window, s; ``with_decode``: the
    service's ``prefill_with_decode``; ``None``: the defaults)."""
    service: dict[str, object] = {
        "name": "service", "model": row.model, "replicas": 1,
        "gpus_per_replica": row.tp, "precision": row.precision,
        "runtime": row.runtime, "chunked_prefill": row.chunked_prefill,
        "trace": {"kind": "azure_llm", "path": str(trace)}}
    if with_decode is not None:
        service["prefill_with_decode"] = with_decode
    return {
        "name": "online-run", "seed": 1, "duration": _HORIZON_S,
        "sites": [{"preset": "hybrid-45kw",
                   "halls": [{"name": "bench", "system": row.system, "racks": 1}]}],
        "tenants": {"bench": {"origin": "local", "inference": [service]}},
        "compute": {"backend": "numpy"},
        "engine": {} if window_s is None else {"serving_window": window_s},
        "output": {"requests": True},
    }


def online_run(row: OnlineRow, window_s: float | None = None) -> tuple[float, float, float]:
    """(mean TTFT s, mean inter-token latency s, output tokens/s) of the row's run
    (``window_s``: the serving window, s; ``None``: the engine's default)."""
    with tempfile.TemporaryDirectory() as folder:
        trace = Path(folder) / "requests.csv"
        _write_trace(trace, _arrivals(row.qps, row.requests), row.prompt, row.output)
        scenario = online_scenario(row, trace, window_s)
        sim = build(validate_scenario(scenario), backend="numpy")
        sim.run()
    batches = [b for b in sim.log.requests if b.arrival_s.size]
    arrival = np.concatenate([b.arrival_s for b in batches])
    if arrival.size != row.requests:
        raise AssertionError(f"{row.name}: {arrival.size} of {row.requests} requests finished")
    ttft = np.concatenate([b.ttft_s for b in batches])
    tpot = np.concatenate([b.tpot_s for b in batches])
    e2e = np.concatenate([b.e2e_s for b in batches])
    tokens = np.concatenate([b.output_tokens for b in batches])
    span = float(np.max(arrival + e2e) - np.min(arrival))
    return float(np.mean(ttft)), float(np.mean(tpot)), float(tokens.sum()) / span


def online_predictions(rows: Sequence[OnlineRow], window_s: float | None = None) -> np.ndarray:
    """The predicted value of each row, in its own unit (one run per distinct benchmark;
    ``window_s`` as in :func:`online_run`)."""
    runs: dict[tuple[object, ...], tuple[float, float, float]] = {}
    out = []
    for row in rows:
        key = (row.model, row.system, row.precision, row.tp, row.prompt, row.output, row.qps,
               row.requests, row.runtime, row.chunked_prefill)
        if key not in runs:
            runs[key] = online_run(row, window_s)
        ttft, itl, tput = runs[key]
        out.append({"ttft": ttft, "itl": itl, "throughput": tput}[row.kind])
    return np.array(out)
