"""Round 13's runs through the token-level reference: is a miss the window model's or the kernels'?

Each round-13 benchmark (``tests/validation_cases.py``, ``ONLINE_ROWS_R13``) is run as
:func:`tests.validation_online.online_run` runs it (one replica, the benchmark's arrivals
replayed from a trace, every engine setting at its default), and the same requests are then
replayed through the token-level continuous-batching reference
(:mod:`tests.serving_reference`) on the service's own kernels (decode step and host time
per batch size, each prompt's prefill parts) and the emulator's token budgets per step.
Printed per benchmark: mean TTFT and mean inter-token latency, published / emulator /
reference.

Where the emulator and the reference agree and both miss the published figure, the miss
is in the kernels or in what the reference leaves out (the engine's own time per request,
prefill and decode in one iteration), not in the per-window approximation.

    PYTHONPATH=. python tests/validation_online_reference.py [NAME-FILTER] [--alone]

(``--alone``: the services' prefill steps run alone and pause decoding, instead of the
default, whole prompts in the same forward pass as the decode.)

Figures only; nothing is asserted (the per-window model's agreement with the reference is
tested in ``tests/test_serving_reference.py`` and its neighbours).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np

from emulator.build import build
from emulator.loader import validate_scenario
from emulator.serving import CHUNK_TOKENS
from tests.serving_reference import simulate
from tests.validation_cases import ONLINE_ROWS_R13, OnlineRow
from tests.validation_online import _arrivals, _write_trace, online_scenario

__all__ = ["reference_comparison"]

MAX_REFERENCE_SLOTS = 1024
"""Sequence slots given to the reference (the emulator's KV-bound count, capped: a
500-request benchmark never holds more)."""


def reference_comparison(row: OnlineRow, with_decode: bool | None = None) -> dict[str, float]:
    """Mean TTFT and mean inter-token latency (s) of ``row``'s benchmark: the emulator's
    (``ttft``, ``itl``), the reference's on the same requests (``ref_ttft``, ``ref_itl``),
    and the replica's slots (``with_decode``: the service's ``prefill_with_decode``,
    ``None``: its default)."""
    with tempfile.TemporaryDirectory() as folder:
        trace = Path(folder) / "requests.csv"
        _write_trace(trace, _arrivals(row.qps, row.requests), row.prompt, row.output)
        scenario = online_scenario(row, trace, with_decode=with_decode)
        sim = build(validate_scenario(scenario), backend="numpy")
        sim.run()
    serving = sim.engine.serving
    svc = serving.services[0]
    statics = serving.compute.service_statics([svc.spec], [svc.system])
    batches = [b for b in sim.log.requests if b.arrival_s.size]
    cols = {name: np.concatenate([getattr(b, name) for b in batches])
            for name in ("arrival_s", "prompt_tokens", "output_tokens", "ttft_s", "tpot_s")}
    slots = min(int(svc.slots), MAX_REFERENCE_SLOTS)
    split = [serving.compute.decode_split(statics, np.array([float(b)]))
             for b in range(slots + 1)]
    gpu = np.array([float(g[0]) for g, _h, _c in split])
    host = np.array([float(h[0]) for _g, h, _c in split])
    work, fixed = serving.compute.prefill_parts(statics, 0, cols["prompt_tokens"])
    ref = simulate(cols["arrival_s"], cols["prompt_tokens"], cols["output_tokens"], slots,
                   gpu, work, fixed, row.chunked_prefill, CHUNK_TOKENS, host_step=host,
                   step_tokens=svc.spec.prefill_step_tokens,
                   with_decode=svc.spec.prefill_with_decode)
    return {"ttft": float(cols["ttft_s"].mean()), "itl": float(np.nanmean(cols["tpot_s"])),
            "ref_ttft": float(ref.ttft_s.mean()), "ref_itl": float(np.nanmean(ref.tpot_s)),
            "slots": float(svc.slots)}


def main(pattern: str = "", with_decode: bool | None = None) -> None:
    """Print the comparison for every round-13 benchmark whose name contains ``pattern``
    (``with_decode`` as in :func:`reference_comparison`)."""
    published: dict[str, dict[str, float]] = {}
    for row in ONLINE_ROWS_R13:
        published.setdefault(row.name.rsplit(",", 1)[0], {})[row.kind] = row.published
    print(f"{'benchmark':58} {'TTFT ms: published':>19} {'emulator':>9} {'reference':>10} "
          f"| {'ITL ms: published':>17} {'emulator':>9} {'reference':>10}")
    for bench, figures in published.items():
        if pattern not in bench:
            continue
        row = next(r for r in ONLINE_ROWS_R13 if r.name.startswith(bench + ","))
        got = reference_comparison(row, with_decode)
        print(f"{bench[4:62]:58} {figures['ttft'] * 1e3:19.1f} {got['ttft'] * 1e3:9.1f} "
              f"{got['ref_ttft'] * 1e3:10.1f} | {figures['itl'] * 1e3:17.1f} "
              f"{got['itl'] * 1e3:9.1f} {got['ref_itl'] * 1e3:10.1f}", flush=True)


if __name__ == "__main__":
    ARGS = [a for a in sys.argv[1:] if a != "--alone"]
    main(ARGS[0] if ARGS else "", False if "--alone" in sys.argv[1:] else None)
