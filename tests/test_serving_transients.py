"""The serving model against the token-level reference on loads that change: a burst and
a step.

The steady loads of ``tests/test_serving_reference.py`` leave out what a window model
gets wrong most easily: load that changes within a window. The same Llama-3-8B replica
(32 slots) replays a serving trace (the requests are fixed, so the emulator and the
reference see the same ones):

- **burst**: Poisson arrivals at 20 % of the replica's capacity for 25 minutes, and 96
  requests (three times its slots) at once at 10 minutes;
- **step**: 20 % of capacity for 10 minutes, then 80 %.
- **surge** (unchunked, 1,024 slots): long prompts and short outputs at 60 requests/s for
  30 s after nothing, close to what the prefill steps sustain
  (``test_a_prefill_bound_surge_gets_first_tokens_when_its_steps_end``).

For the requests that arrive in the two minutes after the change, the emulator's mean
TTFT, mean TPOT and TPOT p99 must agree with the reference's within ``TOLERANCES``;
the comment under it records the figures, with those of the model before each request's
decode was computed at the load it runs under (``emulator/serving_decode.py``): it took a
window's TPOT from the window before, so after the step its TPOT stayed at the light-load
figure (-11 % chunked, -17 % unchunked) and its TTFT was 38 % to 67 % short.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import run_scenario
from tests.test_serving_reference import SLOTS, _capacity_req_per_s, _scenario, replay

CHANGE_S = 600.0
END_S = 1500.0
TOLERANCES = {"ttft_mean": 0.25, "tpot_mean": 0.05, "tpot_p99": 0.15}
SURGE_RATE = 60.0
"""Requests per s of the surge: long prompts and short outputs keep the unchunked
replica's prefill steps busy almost all the time (the reference's mean TTFT: 27 ms at
20/s, 82 ms at 60/s, 3.0 s at 80/s)."""
SURGE = ((2000, 0.5), (16, 0.5))
"""(median, lognormal sigma) of the surge's prompt and output tokens."""
SURGE_TOLERANCES = {"ttft_mean": 0.10, "tpot_mean": 0.25}
"""The surge's TTFT is what it tests; its TPOT (16 tokens decoded between back-to-back
prefill steps) is the fluid decode's weakest case: +15 % to +17 % whether or not the first
tokens wait for their step's end (measured with the reference on the same budget)."""
# Measured (emulator / reference - 1; `PYTHONPATH=. python tests/test_serving_transients.py`),
# TTFT mean, TPOT mean, TPOT p99 (the tolerances were set with these in view):
#   burst chunked    -0.2%  +0.0%   +0.4%   (before: -15.0%  -2.9% -21.2%)
#   burst unchunked  -0.4%  +0.1%   -0.6%   (before: -17.8%  -3.6% -22.9%)
#   step chunked     +3.6%  +0.1%   +0.1%   (before: -38.2% -11.0% -23.2%)
#   step unchunked   +6.7%  +0.7%   +1.4%   (before: -67.2% -16.6% -29.5%)
#   burst, whole prompts with the decode  -0.9%  +0.1%  +1.4%; step +1.1%  +0.1%  -0.5%;
#   lone burst +0.1%  +0.5%  +0.7% (1 s window the same); from idle -0.1%  +0.0%  +0.0%
#   (1 s window: -0.1%  +0.1%  -1.5%; -1.5% TTFT before a window's first prompts saw the
#   prefill of the window before); surge +12.1%  -0.1%  -4.7% (tested below). With
#   2,048 tokens per step (about one of the surge's prompts per step): -25.7%  +12.0%
#   +5.2%, not tested: taken as chunks, the prompts shorter than the budget share a step,
#   where the runtime runs each alone. While a prompt's GPU load was spread past its hold
#   (overlapping shares summed past 1 and were capped), the surge's TPOT mean was -29%.
# "before": the same test on the model that took a window's TPOT from the window before.
# Unchunked, before a prefill step's prompts got their first tokens at its end and a step
# took at most prefill_step_tokens (8,192) prompt tokens, against today's reference: burst
# -1.5%, +0.2%, +1.4%; step +6.6%, +0.7%, +1.4% (burst -1.4%, +0.6%, +4.7% against the
# reference of its time, which took every admitted prompt in one step).
# Before the decode step in flight was measured at each arrival (it came from the
# previous window's batch) and the decodes carried between windows were tracked: burst
# -0.2%, +0.0%, +0.4% and -1.3%, +0.6%, +4.7%; step +2.6%, +0.1%, +0.1% and +8.8%,
# +0.7%, +0.7%.
# Unchunked, before prompts that wait shared a prefill step (each its own step): burst
# +6.0%, +1.1%, +12.6%; step +9.6%, +0.9%, +2.0%.


