"""How a window's prompts take their prefill pipeline, given the decode step in flight.

A prompt does not reach the GPU the moment it arrives: a continuously batching replica is
in the middle of a decode step for the sequences it is running. Without chunked prefill
the prompt's prefill step starts when that decode step ends (half a step later, on
average, for an arrival at a random moment): the step *in flight when the prompt arrives*
sets that wait. With chunked prefill its chunks ride the running batch's decode steps, so
the pipeline is held for its share of those steps and its first token waits for the end
of the step carrying its last chunk: the step *in flight when its prefill starts* (its
arrival, or later when it waited for a slot or a pipeline) sets how fast it prefills.
A whole prompt run in the decode's forward pass (TensorRT-LLM's in-flight batching) rides
as a chunk does, and also waits out the step in flight when its prefill starts, with the
other prompts' prefill that step carries (:func:`step_in_flight_with_prefill`).
Each is the replica's batch at that moment, not the previous window's average (a load
that starts within a window would otherwise see an idle replica until the next one). A
chunked prompt's step is not the one at its arrival: an overloaded replica's prompts wait
minutes for their prefill, and measured at their arrivals they prefilled at the speed of
the batch of minutes before, a delayed feedback that made the time per token swing from
window to window.

:class:`PrefillRule` turns that step (``riding_s``, s per request) into the times the
window's queue and decode model use; :func:`step_in_flight` measures it from the
sequences decoding at given times.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from emulator.serving_intervals import covered
from emulator.serving_steps import StepTable

__all__ = ["CHUNK_TOKENS", "MAX_GPU_SHARE", "PREFILL_LOOKBACK_S", "PrefillRule",
           "PrefillTimes", "prefill_chunks", "step_in_flight", "step_in_flight_with_prefill",
           "steps_and_chances"]

CHUNK_TOKENS = 2048
"""Prompt tokens per chunk under chunked prefill (vLLM's default token budget per step
with chunked prefill, ``max_num_batched_tokens``)."""

MAX_GPU_SHARE = 0.999
"""Cap on the prefill share of a replica's GPU (keeps a stretched step finite)."""


def prefill_chunks(prompts: np.ndarray, chunked: bool, with_decode: bool,
                   step_tokens: int) -> np.ndarray | None:
    """Each prompt's share of the decode steps it rides (``prompt / budget``), or ``None``
    when prefill steps run alone (``prompts`` in tokens).

    Under chunked prefill the budget is ``CHUNK_TOKENS``, filled to the token. Whole
    prompts (``with_decode``) fill a step's ``step_tokens`` ``B`` only until the next
    prompt does not fit: a step stops short by the residual of a prompt, on average
    ``E[p²] / (2 E[p])`` tokens (over ``prompts``), so the budget a step delivers is ``B``
    less that, and never less than the length-weighted mean prompt (one per step) when
    prompts are long against ``B``; a prompt longer than that runs alone in one step
    (a share of 1), as a runtime runs it.
    """
    if chunked:
        return prompts / CHUNK_TOKENS
    if not with_decode:
        return None
    budget = float(step_tokens)
    total = float(prompts.sum())
    if total > 0.0:
        weighted = float(np.square(prompts, dtype=np.float64).sum()) / total  # E[p²]/E[p]
        budget = max(budget - 0.5 * weighted, min(budget, weighted))
    return np.minimum(prompts / budget, 1.0)


class PrefillTimes(NamedTuple):
    """A window's prefill figures for one guess of the steps in flight (s, per request)."""

    hold_s: np.ndarray  # how long each holds its prefill pipeline
    fixed_s: np.ndarray  # from the end of that hold to its first token
    load_span_s: np.ndarray  # how long from its prefill start it loads its replica's GPU
    load_share: np.ndarray  # and what share of that GPU meanwhile
    shared_s: np.ndarray | None  # what a prefill batch pays once (None: no batches)


