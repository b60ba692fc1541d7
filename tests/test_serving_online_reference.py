"""The serving model against the token-level reference on published benchmark configurations.

Round 13 of the validation (``docs/validation.md``) replays TensorRT-LLM's online serving
benchmarks through the emulator (Llama 3.1 8B and 70B, H100 and H200, three length pairs,
Poisson arrivals at 2 to 32 requests/s and 500 at once); ``tests/validation_online_reference.py``
replays the same requests through the token-level reference (:mod:`tests.serving_reference`)
on the service's own kernels and token budget, so that a miss can be told apart: the
kernels' or the per-window approximation's.

**Prefill steps alone** (``prefill_with_decode: false``): every one of the 72 benchmarks is
held to the reference, mean TTFT and mean inter-token latency within ``TOLERANCE``.
Measured (emulator / reference - 1): mean TTFT within 5.4 % on every one (70B on four
H100, 467/256 at 16/s), mean inter-token latency within 6.2 % (202/214 at 32/s). Before a
prefill step's prompts got their first tokens at its end, six of the 72 failed (70B on
four H100 or H200 at 16 and 32 requests/s; 467/256 at 16/s -11.5 %, at 32/s -26.5 %).

**Whole prompts with the decode** (the default, TensorRT-LLM's in-flight batching, which
these benchmarks ran): the model takes them as chunks of the step's token budget, each
waiting out half the step in flight (the other prompts' prefill in it included) and paying
a prefill step's fixed part only when its replica is idle. Held here: the mean
inter-token latency within ``TOLERANCE`` on every Poisson benchmark the reference does not
saturate (its mean TTFT under ``SATURATED_TTFT_S``; measured: within 9.2 %, 70B on four
H200, 467/16 at 16/s), the mean TTFT within ``TOLERANCE`` at up to ``LIGHT_RATE``
requests/s (measured: within 5.3 %) and within ``LOADED_TTFT_TOLERANCE`` at up to
``LOADED_RATE`` (measured: within 22.8 %, 70B on four H100, 467/256 at 16/s: 95 against
123 ms), and in every benchmark the model's mean TTFT at most ``TOLERANCE`` above the
reference's (measured: +1.6 % at most). Known misses, not asserted: near saturation
(32/s) the model's TTFT is up to 50 % short of the reference's (70B on four H200,
467/16: 375 against 750 ms); in the prefill-bound bursts of 16-token outputs (467/16 all
at once, and at 32/s) its time per token is 16 % to 76 % short (70B on four H200: 94
against 396 ms), and moves by tens of per cent with small changes to how a prompt's GPU
load is spread (the decode's fixed point is at its least stable there). Before the wait
for the step in flight and the fixed part only on an idle replica, the model's TTFT was
up to 52 % short at 32/s and 39 % at 16/s, and 16 % at 4/s.
"""

from __future__ import annotations

import math

import pytest

from tests.validation_cases import ONLINE_ROWS_R13, OnlineRow
from tests.validation_online_reference import reference_comparison

BENCHMARKS = sorted({r.name.rsplit(",", 1)[0] for r in ONLINE_ROWS_R13})
TOLERANCE = 0.10  # emulator / reference - 1, mean TTFT and mean inter-token latency
LIGHT_RATE = 8.0  # requests/s
LOADED_RATE = 16.0  # requests/s
LOADED_TTFT_TOLERANCE = 0.25
SATURATED_TTFT_S = 0.5


def _row(bench: str) -> OnlineRow:
    return next(r for r in ONLINE_ROWS_R13 if r.name.startswith(bench + ","))


def test_every_benchmark_is_here() -> None:
    assert len(BENCHMARKS) == 72


@pytest.mark.parametrize("bench", BENCHMARKS)
def test_round_13_benchmark_matches_the_reference_with_prefill_steps_alone(bench: str) -> None:
    got = reference_comparison(_row(bench), with_decode=False)
    ttft = got["ttft"] / got["ref_ttft"] - 1.0
    itl = got["itl"] / got["ref_itl"] - 1.0
    assert abs(ttft) <= TOLERANCE, f"TTFT mean {ttft:+.1%}"
    assert abs(itl) <= TOLERANCE, f"ITL mean {itl:+.1%}"


@pytest.mark.parametrize("bench", BENCHMARKS)
def test_round_13_benchmark_with_prompts_run_with_the_decode(bench: str) -> None:
    row = _row(bench)
    got = reference_comparison(row)
    ttft = got["ttft"] / got["ref_ttft"] - 1.0
    itl = got["itl"] / got["ref_itl"] - 1.0
    poisson = math.isfinite(row.qps)
    if poisson and got["ref_ttft"] < SATURATED_TTFT_S:
        assert abs(itl) <= TOLERANCE, f"ITL mean {itl:+.1%}"
    if poisson and row.qps <= LIGHT_RATE:
        assert abs(ttft) <= TOLERANCE, f"TTFT mean {ttft:+.1%}"
    elif poisson and row.qps <= LOADED_RATE:
        assert abs(ttft) <= LOADED_TTFT_TOLERANCE, f"TTFT mean {ttft:+.1%}"
    assert ttft <= TOLERANCE, f"TTFT mean {ttft:+.1%}"  # never far above the reference's
