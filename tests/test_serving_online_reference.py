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
waiting out half the step in flight (with the prefill the replica did over the second
before) and, for the end of its own step, half the other prompts' prefill in it, and
paying a prefill step's fixed part only when its replica is idle. Held here: the mean
inter-token latency within ``TOLERANCE`` on every benchmark but the one in
``KNOWN_ITL_MISSES`` (measured: within 9.7 %, 70B on four H200, 467/16 at 32/s; within
3.3 % at lower rates and all at once; the miss +11.9 %, 70B on four H100, 467/16 at 32/s,
+2.8 % before the bf16 prefill efficiency was refitted from 0.695 to 0.720: in that
prefill-bound overload a token takes 340 ms, 15 times its unloaded step, and the
reference's mean falls 12 % from the 3.6 % faster prefill where the per-window model's
falls 5 %; its error over efficiencies 0.695 to 0.735 runs +2.7, +6.3, +10.0, +11.9,
+6.3 %: the overload of issue 10's saturation item), the mean
TTFT within ``TOLERANCE`` at up to ``LIGHT_RATE`` requests/s and all at once (measured:
within 6.7 %, 70B on four H100, 202/214, 500 at once) and within ``LOADED_TTFT_TOLERANCE``
above it (measured: -9.0 % to +17.4 % at 16 and 32/s, near saturation at 32/s, where a
second's more or less of queue moves the mean: 70B on four H200, 467/16; -9.3 % to
+21.0 % before the bf16 refit). Before the wait for the step in flight and the fixed part
only on an idle replica, the TTFT was up to 52 % short at 32/s; with the share of the
step in flight taken at the instant before the prompt (the prompt ahead's prefill), up
to 45 % short; without the other prompts' prefill in its own step, 3 % to 22 % short at
16 and 32/s; and while a prompt's GPU load was spread past its hold, the prefill-bound
bursts of 16-token outputs decoded 16 % to 76 % too fast.
"""

from __future__ import annotations

import math

import pytest

from tests.validation_cases import ONLINE_ROWS_R13, OnlineRow
from tests.validation_online_reference import reference_comparison

BENCHMARKS = sorted({r.name.rsplit(",", 1)[0] for r in ONLINE_ROWS_R13})
TOLERANCE = 0.10  # emulator / reference - 1, mean TTFT and mean inter-token latency
LIGHT_RATE = 8.0  # requests/s
LOADED_TTFT_TOLERANCE = 0.25
KNOWN_ITL_MISSES: dict[str, tuple[float, float]] = {
    # (low, high) of emulator / reference - 1: outside TOLERANCE, measured +11.9 %
    "R13 Llama-3.1-70B BF16, H100 (TP4), 467/16, 32/s": (TOLERANCE, 0.15),
}


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
    if bench in KNOWN_ITL_MISSES:  # if it now fits, update the docstring
        low, high = KNOWN_ITL_MISSES[bench]
        assert low < itl <= high, f"ITL mean {itl:+.1%}"
    else:
        assert abs(itl) <= TOLERANCE, f"ITL mean {itl:+.1%}"
    light = math.isinf(row.qps) or row.qps <= LIGHT_RATE
    tolerance = TOLERANCE if light else LOADED_TTFT_TOLERANCE
    assert abs(ttft) <= tolerance, f"TTFT mean {ttft:+.1%}"
