"""A request of N output tokens decodes N - 1 steps: the prefill emits its first token.

TTFT is the time to the first output token, which the prefill's forward pass produces;
each decode step then emits one more, so ``e2e - TTFT = (N - 1) × TPOT`` (vLLM,
TensorRT-LLM and GenAI-Perf define TPOT/ITL as ``(e2e - TTFT)/(N - 1)``). A one-token
request is done at its first token and has no TPOT (NaN, left out of the TPOT figures;
its TPOT SLO is met). Before, the emulator and the token-level reference both decoded N
steps after the first token (a one-token request ended one step after it).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from cupy_kernels.inference import InferenceBatch, decode_steps_per_request
from emulator.request_stats import RequestStats, slo_met
from emulator.serving_decode import decode_steps
from tests.conftest import run_scenario, service_statics, small_scenario
from tests.serving_reference import simulate


def _scenario() -> dict[str, Any]:
    """Two light services on one replica each: one-token and three-token outputs."""
    data = small_scenario(duration="300s")
    data["tenants"]["lab"]["training"] = []
    data["tenants"]["eu"]["inference"] = [{
        "name": f"out{n}", "model": "llama3-8b", "replicas": 1, "gpus_per_replica": 1,
        "precision": "fp8", "rate": "0.2/s", "origin": "local", "max_batch": 32,
        "slo": {"ttft": "10s", "tpot": "30ms"},
        "prompt_tokens": {"dist": "fixed", "value": 500},
        "output_tokens": {"dist": "fixed", "value": n}} for n in (1, 3)]
    return data


def test_decode_steps_are_output_tokens_less_one() -> None:
    assert decode_steps(np.array([0, 1, 2, 256])).tolist() == [0.0, 0.0, 1.0, 255.0]


def test_one_token_request_ends_at_its_first_token_and_n_tokens_take_n_minus_1_steps(
) -> None:
    sim = run_scenario(_scenario())
    by_output: dict[int, dict[str, np.ndarray]] = {}
    for b in sim.log.requests:
        if b.arrival_s.size:
            n = int(b.output_tokens[0])
            cols = by_output.setdefault(n, {k: np.empty(0) for k in ("ttft", "tpot", "e2e")})
            cols["ttft"] = np.concatenate([cols["ttft"], b.ttft_s])
            cols["tpot"] = np.concatenate([cols["tpot"], b.tpot_s])
            cols["e2e"] = np.concatenate([cols["e2e"], b.e2e_s])
    one, three = by_output[1], by_output[3]
    assert one["e2e"].size > 20 and three["e2e"].size > 20
    assert np.all(np.isfinite(one["e2e"]))
    np.testing.assert_allclose(one["e2e"], one["ttft"], rtol=0, atol=1e-12)
    assert np.all(np.isnan(one["tpot"]))  # no token after the first: no TPOT
    gap = three["e2e"] - three["ttft"]
    assert np.all(three["tpot"] > 0)
    np.testing.assert_allclose(gap, 2.0 * three["tpot"], rtol=1e-9)
    # a one-token request met its SLO on its TTFT alone
    stats = RequestStats()
    stats.add(np.zeros(one["ttft"].size), one["ttft"], one["tpot"], one["e2e"],
              np.full(one["ttft"].size, 500), np.ones(one["ttft"].size, dtype=np.int64),
              10.0, 0.03)
    assert stats.slo_met == one["ttft"].size and stats.stats("tpot_s")["n"] == 0


def test_slo_of_one_token_request_counts_its_ttft_only() -> None:
    ttft = np.array([0.1, 0.1, np.nan, 0.1])
    tpot = np.array([np.nan, np.nan, np.nan, 0.5])
    outputs = np.array([1, 1, 1, 2])
    assert slo_met(ttft, tpot, outputs, 0.2, 0.03).tolist() == [True, True, False, False]
    assert slo_met(ttft, tpot, outputs, 0.05, 0.03).tolist() == [False] * 4


def test_reference_decodes_n_minus_1_steps_after_the_prefill() -> None:
    """One request at a time on an idle replica: its first token at the end of its prefill
    step, then one decode step (1 ms at one sequence) per further token."""
    decode = np.array([1e-3, 1e-3])  # the step's GPU time at 0 and 1 sequences
    arrivals = np.array([0.0, 10.0, 20.0])
    prompts = np.array([100, 100, 100])
    outputs = np.array([1, 2, 5])
    work, fixed = np.full(3, 0.05), np.full(3, 0.01)
    ref = simulate(arrivals, prompts, outputs, 4, decode, work, fixed, chunked=False,
                   chunk_tokens=2048)
    np.testing.assert_allclose(ref.ttft_s, 0.06)
    np.testing.assert_allclose(ref.finish_s - arrivals - ref.ttft_s, [0.0, 1e-3, 4e-3])
    assert np.isnan(ref.tpot_s[0])
    np.testing.assert_allclose(ref.tpot_s[1:], 1e-3)


def test_steady_state_throughput_counts_the_prefill_token() -> None:
    """``replica_throughput`` decodes ``mean_output - 1`` steps per request."""
    b = service_statics("llama3-8b", "fp8", "h200-hgx", 1)
    assert float(decode_steps_per_request(np, b)[0]) == pytest.approx(999.0)
    fields = dict(b.__dict__) | {"mean_output": np.array([2.0])}
    assert float(decode_steps_per_request(np, InferenceBatch(**fields))[0]) == 1.0
