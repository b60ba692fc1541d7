"""Token-level continuous-batching reference simulator: the oracle for emulator/serving.py.

One replica, iteration by iteration, as a vLLM / TensorRT-LLM scheduler runs it:

1. **admit** waiting requests (FIFO) into free sequence slots (``slots``);
2. **prefill**: with chunked prefill, up to ``chunk_tokens`` prompt tokens of admitted
   requests (FIFO) ride along with this iteration's decode; without it, the iteration
   takes whole prompts (FIFO, up to ``step_tokens`` prompt tokens, at least one prompt),
   which run in the same forward pass as its decode (``with_decode``: TensorRT-LLM's
   in-flight batching) or as one prefill batch that decodes nothing (vLLM's V0
   scheduler);
3. **decode** one token for every sequence whose prompt was done before this iteration
   (the iteration that finishes a prompt emits its first output token);
4. **retire** sequences that produced all their output tokens (their slots free at the
   end of the iteration; a one-token request retires with its prompt).

Iteration time uses the same kernels as the emulator, but per iteration and at the batch
actually running: the decode step's GPU time at ``n_decoding`` plus the prefill work of
the tokens scheduled (each prompt's :func:`cupy_kernels.inference.prefill_parts` work, pro
rata per chunk), or the host's time for the iteration if that is longer (the host prepares
the next iteration while the GPU runs this one, as
:func:`cupy_kernels.inference.replica_throughput` and the emulator assume); a prefill-only
iteration adds the fixed part (step overhead, weight-read floor). The token budgets count
prompt tokens only (a runtime's ``max_num_tokens`` also counts the one token of each
decoding sequence), in the emulator as here.
TTFT is the end of the iteration that finished the prompt (its first output token);
TPOT is (end of the last decode - first token) / (output tokens - 1), NaN for a
one-token request (no decode step). Everything is exact for this discrete model; the
emulator's per-window approximation is compared with it in
``tests/test_serving_reference.py``.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ReferenceResult:
    """Per-request TTFT and TPOT (s) and delivered output tokens/s of one run."""

    arrival_s: np.ndarray
    ttft_s: np.ndarray
    tpot_s: np.ndarray
    finish_s: np.ndarray
    output_tokens: np.ndarray


def _whole_prompts(prefilling: deque[int], prompts: np.ndarray,
                   step_tokens: int | None) -> list[int]:
    """The prompts (FIFO) an unchunked step takes: up to ``step_tokens`` prompt tokens
    (``None``: all), at least one."""
    taken: list[int] = []
    used = 0
    for i in prefilling:
        if taken and step_tokens is not None and used + prompts[i] > step_tokens:
            break
        taken.append(i)
        used += int(prompts[i])
    return taken


def simulate(arrivals: np.ndarray, prompts: np.ndarray, outputs: np.ndarray, slots: int,
             decode_step: np.ndarray, work: np.ndarray, fixed: np.ndarray, chunked: bool,
             chunk_tokens: int, host_step: np.ndarray | None = None,
             step_tokens: int | None = None, with_decode: bool = False) -> ReferenceResult:
    """Run the requests (arrival order) through one replica; see the module docstring.

    ``decode_step[b]`` is the decode step's GPU time (s) at ``b`` running sequences
    (``b = 0..slots``) and ``host_step[b]`` the host's time per iteration at that batch
    (``None``: no host term, ``decode_step`` is the whole step); ``work``/``fixed`` are
    each prompt's prefill parts (s). ``step_tokens`` bounds the prompt tokens of an
    unchunked step (``None``: every admitted prompt); ``with_decode``: an unchunked step's
    prompts run with the decode instead of pausing it.
    """
    host = np.zeros_like(decode_step) if host_step is None else host_step
    n = arrivals.size
    ttft = np.full(n, np.nan)
    finish = np.full(n, np.nan)
    left_prompt = prompts.astype(np.int64).copy()
    left_out = outputs.astype(np.int64).copy()
    waiting: deque[int] = deque()
    prefilling: deque[int] = deque()  # admitted, prompt not done (FIFO)
    decoding: list[int] = []
    nxt = 0
    t = 0.0
    while nxt < n or waiting or prefilling or decoding:
        while nxt < n and arrivals[nxt] <= t:
            waiting.append(nxt)
            nxt += 1
        if not (waiting or prefilling or decoding):
            t = float(arrivals[nxt])
            continue
        while waiting and len(prefilling) + len(decoding) < slots:  # 1. admit
            prefilling.append(waiting.popleft())
        done_prefill: list[int] = []
        prefill_s = 0.0
        if chunked or (with_decode and prefilling):  # 2. prefill rides this iteration
            if chunked:  # a token budget, prompts split at its end
                budget = chunk_tokens
                for i in prefilling:
                    if budget <= 0:
                        break
                    take = min(budget, int(left_prompt[i]))
                    prefill_s += work[i] * take / prompts[i]
                    left_prompt[i] -= take
                    budget -= take
                    if left_prompt[i] == 0:
                        done_prefill.append(i)
            else:  # whole prompts up to the step's budget, at least one
                done_prefill = _whole_prompts(prefilling, prompts, step_tokens)
                prefill_s = float(sum(work[i] for i in done_prefill))
            n_dec = len(decoding)
            dt = max(decode_step[n_dec] + prefill_s, host[n_dec]) if n_dec else prefill_s + (
                max(fixed[i] for i in done_prefill) if done_prefill else decode_step[0])
        elif prefilling:  # unchunked: one prefill batch (up to the step's token budget,
            # at least one prompt), decoding pauses
            done_prefill = _whole_prompts(prefilling, prompts, step_tokens)
            prefill_s = float(sum(work[i] for i in done_prefill))
            dt = prefill_s + max(fixed[i] for i in done_prefill)
            n_dec = 0
        else:
            n_dec = len(decoding)
            dt = max(decode_step[n_dec], host[n_dec])
        t += dt
        if n_dec:  # 3. decode one token each; 4. retire
            still = []
            for i in decoding:
                left_out[i] -= 1
                if left_out[i] <= 0:
                    finish[i] = t
                else:
                    still.append(i)
            decoding = still
        for i in done_prefill:  # the prefill's forward pass emits the first token
            prefilling.remove(i)
            ttft[i] = t - arrivals[i]
            left_out[i] -= 1
            if left_out[i] <= 0:
                finish[i] = t
            else:
                decoding.append(i)
    gaps = outputs.astype(np.float64) - 1.0
    with np.errstate(invalid="ignore", divide="ignore"):
        tpot = np.where(gaps > 0, (finish - arrivals - ttft) / np.maximum(gaps, 1.0), np.nan)
    return ReferenceResult(arrivals, ttft, tpot, finish, outputs)