@dataclass(frozen=True)
class PrefillRule:
    """Prefill timing of a window's prompts as a function of the decode step in flight.

    ``work_s`` is each prompt's own GPU work (its FLOPs and tensor-parallel all-reduces)
    and ``overhead_s`` the fixed part of a prefill step (weight read, step overhead), both
    in s. ``chunks`` is each prompt's share of the decode steps it rides (``prompt /
    CHUNK_TOKENS`` under chunked prefill; whole prompts run with the decode are taken as
    chunks of the step's budget: :func:`prefill_chunks`), or ``None`` when
    prefill steps run alone; then ``tokens`` (each prompt's tokens) and
    ``step_tokens`` (the most prompt tokens one prefill step takes; ``None``: no limit)
    bound how many waiting prompts share a step.

    With ``riding_s`` the decode step in flight (at the arrival when prefill steps run
    alone, at the prefill start when prompts ride the decode steps, chunked or whole)
    times the chance its replica is decoding (s):

    - chunked: the pipeline is held ``work + chunks · riding`` (its share of the steps
      its chunks ride); the first token comes ``overhead + (⌈chunks⌉ - chunks) · riding``
      after that (the rest of the step carrying its last chunk); its GPU load is ``work``
      spread over both;
    - whole prompts with the decode (``joins_next_step``): held as chunked, but a prompt
      joins the step after the one in flight when its prefill starts, so its first token
      also waits half that step, ``in_flight`` (the decode step stretched by the other
      prompts' prefill in it, :func:`step_in_flight_with_prefill`), and the end of its
      own step, which carries, besides the decode and the prompts ahead of it in the
      pipeline (its queue wait), on average half the step's other prefill,
      ``(in_flight - riding) / 2``; it pays the fixed part only with the chance
      ``1 - busy`` that its replica is idle (a step that decodes has read the weights and
      paid the step overhead already), as the token-level reference runs it; its GPU
      load is ``work`` over its hold only (the pipeline's holds tile the time a prefill
      train takes, so the shares add up to the GPU's prefill time; spread over the rest
      of the step too, overlapping spans summed past 1 and were capped, and a
      prefill-bound burst decoded 16-76 % too fast);
    - unchunked: the prefill step starts when the decode step in flight ends,
      ``riding / 2`` on average, which delays the first token; the pipeline is held
      ``work + overhead`` (prompts waiting when a step begins share it, its ``overhead``
      paid once), all of the GPU meanwhile.
    """

    work_s: np.ndarray
    overhead_s: np.ndarray
    chunks: np.ndarray | None
    tokens: np.ndarray | None = None
    step_tokens: float | None = None
    joins_next_step: bool = False

    def budget_work_s(self) -> float:
        """GPU seconds of a step's full budget of prompt tokens (``step_tokens`` at the
        window's mean work per token): the most prefill one step carries (0 without a
        budget or prompts)."""
        if self.step_tokens is None or self.tokens is None or not self.tokens.size:
            return 0.0
        return (float(self.step_tokens) * float(self.work_s.sum())
                / max(float(self.tokens.sum()), 1.0))

    def times(self, riding_s: np.ndarray | float, busy: np.ndarray | None = None,
              in_flight_s: np.ndarray | None = None) -> PrefillTimes:
        """The prefill figures for steps in flight of ``riding_s`` (s; one per request or
        one for all). With ``joins_next_step``: ``busy`` is the chance each prompt's
        replica is decoding (``None``: 1 where ``riding_s`` > 0) and ``in_flight_s`` the
        step in flight, prefill included, that the prompt waits out (``None``:
        ``riding_s``)."""
        riding = np.broadcast_to(np.asarray(riding_s, dtype=np.float64), self.work_s.shape)
        if self.chunks is None:
            hold = self.work_s + self.overhead_s
            return PrefillTimes(hold, 0.5 * riding, hold, np.ones_like(hold),
                                self.overhead_s)
        hold = self.work_s + self.chunks * riding
        fixed = self.overhead_s + (np.ceil(self.chunks) - self.chunks) * riding
        span = hold + fixed
        if self.joins_next_step:  # the fixed part only on an idle replica; its GPU load
            # is its work over its hold (see the class docstring)
            decoding = (riding > 0.0).astype(np.float64) if busy is None else busy
            flight = riding if in_flight_s is None else in_flight_s
            fixed = (self.overhead_s * (1.0 - decoding)  # idle: a prefill-only step
                     + (np.ceil(self.chunks) - self.chunks) * riding  # its step's decode
                     + 0.5 * (flight - riding)  # the prefill behind it in its step
                     + 0.5 * flight)  # the wait for the step in flight
            span = hold
        share = np.divide(self.work_s, span, out=np.ones_like(span), where=span > 0)
        return PrefillTimes(hold, fixed, span, share, None)


