"""Overload: a saturated replica plateaus at its capacity; the excess waits in the queue.

One Llama-3-8B replica (``max_batch`` 64, 1,000-token prompts, 200-token outputs) is driven
at 1x, 2x and 4x the kernel's ``replica_throughput`` at a full batch (its chunked-prefill
capacity). Delivered output tokens/s, counted over requests finishing in the second half
of the hour, must stay within 5% of the plateau (the rate delivered at 4x) at every load;
with chunked prefill the plateau must also be within 5% of the kernel's capacity
(measured: -0.6%, -0.5%, -0.7% at 1x, 2x, 4x; unchunked +3.1%, +3.3% of its plateau at
1x and 2x; -1.2%, -0.9% before a prefill step took at most prefill_step_tokens (8,192) prompt
tokens and gave them all their first token at its end, +3.7%, -1.8% before its window's
fixed point was damped, +2.2%, -2.9% when every prompt had a prefill step of its own).
Unchunked prefill steps pause decoding and pay a step overhead and weight read each
(prompts that wait share one, up to the step's token budget), so its plateau is lower:
6.4% here (7,361 output tokens/s at 4x, 7,589 and 7,602 at 1x and 2x: the deeply
overloaded window's fixed point lands a few per cent lower; 7,645, 7,666 and 7,737
before the step budget; 7,090 at 4x before the damping; 27% lower before prompts shared
steps; the token-level reference, with the same budget, delivers 7,203, 7,398 and 7,698
at 1x, 2x and 4x, its fixed token counts letting prompts admitted together finish, and
refill, together). The
queue wait must grow with the overload, and requests still running at the end are not
reported as finished (NaN end-to-end latency).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from cupy_kernels.inference import InferenceBatch, replica_throughput
from tests.conftest import run_scenario, small_scenario
from tests.test_serving_reference import compare

PROMPT, OUTPUT, SLOTS = 1000, 200, 64


def _scenario(rate: float, chunked: bool) -> dict[str, Any]:
    data = small_scenario(duration="1h")
    data["tenants"]["lab"]["training"] = []
    data["tenants"]["eu"]["inference"] = [{
        "name": "chat", "model": "llama3-8b", "replicas": 1, "gpus_per_replica": 1,
        "precision": "fp8", "rate": f"{rate!r}/s", "origin": "local", "max_batch": SLOTS,
        "chunked_prefill": chunked, "prefill_with_decode": False,
        "prompt_tokens": {"dist": "fixed", "value": PROMPT},
        "output_tokens": {"dist": "fixed", "value": OUTPUT}}]
    return data


def _plateau_tokens_per_s() -> float:
    sim = run_scenario(_scenario(1.0, True))
    serving = sim.engine.serving
    svc = serving.services[0]
    statics = serving.compute.service_statics([svc.spec], [svc.system])
    assert int(statics.slots[0]) == SLOTS
    fields = dict(statics.batch.__dict__)
    fields["batch"] = np.array([float(SLOTS)])
    return float(replica_throughput(np, InferenceBatch(**fields))[0])


@pytest.mark.parametrize("chunked", [True, False], ids=["chunked", "unchunked"])
def test_delivered_tokens_plateau_and_excess_waits(chunked: bool) -> None:
    capacity = _plateau_tokens_per_s()
    waits, delivered = [], []
    for factor in (1.0, 2.0, 4.0):
        sim = run_scenario(_scenario(factor * capacity / OUTPUT, chunked))
        reqs = sim.log.requests
        arrival = np.concatenate([b.arrival_s for b in reqs])
        e2e = np.concatenate([b.e2e_s for b in reqs])
        out = np.concatenate([b.output_tokens for b in reqs])
        wait = np.concatenate([b.wait_s for b in reqs])
        done = arrival + e2e
        late_half = (done >= 1800.0) & (done < 3600.0)
        delivered.append(out[late_half].sum() / 1800.0)
        # Requests that cannot finish by the end are not reported as finished.
        assert not np.any(done > 3600.0)
        if factor > 1.0:
            assert np.isnan(e2e).sum() > 0.25 * e2e.size
        # the waits of arrivals early enough that they start before the end (later ones
        # have only the wait they had by then)
        middle = (arrival > 100.0) & (arrival < 500.0)
        assert np.all(arrival[middle] + wait[middle] < 3600.0)
        waits.append(float(wait[middle].mean()))
    plateau = delivered[-1]
    for d in delivered:
        assert d == pytest.approx(plateau, rel=0.05)
    if chunked:
        for d in delivered:
            assert d == pytest.approx(capacity, rel=0.05)
    else:
        assert plateau < capacity
    assert waits[0] < waits[1] < waits[2]
    # at 4x the backlog grows by 3 s of work per second: a wait of ~3t at arrival t
    assert waits[2] > 600.0


LONG_PROMPTS = {"dist": "lognormal", "median": 3000, "p90": 6000}
PREFILL_BOUND_TOLERANCES = {"throughput": 0.05, "ttft_p50": 0.10, "ttft_p99": 0.10,
                            "tpot_p50": 0.05, "tpot_p99": 0.10}


@pytest.mark.parametrize("chunked", [True, False], ids=["chunked", "unchunked"])
@pytest.mark.parametrize("factor", [1.5, 3.0])
def test_prefill_bound_overload_matches_the_token_level_reference(factor: float,
                                                                  chunked: bool) -> None:
    """A replica whose prompts are long (median 3,000 tokens) and slots many (256) is
    bound by its prefill: overloaded, its slots fill with prompts waiting for their
    prefill, which hold a slot but do not decode. Driven at 1.5x and 3x its capacity,
    it must deliver what the token-level reference does. Measured (emulator / reference
    - 1; throughput, TTFT p50 and p99, TPOT p50 and p99): chunked +0.0%, +0.0%, -0.0%,
    -0.0%, +0.1% at 1.5x and -0.0%, +0.0%, -0.0%, +0.0%, +0.1% at 3x; unchunked -1.5%,
    +3.2%, +3.2%, +1.4%, +4.4% and -1.3%, +3.0%, +1.4%, +1.2%, +3.9%.
    Until the decode steps a chunked prompt rides were measured when its prefill starts
    rather than when it arrives, an overloaded prompt, which waits minutes for its
    prefill, took the step of the batch of minutes before: a delayed feedback that
    made the chunked replica's time per token swing from window to window (means of 19
    to 30 ms by arrival minute against a flat 23 ms), TPOT p99 +44.1% at 1.5x and
    +23.9% at 3x (throughput, TTFT p50, TPOT p50: -0.7%, -0.3%, -1.2% and -1.7%, +1.7%,
    -1.4%; unchunked: the same).
    When a prefill step's prompts got their first tokens as their own work ended and a
    step took every waiting prompt, unchunked: -0.6%, +1.5%, +0.7% and -0.4%, +2.1%,
    +0.6% against today's reference (TPOT p99 +3.1% and +10.5%, now +4.4% and +3.9%);
    -2.3%, +6.0%, +2.5% and -2.1%, +3.4%, +2.4% against the reference of its time, which
    also took every waiting prompt.
    Before the decodes carried between windows were tracked (queued prompts counted as
    decoding) and the fixed point damped (an overloaded window swung between a congested
    and a free state and kept whichever its last pass gave), the chunked replica
    delivered 28% less at 1.5x and the unchunked one 64% less; at 3x neither finished a
    request after its first two minutes."""
    diffs = compare(factor, chunked, 256, LONG_PROMPTS)
    for metric, tol in PREFILL_BOUND_TOLERANCES.items():
        assert abs(diffs[metric]) <= tol, f"{metric}: {diffs[metric]:+.1%}"


@pytest.mark.parametrize("factor", [1.5, 3.0])
def test_prefill_bound_overload_with_whole_prompts_in_the_decode_steps(factor: float) -> None:
    """The same replica without chunked prefill, its whole prompts run in the decode's
    forward pass (TensorRT-LLM's in-flight batching, the default), at 1.5x and 3x its
    capacity (the kernel's, as chunked). Measured (emulator / reference - 1; throughput,
    TTFT p50 and p99, TPOT p50 and p99): +0.0%, +0.2%, +0.1%, -0.5%, +0.4% at 1.5x and
    -0.0%, -0.0%, -0.0%, -0.4%, +0.3% at 3x (+0.4%, -0.9%, -0.8%, -0.4%, +0.8% and +0.3%,
    -0.3%, -0.2%, -0.1%, +0.6% before a step's budget was cut by a prompt's expected
    residual, whole prompts not filling it to the token, and before a prompt waited out
    the step in flight)."""
    diffs = compare(factor, False, 256, LONG_PROMPTS, with_decode=True)
    for metric, tol in PREFILL_BOUND_TOLERANCES.items():
        assert abs(diffs[metric]) <= tol, f"{metric}: {diffs[metric]:+.1%}"
