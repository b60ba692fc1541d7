"""The per-window serving model against the token-level reference simulator (the oracle).

One Llama-3-8B FP8 replica (``max_batch`` 32) with lognormal prompts and outputs is run by
the emulator at 10%, 50%, 80% and 95% of its capacity, chunked and unchunked. The same
requests (arrival times and token counts, read back from the event log) go through
``tests/serving_reference.py``, which batches per iteration with the same kernels. The
window model must agree on throughput, TTFT and TPOT within the tolerances below;
``TOLERANCES`` states them and the comments record what was measured. A second case holds
a large batch (256 sequences) of short prompts (median 300 tokens) on the same replica,
where many prompts share one step's chunk budget and the host's time binds the step.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pytest

from cupy_kernels.inference import InferenceBatch, replica_throughput
from emulator.serving import CHUNK_TOKENS
from tests.conftest import run_scenario, small_scenario
from tests.serving_reference import simulate

SLOTS = 32
DURATION_S = 1200.0
LOADS = (0.1, 0.5, 0.8, 0.95) if not os.environ.get("CI") else (0.1, 0.8, 0.95)

# Relative tolerances (emulator / reference - 1) per metric.
TOLERANCES = {"throughput": 0.05, "ttft_p50": 0.25, "ttft_p99": 0.30, "tpot_p50": 0.05,
              "tpot_p99": 0.20}
# Loads are shares of each mode's own capacity (``_capacity_req_per_s``): unchunked prefill
# pauses decoding, so its replica sustains about 4,340 output tokens/s here against 4,800
# chunked. At 95 % of it, TTFT is not compared: within 5 % of capacity the queue wait grows
# as 1/(1 - load), so TTFT there measures the two capacities to a few tenths of a percent
# (the emulator's is 1.0 % below the reference's: TTFT p50 +41.7 %, p99 +9.8 %). The
# capacities are compared directly instead (test_unchunked_capacity_matches_reference).
# Throughput and TPOT are still compared at 0.95. (Earlier versions of this test drove
# unchunked runs at shares of the chunked capacity: 95 % of it is past both simulators'
# unchunked capacity, where both queues grow for the whole run.)
UNCHUNKED_SATURATED_SKIP = ("ttft_p50", "ttft_p99")
# Measured (seeded; emulator / reference - 1), chunked | unchunked, loads 0.1/0.5/0.8/0.95
# (`PYTHONPATH=. python tests/test_serving_reference.py`), with each request's decode at
# the batch and prefill share it runs under (emulator/serving_decode.py), unchunked
# prompts that wait sharing a prefill step (at most prefill_step_tokens (8,192) prompt tokens,
# in both; every prompt's first token at its step's end), and the decode step in flight
# measured at each arrival (emulator/serving_prefill.py):
#   throughput  0.0/0.0/0.0/0.0%          | 0.0/0.0/0.0/-0.0%
#   TTFT p50    +6.3/+4.2/+1.5/+12.6%     | -4.5/-3.8/-2.3/(+41.7%)
#   TTFT p99    +0.5/-4.5/-0.8/+4.9%      | -2.8/+0.7/+7.7/(+9.8%)
#   TPOT p50    +0.0/+0.0/+0.1/+0.1%      | +0.0/+0.2/+0.6/+0.9%
#   TPOT p99    -0.0/-0.1/-0.1/+0.2%      | +0.2/+0.7/+0.9/+1.1%
# (unchunked, when a step's prompts got their first tokens as their own work ended and a
# step took every waiting prompt, in both: TTFT p50 -4.5/-4.0/-2.5/(+44.1%), p99
# -2.8/-1.6/+7.0/(+10.0%), TPOT p99 +0.2/+0.7/+1.0/+1.2%.)
# (with the step in flight from the previous window's batch: TTFT p50 +5.1/+4.3/+1.7/
# +12.0% | -4.7/-4.1/-2.4/(+44.4%), p99 -1.0/-4.2/-0.9/+4.9% | -2.6/-1.6/+8.2/(+10.8%);
# TPOT p99 unchunked +0.2/+0.7/+1.1/+1.7%, the rest within 0.1 point.)
# The same with a 1 s window (every request decodes across many windows), loads 0.5/0.8:
# TPOT p50 -0.0/-0.3% chunked, +0.2/+0.3% unchunked, p99 -1.3/+1.4% and +0.6/+0.3%
# (`compare` on scenarios with `engine.serving_window` set to 1); earlier (the requests
# after a window at its own rate; unchunked at shares of the chunked capacity, one
# prefill step per prompt): +0.3/-0.1%, +0.8/+0.4%; before the decode under load:
# -0.1/-0.2%, +0.1/+0.2%.
# Before it (one TPOT per window, at the previous window's mean batch and prefill share;
# unchunked at shares of the chunked capacity, one prefill step per prompt):
#   TTFT p50    +5.0/+4.3/-0.6/-6.2%      | -3.9/-4.1/-7.9/+22.7%
#   TTFT p99    -1.0/-4.5/-21.1/+12.2%    | -1.5/-2.6/-6.6/+25.5%
#   TPOT p99    -6.0/-12.7/-13.5/-12.6%   | -8.0/-15.4/-13.7/-11.8%
# Whole prompts with the decode (each taken as its share of a step's 8,192-token budget,
# less a prompt's expected residual at the step's end; its first token after half the
# step in flight, with the replica's prefill share over the second before, and the end
# of its own step with half the other prompts' prefill in it; the fixed part only on an
# idle replica; its GPU load over its hold), loads 0.1/0.5/0.8/0.95:
#   throughput +0.0/+0.0/-0.0/+0.0%, TTFT p50 -2.8/-1.8/-2.8/+13.5%, p99
#   -4.0/-1.9/-0.1/+4.9%, TPOT p50 +0.0/+0.0/+0.1/+0.1%, p99 +0.0/+0.1/+0.0/+0.2%
#   (without the other prompts' prefill in its own step: TTFT p50 -3.1/-3.4/-4.9/+12.3%;
#   without the wait and with the fixed part always: TTFT p50 +6.1/+3.8/+0.2/+13.4%, p99
#   -1.9/-0.3/-0.5/+4.6%; the rest within 0.1 point).
# Large batch of short prompts, chunked, loads 0.5/0.8: throughput 0.0/0.0%, TTFT p50
# -2.0/-7.2%, p99 -6.1/-9.5% (-9.1%, -10.5% with the step in flight from the previous
# window), TPOT p50 +0.1/-2.6%, p99 -0.0/-6.7% (before: TPOT p99
# -8.5/-18.4%). At 0.95 the reference itself queues (the emulator's TTFT p50 is 99.8% below
# its): the per-iteration model's capacity is below the kernel's there, so that load is
# not compared for this case.


PROMPTS = {"dist": "lognormal", "median": 600, "p90": 2000}
LARGE_SLOTS = 256
SHORT_PROMPTS = {"dist": "lognormal", "median": 300, "p90": 800}


def _scenario(rate: float, chunked: bool, slots: int = SLOTS,
              prompts: dict[str, Any] = PROMPTS, with_decode: bool = False) -> dict[str, Any]:
    """One replica of ``_capacity_req_per_s``'s service at ``rate`` requests/s; unchunked
    prompts run whole with the decode (``with_decode``) or in prefill steps that pause it
    (the default here, as these tests were written for it)."""
    data = small_scenario(duration=f"{int(DURATION_S)}s")
    data["tenants"]["lab"]["training"] = []
    data["tenants"]["eu"]["inference"] = [{
        "name": "chat", "model": "llama3-8b", "replicas": 1, "gpus_per_replica": 1,
        "precision": "fp8", "rate": f"{rate!r}/s", "origin": "local", "max_batch": slots,
        "chunked_prefill": chunked, "prefill_with_decode": with_decode,
        "prompt_tokens": prompts,
        "output_tokens": {"dist": "lognormal", "median": 150, "p90": 400}}]
    return data


def _capacity_req_per_s(slots: int = SLOTS, prompts: dict[str, Any] = PROMPTS,
                        chunked: bool = True, with_decode: bool = False) -> float:
    """Requests per s one replica sustains at a full batch.

    Chunked, or whole prompts with the decode: the kernel's throughput (prompts ride the
    decode steps). Unchunked, when each prompt's prefill step pauses decoding: a request
    costs the replica its prefill (work and fixed part: at capacity a step admits about
    one prompt, as one sequence retires) plus its share of the decode steps,
    ``(output - 1) × step(slots) / slots`` (the first token comes with the prefill; means
    over 100,000 draws of the scenario's token distributions).
    """
    sim = run_scenario(_scenario(1.0, chunked, slots, prompts, with_decode))
    serving = sim.engine.serving
    svc = serving.services[0]
    statics = serving.compute.service_statics([svc.spec], [svc.system])
    mean_output = float(statics.batch.mean_output[0])
    if not (chunked or with_decode):
        rng = np.random.default_rng(7)
        work, fixed = serving.compute.prefill_parts(
            statics, 0, svc.spec.prompt_tokens.sample(rng, 100_000))
        gpu, host, _ = serving.compute.decode_split(statics, np.array([float(slots)]))
        step = max(float(gpu[0]), float(host[0]))
        return 1.0 / (float((work + fixed).mean()) + (mean_output - 1.0) * step / slots)
    fields = dict(statics.batch.__dict__)
    fields["batch"] = np.array([float(slots)])
    tokens = float(replica_throughput(np, InferenceBatch(**fields))[0])
    return tokens / mean_output


def replay(sim: Any, slots: int, chunked: bool) -> tuple[dict[str, np.ndarray], Any]:
    """The run's requests (columns of its log, concatenated) and the reference
    simulator's result for the same requests on the run's one service's kernels and
    prefill settings (``chunked`` as the service's)."""
    serving = sim.engine.serving
    svc = serving.services[0]
    statics = serving.compute.service_statics([svc.spec], [svc.system])
    reqs = [b for b in sim.log.requests if b.arrival_s.size]
    cols = {name: np.concatenate([getattr(b, name) for b in reqs])
            for name in ("arrival_s", "prompt_tokens", "output_tokens", "ttft_s", "tpot_s",
                         "e2e_s")}
    split = [serving.compute.decode_split(statics, np.array([float(b)]))
             for b in range(slots + 1)]
    gpu = np.array([float(g[0]) for g, _h, _c in split])
    host = np.array([float(h[0]) for _g, h, _c in split])
    work, fixed = serving.compute.prefill_parts(statics, 0, cols["prompt_tokens"])
    return cols, simulate(cols["arrival_s"], cols["prompt_tokens"], cols["output_tokens"],
                          slots, gpu, work, fixed, chunked, CHUNK_TOKENS, host_step=host,
                          step_tokens=svc.spec.prefill_step_tokens,
                          with_decode=svc.spec.prefill_with_decode)


def compare(load: float, chunked: bool, slots: int = SLOTS,
            prompts: dict[str, Any] = PROMPTS, with_decode: bool = False) -> dict[str, float]:
    """Relative differences (emulator / reference - 1) of the compared metrics."""
    rate = load * _capacity_req_per_s(slots, prompts, chunked, with_decode)
    sim = run_scenario(_scenario(rate, chunked, slots, prompts, with_decode))
    cols, ref = replay(sim, slots, chunked)
    arrival, outputs = cols["arrival_s"], cols["output_tokens"]
    ttft, tpot, e2e = cols["ttft_s"], cols["tpot_s"], cols["e2e_s"]
    warm = arrival > 120.0  # after the first window (the emulator starts with batch 1)
    done = ~np.isnan(e2e) & warm
    ref_done = (ref.finish_s <= DURATION_S) & warm

    def rel(a: float, b: float) -> float:
        return a / b - 1.0

    def tput(finish: np.ndarray) -> float:
        sel = (finish > DURATION_S / 4) & (finish <= DURATION_S)
        return float(outputs[sel].sum())
    return {
        "throughput": rel(tput(arrival + e2e), tput(ref.finish_s)),
        "ttft_p50": rel(np.percentile(ttft[done], 50), np.percentile(ref.ttft_s[ref_done], 50)),
        "ttft_p99": rel(np.percentile(ttft[done], 99), np.percentile(ref.ttft_s[ref_done], 99)),
        "tpot_p50": rel(np.percentile(tpot[done], 50), np.percentile(ref.tpot_s[ref_done], 50)),
        "tpot_p99": rel(np.percentile(tpot[done], 99), np.percentile(ref.tpot_s[ref_done], 99)),
    }


MODES = {"chunked": (True, False), "unchunked": (False, False), "with-decode": (False, True)}
"""(chunked_prefill, prefill_with_decode) of each prefill mode the tests run: chunks riding
the decode steps; whole prompts in prefill steps that pause decoding; whole prompts in the
decode's forward pass."""


@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize("load", LOADS)
def test_window_model_matches_token_level_reference(load: float, mode: str) -> None:
    chunked, with_decode = MODES[mode]
    diffs = compare(load, chunked, with_decode=with_decode)
    for metric, tol in TOLERANCES.items():
        if mode == "unchunked" and load > 0.9 and metric in UNCHUNKED_SATURATED_SKIP:
            continue
        assert abs(diffs[metric]) <= tol, f"{metric}: {diffs[metric]:+.1%} at load {load}"


def test_unchunked_capacity_matches_reference() -> None:
    """Driven at 1.5x its capacity, the unchunked replica delivers what the reference
    does (measured: 4,330 and 4,373 output tokens/s, -1.0 %) and both are within 2 % of
    ``_capacity_req_per_s`` (4,339 for the tokens drawn: -0.2 %, +0.8 %)."""
    capacity = _capacity_req_per_s(chunked=False)
    sim = run_scenario(_scenario(1.5 * capacity, False))
    cols, ref = replay(sim, SLOTS, False)
    arrival, outputs = cols["arrival_s"], cols["output_tokens"]

    def delivered(finish: np.ndarray) -> float:  # over the run's second half
        sel = (finish >= DURATION_S / 2) & (finish < DURATION_S)
        return float(outputs[sel].sum()) / (DURATION_S / 2)
    emulator, reference = delivered(arrival + cols["e2e_s"]), delivered(ref.finish_s)
    expected = capacity * float(outputs.mean())
    assert emulator == pytest.approx(reference, rel=0.02)
    assert emulator == pytest.approx(expected, rel=0.02)
    assert reference == pytest.approx(expected, rel=0.02)


@pytest.mark.parametrize("load", (0.5, 0.8) if not os.environ.get("CI") else (0.8,))
def test_short_prompts_share_chunk_steps_at_large_batch(load: float) -> None:
    """256 sequences of short prompts: many prompts ride one step's chunk budget, so the
    replica is not capped at one prompt per decode step."""
    diffs = compare(load, True, LARGE_SLOTS, SHORT_PROMPTS)
    for metric, tol in TOLERANCES.items():
        assert abs(diffs[metric]) <= tol, f"{metric}: {diffs[metric]:+.1%} at load {load}"


if __name__ == "__main__":
    for name, (c, w) in MODES.items():
        for x in (0.1, 0.5, 0.8, 0.95):
            d = compare(x, c, with_decode=w)
            print(name, x,
                  " ".join(f"{k} {v:+.1%}" for k, v in d.items()))
    for x in (0.5, 0.8, 0.95):
        d = compare(x, True, LARGE_SLOTS, SHORT_PROMPTS)
        print("large batch, short prompts, chunked", x,
              " ".join(f"{k} {v:+.1%}" for k, v in d.items()))
