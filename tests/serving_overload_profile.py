"""Diagnostic: an overloaded prefill-bound replica over time, emulator against reference.

Runs the case of ``test_prefill_bound_overload_matches_the_token_level_reference`` (one
Llama-3-8B replica, 256 slots, prompts of median 3,000 tokens) at a multiple of its
capacity, replays the same requests through the token-level reference and prints, by
arrival minute, the mean time per output token of each, then the number of sequences
decoding at once (first token to last) every 15 s. A window model whose prefills react
late to the batch shows here as a swing the reference does not have. Not a test: figures
to read.

    PYTHONPATH=. python tests/serving_overload_profile.py [FACTOR] [chunked|unchunked]
"""

from __future__ import annotations

import sys

import numpy as np

from tests import test_serving_reference as reference
from tests.conftest import run_scenario
from tests.test_serving_saturation import LONG_PROMPTS

SLOTS = 256


def decoding(first_s: np.ndarray, last_s: np.ndarray, at_s: np.ndarray) -> np.ndarray:
    """Sequences decoding (first token ≤ t < last token) at each of ``at_s``."""
    ok = np.isfinite(first_s) & np.isfinite(last_s)
    first, last = np.sort(first_s[ok]), np.sort(last_s[ok])
    return (np.searchsorted(first, at_s, side="right")
            - np.searchsorted(last, at_s, side="right"))


def main(factor: float, chunked: bool) -> None:
    """Print the profile of one run at ``factor`` times the capacity."""
    rate = factor * reference._capacity_req_per_s(SLOTS, LONG_PROMPTS, chunked)
    sim = run_scenario(reference._scenario(rate, chunked, SLOTS, LONG_PROMPTS))
    cols, ref = reference.replay(sim, SLOTS, chunked)
    arrival, tpot, e2e = cols["arrival_s"], cols["tpot_s"], cols["e2e_s"]
    done = ~np.isnan(e2e) & (arrival > 120.0)
    ref_done = (ref.finish_s <= reference.DURATION_S) & (arrival > 120.0)
    print(f"{factor:g}x capacity, {'chunked' if chunked else 'unchunked'}: TPOT p50 "
          f"{np.percentile(tpot[done], 50) * 1e3:.1f} ms (reference "
          f"{np.percentile(ref.tpot_s[ref_done], 50) * 1e3:.1f}), p99 "
          f"{np.percentile(tpot[done], 99) * 1e3:.1f} ms (reference "
          f"{np.percentile(ref.tpot_s[ref_done], 99) * 1e3:.1f})")
    minute = (arrival // 60.0).astype(int)
    print("arrival minute: mean TPOT (ms), emulator / reference")
    for m in range(2, int(minute.max()) + 1):
        mine, theirs = done & (minute == m), ref_done & (minute == m)
        if mine.any() and theirs.any():
            print(f"  {m:3d}: {tpot[mine].mean() * 1e3:5.1f} / "
                  f"{ref.tpot_s[theirs].mean() * 1e3:5.1f}")
    at = np.arange(150.0, 0.6 * reference.DURATION_S, 15.0)
    print("sequences decoding every 15 s from 150 s")
    print("  emulator: " + " ".join(str(k) for k in decoding(
        arrival + cols["ttft_s"], arrival + e2e, at)))
    print("  reference: " + " ".join(str(k) for k in decoding(
        arrival + ref.ttft_s, ref.finish_s, at)))


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 1.5,
         (sys.argv[2] if len(sys.argv) > 2 else "chunked") == "chunked")
