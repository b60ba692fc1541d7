"""Overload: delivered output tokens of one saturated replica as the arrival rate grows.

One Llama-3-70B FP8 replica on two GPUs (512-token prompts, 256-token outputs, 30
simulated minutes), driven at the rates given on the command line (default 80, 320 and
640 requests/s, all far past its capacity), with chunked prefill and without. A real
server plateaus at its capacity, the excess waiting in the queue; the figures show how
far the per-window serving model is from that plateau (issue 10, overload): delivered
output tokens over the run and over its second half, the median queue wait of the
requests that finished, and the CPU seconds of each run. Figures only; nothing is
asserted (``tests/test_serving_saturation.py`` holds the 5 % plateau at 1x to 4x).

    PYTHONPATH=. python bench/serving_overload.py [RATE ...]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.conftest import run_scenario, small_scenario

MINUTES = 30


def scenario(rate: float, chunked: bool) -> dict[str, Any]:
    """The one-replica scenario at ``rate`` requests/s."""
    data = small_scenario(duration=f"{MINUTES}m")
    data["tenants"]["lab"]["training"] = []
    data["tenants"]["eu"]["inference"] = [{
        "name": "chat", "model": "llama3-70b", "replicas": 1, "gpus_per_replica": 2,
        "precision": "fp8", "rate": f"{rate}/s", "origin": "local",
        "chunked_prefill": chunked, "prefill_with_decode": False,
        "prompt_tokens": {"dist": "fixed", "value": 512},
        "output_tokens": {"dist": "fixed", "value": 256}}]
    return data


def main() -> None:
    rates = [float(x) for x in sys.argv[1:]] or [80.0, 320.0, 640.0]
    half_s = MINUTES * 60 / 2
    for chunked in (False, True):
        for rate in rates:
            t = time.process_time()
            sim = run_scenario(scenario(rate, chunked))
            reqs = sim.log.requests
            out = np.concatenate([b.output_tokens for b in reqs])
            e2e = np.concatenate([b.e2e_s for b in reqs])
            arrival = np.concatenate([b.arrival_s for b in reqs])
            wait = np.concatenate([b.wait_s for b in reqs])
            done = ~np.isnan(e2e)
            late = done & (arrival + e2e >= half_s)
            print(f"chunked={chunked!s:5} rate {rate:6.0f}/s  delivered "
                  f"{out[done].sum() / 1e6:.3f} M tokens, second half "
                  f"{out[late].sum() / half_s:,.0f} tokens/s, wait p50 "
                  f"{np.median(wait[done]):.1f} s, cpu {time.process_time() - t:.1f} s",
                  flush=True)


if __name__ == "__main__":
    main()