def step_in_flight(times_s: np.ndarray, first_s: np.ndarray, last_s: np.ndarray,
                   replicas: int, table: StepTable,
                   sorted_also: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """The decode step in flight at each of ``times_s`` times the chance the prompt's
    replica is decoding (s): the first of :func:`steps_and_chances`."""
    return steps_and_chances(times_s, first_s, last_s, replicas, table, sorted_also)[0]


def step_in_flight_with_prefill(riding_s: np.ndarray, times_s: np.ndarray,
                                prefill: tuple[np.ndarray, np.ndarray, np.ndarray],
                                replicas: int, budget_work_s: float) -> np.ndarray:
    """The step in flight at each of ``times_s`` with the prefill it carries (s).

    ``riding_s`` is the decode step in flight there (:func:`step_in_flight`) and
    ``prefill`` the (start, end, GPU share) of the replicas' prefills (those over within
    a lookback of the window included, :func:`emulator.serving_carry.carry_prefills`):
    with ``ρ`` the
    mean share of a replica's GPU they took over the :data:`PREFILL_LOOKBACK_S` before
    each time, the step is stretched to ``riding / (1 - ρ)``, as a decode step is
    (:mod:`emulator.serving_decode`), but by at most the prefill one step carries,
    ``budget_work_s`` (a step takes at most its token budget).
    """
    starts, ends, shares = prefill
    if not starts.size:
        return np.asarray(riding_s, dtype=np.float64).copy()
    n = times_s.size
    query = np.concatenate([times_s - PREFILL_LOOKBACK_S, times_s])
    order = np.argsort(query, kind="stable")
    taken = np.empty(query.size)  # GPU-share seconds the prefills took by each time
    taken[order] = covered(starts, ends, shares, query[order])
    mean = (taken[n:] - taken[:n]) / PREFILL_LOOKBACK_S
    share = np.clip(mean / max(int(replicas), 1), 0.0, MAX_GPU_SHARE)
    return np.minimum(riding_s / (1.0 - share), riding_s + budget_work_s)


PREFILL_LOOKBACK_S = 1.0
"""Seconds over which the prefill share of the step in flight is averaged. Not the instant
before the prompt: a prompt that queued for its pipeline starts as the one ahead of it
ends, so the share just before it is that prompt's, not the step's (the share at the
instant gave TTFT 45 % short of the token-level reference near saturation, a lookback of
one or two decode steps up to 120 % long); a second holds many steps, and 1 s and 5 s give
the same agreement with the reference on validation round 13's runs."""


def steps_and_chances(times_s: np.ndarray, first_s: np.ndarray, last_s: np.ndarray,
                      replicas: int, table: StepTable,
                      sorted_also: tuple[np.ndarray, np.ndarray] | None = None
                      ) -> tuple[np.ndarray, np.ndarray]:
    """The decode step in flight at each of ``times_s`` (the arrivals of prompts whose
    prefill steps run alone, or the prefill starts of prompts that ride the decode steps,
    chunked or whole), times the chance that the replica the prompt goes to is decoding
    (s).

    ``[first_s, last_s)`` are the intervals during which the service's sequences decode,
    first token to last (the window's own and those carried from earlier windows; a
    prompt queued for its prefill holds a slot without decoding); ``sorted_also`` more
    of them, their first and their last tokens each sorted already (a window's carried
    sequences, sorted once for all its passes). With ``k`` of them
    decoding at such a time, spread over the service's ``replicas`` at random, its replica
    decodes with probability ``q = 1 - (1 - 1/replicas)^k`` (1 for one replica and any
    ``k ≥ 1``), at a batch of ``k / replicas / q`` sequences, whose step takes
    ``max(G, H)`` of the service's :class:`StepTable`. Returns (that step times ``q``,
    ``q``).
    """
    if times_s.size == 0:
        return np.empty(0), np.empty(0)
    k = (np.searchsorted(np.sort(first_s), times_s, side="right")
         - np.searchsorted(np.sort(last_s), times_s, side="right"))
    if sorted_also is not None:
        k += (np.searchsorted(sorted_also[0], times_s, side="right")
              - np.searchsorted(sorted_also[1], times_s, side="right"))
    k = k.astype(np.float64)
    r = max(int(replicas), 1)
    if r == 1:
        busy = np.minimum(k, 1.0)
        return table.step_at(np.maximum(k, 1.0)) * busy, busy
    busy = 1.0 - (1.0 - 1.0 / r) ** k
    batch = np.divide(k / r, busy, out=np.ones_like(k), where=busy > 0)
    return table.step_at(np.maximum(batch, 1.0)) * busy, busy