def _arrivals(case: str, capacity: float, rng: np.random.Generator) -> np.ndarray:
    if case == "burst":
        light = rng.uniform(0.0, END_S, rng.poisson(0.2 * capacity * END_S))
        times = np.concatenate([light, np.full(3 * SLOTS, CHANGE_S)])
    elif case == "lone burst":  # nothing before or after it
        times = np.full(4 * SLOTS, CHANGE_S)
    elif case == "from idle":  # nothing before; half the capacity for two minutes
        times = rng.uniform(CHANGE_S, CHANGE_S + 120.0, rng.poisson(0.5 * capacity * 120.0))
    elif case == "surge":  # nothing before; SURGE_RATE per s for 30 s (lengths: SURGE)
        times = rng.uniform(CHANGE_S, CHANGE_S + 30.0, rng.poisson(SURGE_RATE * 30.0))
    else:
        light = rng.uniform(0.0, CHANGE_S, rng.poisson(0.2 * capacity * CHANGE_S))
        heavy = rng.uniform(CHANGE_S, END_S, rng.poisson(0.8 * capacity * (END_S - CHANGE_S)))
        times = np.concatenate([light, heavy])
    return np.sort(np.concatenate([[0.0], times]))  # the trace's clock starts at 0


def _trace(path: Path, times: np.ndarray, prompts: np.ndarray, outputs: np.ndarray) -> None:
    """An Azure LLM 2023 trace of the requests (100 ns resolution)."""
    lines = ["TIMESTAMP,ContextTokens,GeneratedTokens"]
    for t, p, o in zip(times.tolist(), prompts.tolist(), outputs.tolist(), strict=True):
        whole, frac = divmod(round(t * 1e7), 10**7)
        hours, rest = divmod(whole, 3600)
        lines.append(f"2024-01-01 {hours:02d}:{rest // 60:02d}:{rest % 60:02d}.{frac:07d},"
                     f"{p},{o}")
    path.write_text("\n".join(lines) + "\n")


def compare(case: str, chunked: bool, window_s: float | None = None,
            slots: int = SLOTS, step_tokens: int | None = None,
            with_decode: bool = False) -> dict[str, float]:
    """Relative differences (emulator / reference - 1) for the requests arriving in the
    two minutes after the change (``window_s``: the engine's serving window, s; ``None``:
    its default; ``slots``: the replica's sequence slots; ``step_tokens``: the service's
    ``prefill_step_tokens``, ``None`` for its default; ``with_decode``: unchunked prompts
    run whole with the decode, else in prefill steps that pause it)."""
    rng = np.random.default_rng(7)
    times = _arrivals(case, _capacity_req_per_s(), rng)
    (prompt, prompt_sigma), (output, output_sigma) = (
        SURGE if case == "surge" else ((600, 0.9), (150, 0.75)))
    prompts = np.minimum(rng.lognormal(np.log(prompt), prompt_sigma, times.size).astype(int)
                         + 1, 8000)
    outputs = np.minimum(rng.lognormal(np.log(output), output_sigma, times.size).astype(int)
                         + 1, 2000)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "requests.csv"
        _trace(path, times, prompts, outputs)
        data = _scenario(1.0, chunked, slots, with_decode=with_decode)
        data["duration"] = f"{int(END_S + 300)}s"
        service = data["tenants"]["eu"]["inference"][0]
        for key in ("rate", "prompt_tokens", "output_tokens"):
            service.pop(key)
        service["trace"] = {"kind": "azure_llm", "path": str(path)}
        if step_tokens is not None:
            service["prefill_step_tokens"] = step_tokens
        if window_s is not None:
            data.setdefault("engine", {})["serving_window"] = window_s
        sim = run_scenario(data)
    cols, ref = replay(sim, slots, chunked)
    arrival, ttft, tpot = cols["arrival_s"], cols["ttft_s"], cols["tpot_s"]
    sel = (arrival >= CHANGE_S) & (arrival < CHANGE_S + 120.0)
    assert int(sel.sum()) > 100 and not np.isnan(tpot[sel]).any()
    return {
        "ttft_mean": float(ttft[sel].mean() / ref.ttft_s[sel].mean() - 1.0),
        "tpot_mean": float(tpot[sel].mean() / ref.tpot_s[sel].mean() - 1.0),
        "tpot_p99": float(np.percentile(tpot[sel], 99) / np.percentile(ref.tpot_s[sel], 99)
                          - 1.0),
        "ttft_mean_s": float(ttft[sel].mean()),  # the emulator's own, s
        "ref_ttft_mean_s": float(ref.ttft_s[sel].mean()),
    }


