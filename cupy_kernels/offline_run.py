"""An offline benchmark run of a finite request set, iteration by iteration.

Published serving throughputs (``trtllm-bench throughput`` and the like) are measured by
queueing a fixed dataset of ``requests`` equal requests at once and dividing the output
tokens by the time until the last one finishes. That figure is not the replica's
steady-state throughput (:func:`cupy_kernels.inference.replica_throughput`):

* **ramp-up**: the runtime admits requests only as fast as its per-iteration token budget
  (``token_budget``: decode tokens plus chunked prompt tokens, TensorRT-LLM's
  ``max_num_tokens``) lets it prefill them, so the batch fills over the first iterations;
* **waves**: requests admitted together finish together, so the batch empties and refills
  in steps rather than staying full;
* **drain**: once the queue is empty the last requests run at a batch that shrinks to
  nothing (a dataset barely larger than the batch leaves a long tail at a small batch).

:func:`offline_run_throughput` replays such a run on the kernels' own step times: per
iteration, the GPU time of a decode step of the requests in their output phase (any batch
size, from ``decode_s``) plus the compute of the prompt tokens prefilled in it
(``prefill_s_per_token``), never less than the host's time for the running requests
(``host_s_per_seq`` each). Admission is first come, first served, up to ``batch_cap``
requests in flight (context or output phase); prompts are chunked into the budget left
after the decode tokens. A request emits its first token when its prefill completes and
one more per iteration until it has ``output`` tokens. Stretches in which nothing but
decoding happens are advanced to the next finishing group at once, so the cost is per
admission, not per token. As ``requests`` grows the result tends to the steady-state
throughput at ``batch_cap``; it is never above it by more than the one-token difference
between the two accountings. Units: seconds, tokens.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

__all__ = ["offline_run_seconds", "offline_run_throughput"]


def offline_run_seconds(prompt: int, output: int, requests: int, batch_cap: int,
                        token_budget: int, decode_s: Sequence[float],
                        prefill_s_per_token: float, host_s_per_seq: float,
                        idle_s: float) -> float:
    """Seconds from queueing ``requests`` requests of ``prompt`` + ``output`` tokens at once
    to the last one's last token.

    ``decode_s[b]`` is the GPU time (s) of an iteration decoding ``b`` requests
    (``b = 1 .. batch_cap``; index 0 unused); ``idle_s`` that of an iteration with no
    request in its output phase (prefill only: the weights are still read once).
    """
    if min(prompt, output, requests, batch_cap, token_budget) < 1:
        raise ValueError("prompt, output, requests, batch_cap and token_budget must be >= 1")
    if len(decode_s) < batch_cap + 1:
        raise ValueError(f"decode_s needs batch_cap + 1 = {batch_cap + 1} entries, "
                         f"got {len(decode_s)}")
    waiting = requests  # not yet admitted
    admitted = 0  # admitted, prefill not started
    head_left = 0  # prompt tokens left of the request being prefilled (0: none)
    groups: deque[list[int]] = deque()  # [iteration of its last token, requests]
    decoding = 0  # requests in their output phase
    iteration = 0
    t = 0.0
    while waiting or admitted or head_left or decoding:
        room = batch_cap - admitted - (1 if head_left else 0) - decoding
        if room > 0 and waiting:
            k = min(room, waiting)
            admitted += k
            waiting -= k
        if not admitted and not head_left:
            # Only decoding until the next group finishes (the batch is full or the
            # queue empty): advance to it at once.
            last, count = groups.popleft()
            steps = last - iteration
            gpu = decode_s[decoding]
            t += steps * max(gpu, host_s_per_seq * decoding)
            iteration = last
            decoding -= count
            continue
        budget = max(token_budget - decoding, 0)
        tokens = 0
        done = 0
        if head_left and budget:
            use = min(head_left, budget)
            head_left -= use
            budget -= use
            tokens += use
            done += head_left == 0
        if budget and admitted and not head_left:
            whole = min(admitted, budget // prompt)
            admitted -= whole
            done += whole
            tokens += whole * prompt
            budget -= whole * prompt
            if budget and admitted:
                admitted -= 1
                head_left = prompt - budget
                tokens += budget
        gpu = (decode_s[decoding] if decoding else idle_s) + prefill_s_per_token * tokens
        t += max(gpu, host_s_per_seq * decoding)
        iteration += 1
        while groups and groups[0][0] <= iteration:
            decoding -= groups.popleft()[1]
        if done and output > 1:
            groups.append([iteration + output - 1, done])
            decoding += done
    return t


def offline_run_throughput(prompt: int, output: int, requests: int, batch_cap: int,
                           token_budget: int, decode_s: Sequence[float],
                           prefill_s_per_token: float, host_s_per_seq: float,
                           idle_s: float) -> float:
    """Output tokens/s of the run of :func:`offline_run_seconds` (the benchmark's figure:
    ``requests·output`` over the run's time)."""
    seconds = offline_run_seconds(prompt, output, requests, batch_cap, token_budget,
                                  decode_s, prefill_s_per_token, host_s_per_seq, idle_s)
    return requests * output / seconds
