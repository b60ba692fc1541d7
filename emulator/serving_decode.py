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
that starts decoding at ``s`` with ``n`` output tokens ends at the ``e`` where
``∫_s^e rate = n``; its TPOT is ``(e - s) / n``.

``b`` and ``ρ`` are step functions of the intervals themselves (a request's end changes
the batch the others see), so the ends are a fixed point. :func:`fluid_decode_seconds`
takes one step of that iteration from given intervals (the caller repeats it, rerunning
its queue); sequences carried from earlier windows count as decoding from the window's
start until the time their slot frees, as their own windows computed it, and the
requests still to come after the window are expected to continue as the window's did
(:class:`Ahead`), so a decode that outlasts its window does not see the batch drain.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from emulator.serving_queue import (
    SlotPool,
    two_stage_batched_start_times,
    two_stage_start_times,
)

__all__ = ["Ahead", "StepTable", "decode_under_load", "fluid_decode_seconds"]

MAX_SHARE = 0.999
"""Cap on the prefill share of a stretch of time: a replica whose every pipeline is busy
prefilling still emits the odd decode token (keeps every rate positive)."""

AHEAD_SAMPLE = 1024
"""Requests of a window, at most, whose timings stand for those expected after it (every
k-th in arrival order)."""

MAX_POINTS = 8192
"""Times at which a window's load is resolved, at most (beyond it, an even share of every
kind of event time: a window of 30,000 requests costs about what one of 700 does)."""

TABLE_POINTS = 96
"""Batch sizes at which a service's step times are tabulated when it has more slots than
this (geometric between 1 and ``slots``; linear interpolation between them)."""


