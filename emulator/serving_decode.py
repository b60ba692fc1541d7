"""Decode time of each request at the load it actually runs under (a fluid model).

A sequence of a continuously batched replica emits one token per decode step, and the step
takes longer the more sequences share it (each reads its own KV cache) and while prompts
are prefilled between or inside the steps. A window's requests therefore do not all see
the same time per output token (TPOT): a burst that fills the batch slows every sequence
in flight, and one that drains speeds the last ones up.

The replica is treated as a fluid: at time ``t`` a sequence in decode emits tokens at

    rate(t) = 1 / max(G(b(t)) / (1 - ρ(t)), H(b(t)))     tokens/s,

where ``b(t)`` is the number of sequences in decode per replica (the service's pooled
slots are shared evenly by its replicas; at least 1, at most ``slots``), ``ρ(t)`` the share
of the replicas' GPU time spent prefilling at ``t`` (at most :data:`MAX_SHARE`), and ``G``/``H``
the decode step's GPU and host seconds at that batch (the host prepares a step while the
GPU runs the previous one, so a host-bound step is not stretched by prefill). A request
that starts decoding at ``s`` (its first token, from the prefill) with ``N`` output
tokens has ``n = N - 1`` decode steps (:func:`decode_steps`) and ends at the ``e`` where
``∫_s^e rate = n``; its TPOT is ``(e - s) / n`` (none for ``N = 1``).

``b`` and ``ρ`` are step functions of the intervals themselves (a request's end changes
the batch the others see), so the ends are a fixed point. :func:`fluid_decode_seconds`
takes one step of that iteration from given intervals (the caller repeats it, rerunning
its queue); sequences carried from earlier windows count as decoding from their first
token to their last, as their own windows computed them (a prompt still queued for its
prefill holds a slot but does not decode), and the
requests still to come after the window are expected to continue as the window's did
(:class:`Ahead`), so a decode that outlasts its window does not see the batch drain.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from emulator.serving_intervals import covered, mean_level, ramp
from emulator.serving_prefill import (
    MAX_GPU_SHARE,
    PREFILL_LOOKBACK_S,
    PrefillRule,
    step_in_flight_with_prefill,
    steps_and_chances,
)
from emulator.serving_queue import (
    SlotPool,
    two_stage_batched_start_times,
    two_stage_start_times,
)
from emulator.serving_steps import StepTable

__all__ = ["Ahead", "StepTable", "WindowTimes", "decode_steps", "decode_under_load",
           "fluid_decode_seconds"]

MAX_SHARE = MAX_GPU_SHARE
"""Cap on the prefill share of a stretch of time (0.999): a replica whose every pipeline is
busy prefilling still emits the odd decode token (keeps every rate positive)."""

AHEAD_SAMPLE = 1024
"""Requests of a window, at most, whose timings stand for those expected after it (every
k-th in arrival order)."""

MAX_POINTS = 8192
"""Times at which a window's load is resolved, at most (beyond it, an even share of every
kind of event time: a window of 30,000 requests costs about what one of 700 does)."""


def decode_steps(output_tokens: np.ndarray) -> np.ndarray:
    """Decode steps of requests of ``output_tokens`` output tokens each: ``N - 1`` (at
    least 0). The prefill's forward pass emits the first token (its time is the TTFT),
    each decode step one more, so a one-token request is done at its first token and
    ``TPOT = (e2e - TTFT)/(N - 1)`` (vLLM, TensorRT-LLM, GenAI-Perf)."""
    return np.maximum(np.asarray(output_tokens, dtype=np.float64) - 1.0, 0.0)


@dataclass(frozen=True)
class Ahead:
    """The requests after the window, assumed to continue as in it (times in s).

    A window's requests decode partly after it ends, alongside requests that have not
    arrived yet. Those are taken to start their prefills at a steady rate from ``after``,
    the later of the window's end and its last prefill start (an overloaded window's
    backlog goes first), each then taking the time to its first token, decoding, and
    prefilling as one of the window's requests, drawn at random, did (offsets from its
    prefill start ``s_i``/``e_i``; every k-th request stands for the window, at most
    :data:`AHEAD_SAMPLE`): the expected number decoding at ``after + τ`` is
    ``rate · mean_i[(τ - s_i)⁺ - (τ - e_i)⁺]``, less the same at ``τ - (until_s - after)``
    (no arrivals after the run ends); their prefills likewise, weighted by their GPU share.
    The rate is the one expected after the window (the caller's: a synthetic service's
    Poisson rate, a replayed trace's arrivals over the next window), at most what the
    service sustains (:meth:`sustained_rate`: a saturated service admits no faster than
    it finishes). Without it a request near the end of a window would see the batch
    drain (the window's later arrivals are all it knows), and decode too fast.
    """

    arrival_rate_per_s: float
    window_end_s: float
    until_s: float
    slots: int  # the service's sequence slots
    pipelines: int  # its prefill pipelines (one per replica)
    starts_s: np.ndarray  # the window's prefill starts
    hold_s: np.ndarray  # how long each holds its pipeline
    prefill_to_s: np.ndarray  # the end of each prefill's GPU load, and its share
    prefill_share: np.ndarray
    mean_output: float  # decode steps per request (output tokens less the first)
    table: StepTable

    def sustained_rate(self, first_s: np.ndarray) -> float:
        """Requests per s the service admits in steady state, at most the arrival rate.

        Its pipelines admit at most ``pipelines / mean hold``. With every slot busy, a
        request holds its slot for ``S + out · T`` (``S``: prefill start to first token;
        ``T``: the step at a full batch, stretched by the prefill share ``ρ = rate · P /
        pipelines``, ``P`` the GPU seconds of a prefill), and Little's law caps the rate
        at ``rate · (S + out · T(ρ)) ≤ slots``; the largest rate meeting both, by
        bisection (the left side grows with the rate).
        """
        hold = float(np.mean(self.hold_s))
        top = min(self.arrival_rate_per_s,
                  self.pipelines / hold if hold > 0 else math.inf)
        if not math.isfinite(top):
            return self.arrival_rate_per_s
        to_first = float(np.mean(first_s - self.starts_s))
        work = float(np.mean((self.prefill_to_s - self.starts_s) * self.prefill_share))
        gpu, host = self.table.at(np.array([self.slots / max(self.pipelines, 1)]))

        def in_service(rate: float) -> float:
            share = min(rate * work / max(self.pipelines, 1), MAX_SHARE)
            step = max(float(gpu[0]) / (1.0 - share), float(host[0]))
            return rate * (to_first + self.mean_output * step)

        if in_service(top) <= self.slots:
            return top
        low, high = 0.0, top
        for _ in range(40):
            mid = 0.5 * (low + high)
            low, high = (mid, high) if in_service(mid) <= self.slots else (low, mid)
        return low

    def after_s(self) -> float:
        """When the requests after the window start: the later of the window's end and
        its last prefill start."""
        return max(self.window_end_s, float(self.starts_s.max()))

    def _sample(self, first_s: np.ndarray, ends_s: np.ndarray) -> tuple[slice, np.ndarray,
                                                                        np.ndarray]:
        """The requests that stand for the window (every k-th, at most
        :data:`AHEAD_SAMPLE`) and their offsets from prefill start to first and to last
        token: (which, first, last)."""
        pick = slice(None, None, -(-first_s.size // AHEAD_SAMPLE))
        starts = self.starts_s[pick]
        return pick, first_s[pick] - starts, ends_s[pick] - starts

    def levels(self, first_s: np.ndarray, ends_s: np.ndarray,
               at: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(sequences decoding, prefill share summed) expected at times ``at`` (all after
        :meth:`after_s`) from the requests after the window."""
        after = self.after_s()
        rate = self.sustained_rate(first_s)
        tau = at - after
        # no arrivals after the run ends; none at all when the window's backlog lasts
        # past it (a negative span would take away requests never added)
        stop = max(self.until_s - after, 0.0)
        pick, first, last = self._sample(first_s, ends_s)
        prefill = self.prefill_to_s[pick] - self.starts_s[pick]
        weight = self.prefill_share[pick]
        scale, total = rate / first.size, float(weight.sum())

        def both(t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            t = np.maximum(t, 0.0)
            return (covered(first, last, None, t),
                    total * t - ramp(prefill, weight, t))

        decoding, prefilling = both(tau)
        if float(tau.max()) > stop:
            gone = both(tau - stop)
            decoding, prefilling = decoding - gone[0], prefilling - gone[1]
        return scale * decoding, scale * prefilling

    def breakpoints(self, first_s: np.ndarray, ends_s: np.ndarray) -> np.ndarray:
        """Times where the expected load after the window changes slope: the offsets from
        prefill start to first and last token of the requests :meth:`levels` samples,
        from :meth:`after_s`."""
        _, first, last = self._sample(first_s, ends_s)
        return self.after_s() + np.concatenate([first, last])


def _grid(parts: list[np.ndarray], low: float, high: float) -> np.ndarray:
    """The times (sorted, unique, from ``low`` to ``high``) at which the load is resolved:
    every event time when they are at most :data:`MAX_POINTS`, else an even share of
    each kind (every k-th, in the order given) and the two ends."""
    times = np.concatenate(parts)
    if times.size > MAX_POINTS:
        times = times[::-(-times.size // MAX_POINTS)]
    times = np.unique(np.concatenate([times, [low, high]]))
    return times[(times >= low) & (times <= high)]


def fluid_decode_seconds(first_s: np.ndarray, outputs: np.ndarray, decode_s: np.ndarray,
                         carried: tuple[np.ndarray, np.ndarray],
                         prefill: tuple[np.ndarray, np.ndarray, np.ndarray],
                         replicas: int, table: StepTable,
                         ahead: Ahead | None = None) -> np.ndarray:
    """Decode seconds of each request under the load of the given intervals (s).

    ``first_s`` is when each request starts decoding (its first token), ``outputs`` its
    decode steps (output tokens after the first, :func:`decode_steps`) and ``decode_s``
    its decode time in the intervals assumed; ``carried`` the (first token, last token) of
    the sequences of earlier windows whose decode is not over (a prompt queued for its
    prefill holds a slot but does not decode yet); ``prefill`` the (start, end, share
    of the GPU) of every prefill in progress; ``ahead`` the arrivals expected after the
    window (:class:`Ahead`; ``None``: none). Returns each request's decode time with the
    rates those intervals give (one step of the fixed point; see the module docstring).
    """
    n = first_s.size
    if n == 0:
        return np.empty(0)
    ends = first_s + decode_s
    low, last = float(first_s.min()), float(ends.max())
    # only what overlaps [low, last] counts (an overloaded service carries hours of queued
    # prefills and a full pool of busy slots, nearly all outside it)
    keep = (carried[1] > low) & (carried[0] < last)
    carried_from, carried_end = carried[0][keep], carried[1][keep]
    on = (prefill[1] > low) & (prefill[0] <= last)
    prefill = (prefill[0][on], prefill[1][on], prefill[2][on])
    seq_start = np.concatenate([carried_from, first_s])
    seq_end = np.concatenate([carried_end, ends])
    parts = [first_s, ends, carried_end[carried_end < last],
             carried_from[carried_from > low], prefill[0], prefill[1]]
    if ahead is not None and ahead.after_s() >= last:
        ahead = None  # every request has finished before the later ones start
    if ahead is not None:  # where the expected load after the window changes slope
        parts.append(ahead.breakpoints(first_s, ends))
    points = _grid(parts, low, last)
    sequences = mean_level(seq_start, seq_end, None, points)
    prefilling = mean_level(prefill[0], prefill[1], prefill[2], points)
    if ahead is not None:  # the expected load at the middle of each stretch after it
        middle = np.concatenate([(points[:-1] + points[1:]) * 0.5, points[-1:]])
        later = middle > ahead.after_s()
        more, busy = ahead.levels(first_s, ends, middle[later])
        sequences[later] += more
        prefilling[later] += busy
    per_replica = 1.0 / max(replicas, 1)
    batch = np.maximum(sequences * per_replica, 1.0)
    share = np.minimum(prefilling * per_replica, MAX_SHARE)
    gpu, host = table.at(batch)
    rate = 1.0 / np.maximum(gpu / (1.0 - share), host)  # tokens/s on [points[k], points[k+1])
    tokens = np.concatenate([[0.0], np.cumsum(rate[:-1] * np.diff(points))])
    target = np.interp(first_s, points, tokens) + outputs
    seg = np.searchsorted(tokens, target, side="right") - 1
    end = points[seg] + (target - tokens[seg]) / rate[seg]
    return np.maximum(end, first_s) - first_s


MAX_ITERATIONS = 8
"""Passes of the fixed point per window at most (each reruns the window's queue)."""

MEAN_TOLERANCE = 5e-3
"""The fixed point stops when the decode times move by at most this share on average ...
(0.2 % until the times of the step that meets it were kept, with one more queue pass: a
light window's first step moves them by about 0.3 % on average, so it took a second
step that changed nothing the token-level reference tests can see)."""

MAX_TOLERANCE = 0.05
"""... and none by more than this share (a window's first pass moves some by 20-30 %,
its second by about 2 % at most and 0.1 % on average, its third by 0.5 %)."""


class WindowTimes(NamedTuple):
    """A window's requests' times from :func:`decode_under_load` (s, per request)."""

    starts_s: np.ndarray  # prefill starts
    decode_s: np.ndarray  # first token to last
    hold_s: np.ndarray  # how long each holds its prefill pipeline
    fixed_s: np.ndarray  # from the end of its hold to its first token (unchunked: the
    # wait for its batch's end, then the rule's fixed part)
    load_span_s: np.ndarray  # how long from its prefill start it loads its replica's GPU
    load_share: np.ndarray  # and what share of that GPU meanwhile
    riding_s: np.ndarray  # the decode step it waits for or rides (× its chance)
    ready_s: np.ndarray  # when it took its slot: its arrival, or when the request before
    # it on that slot ended (it waited for a slot)


def decode_under_load(slots: SlotPool, prefill_free: list[float], arrivals: np.ndarray,
                      rule: PrefillRule, riding_s: float, outputs: np.ndarray,
                      decode_s: np.ndarray,
                      carried_prefill: tuple[np.ndarray, np.ndarray, np.ndarray],
                      carried_decode: tuple[np.ndarray, np.ndarray],
                      replicas: int, table: StepTable,
                      ahead: tuple[float, float, float] | None = None) -> WindowTimes:
    """Prefill start times, decode seconds and prefill times of a window's requests,
    consistent with each other and with the decode step each prompt waits for or rides.

    ``rule`` says how each prompt holds a prefill pipeline and how long after that its
    first token comes, given the decode step in flight (``riding_s`` for all at first:
    the caller's guess from the windows before; then
    :func:`emulator.serving_prefill.step_in_flight` of the sequences decoding in the
    last pass, at each arrival when prefill steps run alone, at each prefill start when
    prompts ride the decode steps, chunked or whole);
    ``outputs`` are the requests' decode steps (output tokens after the first,
    :func:`decode_steps`) and ``decode_s`` a first guess of their decode times.
    ``carried_prefill`` holds the
    (start, end, share) of prefills still running from earlier windows and
    ``carried_decode`` the (first token, last token) of their requests whose decode is
    not over (queued ones included).
    ``ahead`` is (arrival rate per s, window end, end of the run) for the requests
    expected after the window (:class:`Ahead`; ``None``: none expected). Without chunked
    prefill, waiting prompts share prefill batches of at most ``rule.step_tokens`` prompt
    tokens (:func:`two_stage_batched_start_times`: a prompt riding a batch holds its
    pipeline for its own work only, and gets its first token when the batch ends: that
    wait is part of the ``fixed_s`` returned, and the queue's next pass gives the slot
    back after the wait of the last). The window's queue (which updates ``slots`` and
    ``prefill_free`` in place) and :func:`fluid_decode_seconds` are repeated until the
    decode times move by :data:`MEAN_TOLERANCE` on average and :data:`MAX_TOLERANCE` at
    most, and the prefills' mean time from start to first token (with the steps in
    flight measured) by at most :data:`MAX_TOLERANCE`, and, unchunked, the waits for the
    batches' ends (those the slots were given back with, against the pass's own) by at most
    :data:`MAX_TOLERANCE` of the time from prefill start to first token (at most
    :data:`MAX_ITERATIONS` passes); the queue then runs once more with the decode times
    and steps in flight of that last step (and, unchunked, gives the slots back with that
    step's waits, while the times returned carry the waits of the pass itself). Each pass
    moves the decode times to the new ones, or part of the way
    once the passes swing back and forth (each reversal of their mean direction halves
    the step, taken on the logarithms; each pass in the same direction doubles it again,
    up to the whole way): an overloaded window can otherwise alternate between a
    congested state (long decodes, slots freeing late) and a free one for ever, and keep
    whichever its last pass gave. The queue state left and the times returned are those
    of the last queue pass.
    """
    if arrivals.size:
        slots.settle(float(arrivals[0]))
    idle, busy, pipes = slots.idle, list(slots.busy), list(prefill_free)
    if arrivals.size and prefill_free:  # no prefill of the window starts before `floor`:
        # drop the carried ones over by a lookback before then (an overloaded service's
        # queued backlog; the prefill share of the second before a prompt is measured)
        floor = max(float(arrivals[0]), min(prefill_free))
        on = carried_prefill[1] > floor - PREFILL_LOOKBACK_S
        carried_prefill = (carried_prefill[0][on], carried_prefill[1][on],
                           carried_prefill[2][on])
    if arrivals.size:  # the carried decodes not over by the first arrival (none of the
        # window's prefills starts earlier)
        on = carried_decode[1] > arrivals[0]
        carried_decode = (carried_decode[0][on], carried_decode[1][on])
    # their first and last tokens sorted once for every pass's steps in flight (an
    # overloaded service carries hours of queued prompts; none needed without arrivals)
    carried_sorted = ((np.sort(carried_decode[0]), np.sort(carried_decode[1]))
                      if arrivals.size else None)
    riding = np.full(arrivals.size, riding_s)
    at = rule.times(riding)
    starts, holds, done = np.empty(0), at.hold_s, False
    waits = np.zeros(arrivals.size)  # unchunked: from a prompt's own hold to its batch's end
    waits_in = waits  # the waits the slots were last given back with
    weight, direction = 1.0, 0.0  # damping of the fixed point (see below)
    ready = np.empty(arrivals.size)  # when each took its slot (the last pass's)
    for attempt in range(MAX_ITERATIONS):
        if attempt:  # undo the previous pass's queue
            slots.idle, slots.busy, prefill_free[:] = idle, list(busy), pipes
        if at.shared_s is None:
            holds = at.hold_s
            starts = two_stage_start_times(slots, prefill_free, arrivals, holds,
                                           at.fixed_s + decode_s, ready)
            span = at.load_span_s
        else:  # unchunked: the pipeline's GPU load lasts each (batched) hold; the first
            # token comes when the batch ends (its slot, with the last pass's wait, after)
            waits_in = waits
            starts, holds, waits = two_stage_batched_start_times(
                slots, prefill_free, arrivals, at.hold_s, at.shared_s,
                at.fixed_s + waits_in + decode_s, rule.tokens, rule.step_tokens, ready)
            span = holds
        if done or attempt == MAX_ITERATIONS - 1:
            break
        prefill = (np.concatenate([carried_prefill[0], starts]),
                   np.concatenate([carried_prefill[1], starts + span]),
                   np.concatenate([carried_prefill[2], at.load_share]))
        later = None if ahead is None or not arrivals.size else Ahead(
            ahead[0], ahead[1], ahead[2], len(slots), len(prefill_free), starts, holds,
            starts + span, at.load_share, float(np.mean(outputs)), table)
        first = starts + holds + waits + at.fixed_s
        new = fluid_decode_seconds(first, outputs, decode_s, carried_decode, prefill,
                                   replicas, table, later)
        moved = np.abs(new - decode_s) / np.maximum(decode_s, 1e-12)
        # the next guess: the new times, or part of the way to them once the passes swing
        # back and forth (an overloaded window's queue and decode can alternate between a
        # congested and a free state for ever): each reversal halves the step, taken on
        # the times' logarithms
        ratio = np.divide(new, decode_s, out=np.ones_like(new), where=decode_s > 0)
        turn = float(np.log(np.maximum(ratio, 1e-300)).mean()) if ratio.size else 0.0
        if turn * direction < 0.0:
            weight *= 0.5
        elif weight < 1.0:  # the same way twice: longer steps again
            weight = min(2.0 * weight, 1.0)
        direction = turn
        decode_s = new if weight == 1.0 else decode_s * ratio ** weight
        # the steps in flight, among the sequences of that pass: prompts riding the
        # decode steps (chunked or whole), when each prefill starts (it rides the steps of
        # that moment, however long it queued); prefill steps alone, at each arrival (the
        # step a prompt waits for before its prefill step, or its batch's, can begin)
        riding, decoding = steps_and_chances(starts if rule.chunks is not None else arrivals,
                                             first, first + decode_s, replicas, table,
                                             carried_sorted)
        before = float((at.hold_s + at.fixed_s).sum())  # prefill start to first token
        # whole prompts with the decode wait out the step in flight, the other prompts'
        # prefill in it included
        flight = (step_in_flight_with_prefill(riding, starts, prefill, replicas,
                                              rule.budget_work_s())
                  if rule.joins_next_step else None)
        at = rule.times(riding, decoding, flight)
        after = float((at.hold_s + at.fixed_s).sum())
        # unchunked: the waits for the batches' ends the slots were given back with (the
        # last pass's) against this pass's
        waits_moved = (float(np.abs(waits - waits_in).sum()) if at.shared_s is not None
                       else 0.0)
        # converged (the decode times, and the mean time from prefill start to first token
        # with the steps in flight just measured): one more queue pass leaves the state of
        # the times returned
        done = moved.size == 0 or (
            float(moved.mean()) <= MEAN_TOLERANCE and float(moved.max()) <= MAX_TOLERANCE
            and abs(after - before) <= MAX_TOLERANCE * max(before, 1e-12)
            and waits_moved <= MAX_TOLERANCE * max(before + float(waits.sum()), 1e-12))
    return WindowTimes(starts, decode_s, holds, at.fixed_s + waits, span, at.load_share,
                       riding, ready)