MODES = {"chunked": (True, False), "unchunked": (False, False), "with-decode": (False, True)}
"""(chunked_prefill, prefill_with_decode) of each prefill mode (as in
``tests/test_serving_reference.py``)."""


@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize("case", ["burst", "step"])
def test_changing_load_matches_the_token_level_reference(case: str, mode: str) -> None:
    chunked, with_decode = MODES[mode]
    diffs = compare(case, chunked, with_decode=with_decode)
    for metric, tol in TOLERANCES.items():
        assert abs(diffs[metric]) <= tol, f"{metric}: {diffs[metric]:+.1%} ({case})"


@pytest.mark.parametrize("chunked", [True, False], ids=["chunked", "unchunked"])
def test_a_lone_burst_is_the_same_in_a_short_window(chunked: bool) -> None:
    """128 requests at once and nothing after them, served in 1 s windows: the requests
    expected after each window are the trace's own (none), so the burst's tail decodes as
    its batch drains, as in the default window and the reference. Measured (1 s window,
    emulator / reference - 1; TTFT mean, TPOT mean, TPOT p99): chunked -2.0%, -0.0%,
    -0.4%; unchunked +0.2%, +1.9%, +3.9% (+0.3%, +2.1%, +7.2% before the fixed point was
    damped), the same as in the default window. When the
    requests after a window came at its own rate (128/s here, capped at what the replica
    sustains), the 1 s window's TPOT mean was +2.1% and +5.4%."""
    short = compare("lone burst", chunked, 1.0)
    default = compare("lone burst", chunked)
    for metric, tol in TOLERANCES.items():
        assert abs(short[metric]) <= tol, f"{metric}: {short[metric]:+.1%}"
    for metric in ("ttft_mean", "tpot_mean"):
        assert short[metric] == pytest.approx(default[metric], abs=0.005), metric


def test_a_prefill_bound_surge_gets_first_tokens_when_its_steps_end() -> None:
    """Long prompts at ``SURGE_RATE`` for 30 s after nothing, unchunked, with slots enough
    for every prompt to wait in (1,024): prefill steps run almost back to back, each taking
    the prompts waiting when it begins up to the service's ``prefill_step_tokens`` prompt
    tokens (8,192 by default), and every prompt of a step gets its first token when the
    step ends, as in the reference.
    Measured (emulator / reference - 1; TTFT mean, TPOT mean, TPOT p99): +2.6 %, +15.9 %,
    +18.3 %. When a step's prompts got their first tokens one after another, as their own
    work ended, and a step took every waiting prompt: -20.5 %, -9.5 %, -9.6 % against the
    same reference (at 80/s: TTFT mean -44.7 %, now +1.6 %); against a reference without
    the step's token budget that model's TPOT mean was +17 %."""
    diffs = compare("surge", False, slots=1024)
    for metric, tol in SURGE_TOLERANCES.items():
        assert abs(diffs[metric]) <= tol, f"{metric}: {diffs[metric]:+.1%}"