class StepTable:
    """A service's decode step GPU and host seconds as functions of the batch per replica.

    ``batches`` (ascending, from 1 to ``slots``) with ``gpu_s`` and ``host_s`` at each;
    between them the figures are interpolated linearly (both are affine in the batch but
    for the attention's and all-reduce's shape terms, so a few dozen points suffice).
    """

    __slots__ = ("batches", "gpu_s", "host_s", "slots")

    def __init__(self, batches: np.ndarray, gpu_s: np.ndarray, host_s: np.ndarray) -> None:
        self.batches = np.asarray(batches, dtype=np.float64)
        self.gpu_s = np.asarray(gpu_s, dtype=np.float64)
        self.host_s = np.asarray(host_s, dtype=np.float64)
        self.slots = float(self.batches[-1])

    @staticmethod
    def grid(slots: int) -> np.ndarray:
        """The batch sizes to tabulate for ``slots`` sequence slots per replica."""
        top = max(int(slots), 1)
        if top <= TABLE_POINTS:
            return np.arange(1, top + 1, dtype=np.float64)
        return np.unique(np.round(np.geomspace(1.0, top, TABLE_POINTS), 6))

    def at(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(GPU s, host s) of a decode step at ``batch`` sequences per replica (clipped to
        the table's range)."""
        b = np.clip(batch, self.batches[0], self.batches[-1])
        return (np.interp(b, self.batches, self.gpu_s),
                np.interp(b, self.batches, self.host_s))


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
    mean_output: float  # output tokens per request
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
        stop = self.until_s - after
        pick, first, last = self._sample(first_s, ends_s)
        prefill = self.prefill_to_s[pick] - self.starts_s[pick]
        weight = self.prefill_share[pick]
        scale, total = rate / first.size, float(weight.sum())

        def both(t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            t = np.maximum(t, 0.0)
            return (_covered(first, last, None, t),
                    total * t - _ramp(prefill, weight, t))

        decoding, prefilling = both(tau)
        if float(tau.max()) > stop:  # no arrivals after the run ends
            gone = both(tau - stop)
            decoding, prefilling = decoding - gone[0], prefilling - gone[1]
        return scale * decoding, scale * prefilling

    def breakpoints(self, first_s: np.ndarray, ends_s: np.ndarray) -> np.ndarray:
        """Times where the expected load after the window changes slope: the offsets from
        prefill start to first and last token of the requests :meth:`levels` samples,
        from :meth:`after_s`."""
        _, first, last = self._sample(first_s, ends_s)
        return self.after_s() + np.concatenate([first, last])


def _ramp(offsets: np.ndarray, weights: np.ndarray | None, t: np.ndarray) -> np.ndarray:
    """``Σ_i weights_i · max(t - offsets_i, 0)`` at each of the sorted times ``t``
    (weights 1: ``None``), without sorting ``offsets``: each is counted from the first of
    ``t`` after it (a bin count and two running sums over ``t``)."""
    above = np.searchsorted(t, offsets, side="right")  # the first t later than each offset
    size = t.size + 1
    count = np.cumsum(np.bincount(above, weights, minlength=size))[:-1]
    moment = np.cumsum(np.bincount(above, offsets if weights is None else weights * offsets,
                                   minlength=size))[:-1]
    return t * count - moment


def _covered(starts: np.ndarray, ends: np.ndarray, weights: np.ndarray | None,
             t: np.ndarray) -> np.ndarray:
    """``Σ_i weights_i · (max(t - starts_i, 0) - max(t - ends_i, 0))`` at each of the
    sorted times ``t``: the weighted time the intervals ``[starts, ends)`` have covered by
    ``t`` (one :func:`_ramp` over both ends, the ends weighted negatively)."""
    sign = np.concatenate([np.ones(starts.size), -np.ones(ends.size)])
    return _ramp(np.concatenate([starts, ends]),
                 sign if weights is None else sign * np.concatenate([weights, weights]), t)


def _mean_level(starts: np.ndarray, ends: np.ndarray, weights: np.ndarray | None,
                points: np.ndarray) -> np.ndarray:
    """The mean over each stretch ``[points[k], points[k+1])`` of the summed ``weights``
    of the intervals ``[starts, ends)`` covering it (the last entry: the sum at the last
    point); exact for any points (an interval that covers part of a stretch counts for
    that part)."""
    area = _covered(starts, ends, weights, points)
    width = np.diff(points)
    mean = np.divide(np.diff(area), width, out=np.zeros(width.size), where=width > 0)
    last = ((starts <= points[-1]) & (ends > points[-1]))
    tail = float(last.sum() if weights is None else weights[last].sum())
    return np.concatenate([mean, [tail]])


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
                         carried_from: float, carried_end: np.ndarray,
                         prefill: tuple[np.ndarray, np.ndarray, np.ndarray],
                         replicas: int, table: StepTable,
                         ahead: Ahead | None = None) -> np.ndarray:
    """Decode seconds of each request under the load of the given intervals (s).

    ``first_s`` is when each request starts decoding (its first token) and ``decode_s`` its
    decode time in the intervals assumed; ``carried_end`` the free times of the sequences
    decoding since ``carried_from`` (earlier windows); ``prefill`` the (start, end, share
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
    carried_end = carried_end[carried_end > low]
    on = (prefill[1] > low) & (prefill[0] <= last)
    prefill = (prefill[0][on], prefill[1][on], prefill[2][on])
    seq_start = np.concatenate([np.full(carried_end.size, carried_from), first_s])
    seq_end = np.concatenate([carried_end, ends])
    parts = [first_s, ends, carried_end[carried_end < last], prefill[0], prefill[1]]
    if ahead is not None and ahead.after_s() >= last:
        ahead = None  # every request has finished before the later ones start
    if ahead is not None:  # where the expected load after the window changes slope
        parts.append(ahead.breakpoints(first_s, ends))
    points = _grid(parts, low, last)
    sequences = _mean_level(seq_start, seq_end, None, points)
    prefilling = _mean_level(prefill[0], prefill[1], prefill[2], points)
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


def decode_under_load(slots: SlotPool, prefill_free: list[float], arrivals: np.ndarray,
                      hold_s: np.ndarray, fixed_s: np.ndarray, outputs: np.ndarray,
                      decode_s: np.ndarray, prefill_load: tuple[np.ndarray, np.ndarray],
                      carried_prefill: tuple[np.ndarray, np.ndarray, np.ndarray],
                      replicas: int, table: StepTable,
                      ahead: tuple[float, float, float] | None = None,
                      shared_s: np.ndarray | None = None,
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Prefill start times, decode seconds and prefill pipeline holds of a window's
    requests (s), consistent with each other: (starts, decode, holds).

    Each request holds a prefill pipeline for ``hold_s``, has its first token ``fixed_s``
    later and then decodes; ``decode_s`` is a first guess of the decode times.
    ``prefill_load`` gives, for each, how long from its prefill start and what share of
    its replica's GPU its prefill takes. ``carried_prefill`` holds the
    (start, end, share) of prefills still running from earlier windows. ``ahead`` is (arrival
    rate per s, window end, end of the run) for the requests expected after the window
    (:class:`Ahead`; ``None``: none expected). With ``shared_s`` (prefills run alone,
    without chunking) waiting prompts share prefill batches
    (:func:`two_stage_batched_start_times`: a prompt riding a batch holds its pipeline
    ``hold_s - shared_s``), and each prefill's GPU load lasts its hold. The window's
    queue (:func:`two_stage_start_times`, which updates ``slots`` and ``prefill_free`` in
    place) and :func:`fluid_decode_seconds` are repeated until the decode times move by
    :data:`MEAN_TOLERANCE` on average and :data:`MAX_TOLERANCE` at most (at most
    :data:`MAX_ITERATIONS` passes); the queue then runs once more with the decode times
    of that last step. The queue state left and the decode times returned are those of
    the last queue pass.
    """
    if arrivals.size:
        slots.settle(float(arrivals[0]))
    idle, busy, pipes = slots.idle, list(slots.busy), list(prefill_free)
    carried_from = float(arrivals[0]) if arrivals.size else 0.0
    carried_end = np.asarray(busy, dtype=np.float64)
    if arrivals.size and prefill_free:  # no prefill of the window starts before `floor`:
        # drop the carried ones over by then (an overloaded service's queued backlog)
        floor = max(float(arrivals[0]), min(prefill_free))
        on = carried_prefill[1] > floor
        carried_prefill = (carried_prefill[0][on], carried_prefill[1][on],
                           carried_prefill[2][on])
    starts, holds, done = np.empty(0), hold_s, False
    for attempt in range(MAX_ITERATIONS):
        if attempt:  # undo the previous pass's queue
            slots.idle, slots.busy, prefill_free[:] = idle, list(busy), pipes
        if shared_s is None:
            starts = two_stage_start_times(slots, prefill_free, arrivals, hold_s,
                                           fixed_s + decode_s)
        else:
            starts, holds = two_stage_batched_start_times(
                slots, prefill_free, arrivals, hold_s, shared_s, fixed_s + decode_s)
            prefill_load = (holds, prefill_load[1])
        if done or attempt == MAX_ITERATIONS - 1:
            break
        prefill = (np.concatenate([carried_prefill[0], starts]),
                   np.concatenate([carried_prefill[1], starts + prefill_load[0]]),
                   np.concatenate([carried_prefill[2], prefill_load[1]]))
        later = None if ahead is None or not arrivals.size else Ahead(
            ahead[0], ahead[1], ahead[2], len(slots), len(prefill_free), starts, holds,
            starts + prefill_load[0], prefill_load[1], float(np.mean(outputs)), table)
        new = fluid_decode_seconds(starts + holds + fixed_s, outputs, decode_s,
                                   carried_from, carried_end, prefill, replicas, table,
                                   later)
        moved = np.abs(new - decode_s) / np.maximum(decode_s, 1e-12)
        decode_s = new
        # converged: one more queue pass leaves the state of the times returned
        done = moved.size == 0 or (float(moved.mean()) <= MEAN_TOLERANCE
                                   and float(moved.max()) <= MAX_TOLERANCE)
    return starts, decode_s, holds
