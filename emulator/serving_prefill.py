"""How a window's prompts take their prefill pipeline, given the decode step in flight.

A prompt does not reach the GPU the moment it arrives: a continuously batching replica is
in the middle of a decode step for the sequences it is running. Without chunked prefill
the prompt's prefill step starts when that decode step ends (half a step later, on
average, for an arrival at a random moment): the step *in flight when the prompt arrives*
sets that wait. With chunked prefill its chunks ride the running batch's decode steps, so
the pipeline is held for its share of those steps and its first token waits for the end
of the step carrying its last chunk: the step *in flight when its prefill starts* (its
arrival, or later when it waited for a slot or a pipeline) sets how fast it prefills.
Either is the replica's batch at that moment, not the previous window's average (a load
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

from emulator.serving_steps import StepTable

__all__ = ["PrefillRule", "PrefillTimes", "step_in_flight"]


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
    in s. ``chunks`` is ``prompt / CHUNK_TOKENS`` per prompt under chunked prefill, or
    ``None`` when prefill steps run alone; then ``tokens`` (each prompt's tokens) and
    ``step_tokens`` (the most prompt tokens one prefill step takes; ``None``: no limit)
    bound how many waiting prompts share a step.

    With ``riding_s`` the decode step in flight (at the arrival without chunked prefill,
    at the prefill start with it) times the chance its replica is decoding (s):

    - chunked: the pipeline is held ``work + chunks · riding`` (its share of the steps
      its chunks ride); the first token comes ``overhead + (⌈chunks⌉ - chunks) · riding``
      after that (the rest of the step carrying its last chunk); its GPU load is ``work``
      spread over both;
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

    def times(self, riding_s: np.ndarray | float) -> PrefillTimes:
        """The prefill figures for steps in flight of ``riding_s`` (s; one per request or
        one for all)."""
        riding = np.broadcast_to(np.asarray(riding_s, dtype=np.float64), self.work_s.shape)
        if self.chunks is None:
            hold = self.work_s + self.overhead_s
            return PrefillTimes(hold, 0.5 * riding, hold, np.ones_like(hold),
                                self.overhead_s)
        hold = self.work_s + self.chunks * riding
        fixed = self.overhead_s + (np.ceil(self.chunks) - self.chunks) * riding
        span = hold + fixed
        share = np.divide(self.work_s, span, out=np.ones_like(span), where=span > 0)
        return PrefillTimes(hold, fixed, span, share, None)


def step_in_flight(times_s: np.ndarray, first_s: np.ndarray, last_s: np.ndarray,
                   replicas: int, table: StepTable,
                   sorted_also: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """The decode step in flight at each of ``times_s`` (unchunked prompts' arrivals or
    chunked prompts' prefill starts), times the chance that the replica the prompt goes
    to is decoding (s).

    ``[first_s, last_s)`` are the intervals during which the service's sequences decode,
    first token to last (the window's own and those carried from earlier windows; a
    prompt queued for its prefill holds a slot without decoding); ``sorted_also`` more
    of them, their first and their last tokens each sorted already (a window's carried
    sequences, sorted once for all its passes). With ``k`` of them
    decoding at such a time, spread over the service's ``replicas`` at random, its replica
    decodes with probability ``q = 1 - (1 - 1/replicas)^k`` (1 for one replica and any
    ``k ≥ 1``), at a batch of ``k / replicas / q`` sequences, whose step takes
    ``max(G, H)`` of the service's :class:`StepTable`.
    """
    if times_s.size == 0:
        return np.empty(0)
    k = (np.searchsorted(np.sort(first_s), times_s, side="right")
         - np.searchsorted(np.sort(last_s), times_s, side="right"))
    if sorted_also is not None:
        k += (np.searchsorted(sorted_also[0], times_s, side="right")
              - np.searchsorted(sorted_also[1], times_s, side="right"))
    k = k.astype(np.float64)
    r = max(int(replicas), 1)
    if r == 1:
        return table.step_at(np.maximum(k, 1.0)) * np.minimum(k, 1.0)
    busy = 1.0 - (1.0 - 1.0 / r) ** k
    batch = np.divide(k / r, busy, out=np.ones_like(k), where=busy > 0)
    return table.step_at(np.maximum(batch, 1.0)) * busy