def test_a_prefill_bound_surge_with_whole_prompts_in_the_decode() -> None:
    """The surge again, its whole prompts run in the decode's forward pass (the default
    without chunked prefill): measured (emulator / reference - 1; TTFT mean, TPOT mean,
    TPOT p99) +12.1 %, -0.1 %, -4.7 % (-0.0 %, +0.1 %, -4.7 % without the other prompts'
    prefill in a prompt's own step: near saturation the queue magnifies it). Held to
    ``TOLERANCES``: the fluid decode is not at its weakest here, as it is between the
    prefill steps alone that pause it."""
    diffs = compare("surge", False, slots=1024, with_decode=True)
    for metric, tol in TOLERANCES.items():
        assert abs(diffs[metric]) <= tol, f"{metric}: {diffs[metric]:+.1%}"


def test_a_service_sets_its_prefill_step_budget() -> None:
    """The surge again with steps of at most 2,048 prompt tokens (one prompt of the surge's
    median 2,000 per step, most of the time): each step pays its fixed part for one prompt,
    the replica falls behind and the first tokens come far later than with the default
    8,192, in the emulator as in the reference, which reads the same setting. Measured:
    TTFT mean 1.10 s against 0.085 s (reference 1.08 s and 0.083 s); emulator / reference
    - 1: TTFT mean +1.6 %, TPOT mean -20.0 %, TPOT p99 +5.6 %."""
    small = compare("surge", False, slots=1024, step_tokens=2048)
    default = compare("surge", False, slots=1024)
    for metric, tol in SURGE_TOLERANCES.items():
        assert abs(small[metric]) <= tol, f"{metric}: {small[metric]:+.1%}"
    assert small["ttft_mean_s"] > 1.5 * default["ttft_mean_s"]
    assert small["ref_ttft_mean_s"] > 1.5 * default["ref_ttft_mean_s"]


if __name__ == "__main__":
    print("surge unchunked", " ".join(f"{k} {v:+.1%}"
                                      for k, v in compare("surge", False, slots=1024).items()
                                      if not k.endswith("_s")))
    for c in ("burst", "step"):
        for ch in (True, False):
            d = compare(c, ch)
            print(c, "chunked" if ch else "unchunked",
                  " ".join(f"{k} {v:+.1%}" for k, v in d.items() if not k.endswith("_s")))


@pytest.mark.parametrize("mode", list(MODES))
def test_load_from_idle_waits_for_the_step_in_flight_in_any_window(mode: str) -> None:
    """Half the replica's capacity for two minutes after nothing at all, served in the
    default window (the load starts within one) and in 1 s windows. A prompt waits for
    the decode step in flight when it arrives (unchunked) or rides the running batch's
    steps when its prefill starts (chunked); that step is measured from the window's own
    sequences. Measured (emulator / reference - 1; TTFT mean, TPOT mean, TPOT p99):
    default window chunked +5.8%, +0.0%, -0.0%, unchunked -0.8%, +0.2%, +0.5%; 1 s window
    chunked +5.8%, +0.1%, -1.6%, unchunked -0.8%, +0.3%, -1.5%; whole prompts with the
    decode -0.1%, +0.0%, +0.0% and -0.1%, +0.1%, -1.5%. When the step was taken
    from the previous window's batch and occupancy (none before the load), the default
    window's TTFT mean was -38.0% chunked and -22.9% unchunked (1 s window: +5.6%,
    -1.2%)."""
    chunked, with_decode = MODES[mode]
    default = compare("from idle", chunked, with_decode=with_decode)
    short = compare("from idle", chunked, 1.0, with_decode=with_decode)
    for diffs in (default, short):
        for metric, tol in TOLERANCES.items():
            assert abs(diffs[metric]) <= tol, f"{metric}: {diffs[metric]:+.1%}"
    assert default["ttft_mean"] == pytest.approx(short["ttft_mean"], abs=0.05)
