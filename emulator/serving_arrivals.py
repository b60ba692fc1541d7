"""The requests offered to a service: a replayed trace's rows or seeded Poisson draws.

A mixin of :class:`emulator.serving.ServingModel` (kept apart so each file has one
concern): each service draws its arrivals and token counts from its own named streams,
made once, so draws made while it waited to be placed are continued, never repeated; a
window cut short keeps the rest of its draws for the next call, so the requests offered
do not depend on where windows are cut. Requests to a service no replica serves are
logged as misses with no latency.
"""

from __future__ import annotations

import math

import numpy as np

from emulator.eventlog import RequestBatch
from emulator.rng import RngStreams
from emulator.serving_held import HeldRequests
from emulator.serving_runtime import ServiceRuntime
from emulator.work import Work
from workloads.requests import poisson_arrivals
from workloads.spec import InferenceServiceSpec

__all__ = ["RequestArrivals"]


class RequestArrivals:
    """The arrivals of :class:`emulator.serving.ServingModel`'s services."""

    # provided by ServingModel
    streams: RngStreams
    held: HeldRequests
    expected: list[Work]
    by_work: dict[int, ServiceRuntime]
    window_start: float
    window_s: float
    _rngs: dict[int, tuple[np.random.Generator, np.random.Generator]]
    _pending: dict[int, tuple[float, float, np.ndarray, np.ndarray, np.ndarray]]

    def _streams_of(self, work: Work) -> tuple[np.random.Generator, np.random.Generator]:
        """The service's (arrivals, tokens) generators, made once: draws made while it
        waited to be placed are continued, never repeated, once it serves."""
        rngs = self._rngs.get(work.work_id)
        if rngs is None:
            spec = work.spec
            assert isinstance(spec, InferenceServiceSpec)
            name = f"requests/{spec.tenant}/{spec.name}"
            rngs = self._rngs[work.work_id] = (self.streams.stream(name + "/arrivals"),
                                               self.streams.stream(name + "/tokens"))
        return rngs

    def _offer_unplaced(self, t0: float, t1: float) -> None:
        """Log the requests of ``[t0, t1)`` to submitted services not yet placed as
        misses (NaN latencies), as for a service whose every replica failed."""
        for work in self.expected:
            if work.state != "queued" or work.work_id in self.by_work:
                continue
            self._log_unserved(work, max(t0, work.submit_s), t1)

    def _log_unserved(self, work: Work, begin: float, end: float, *,
                      split: bool = False) -> None:
        """Log the requests to ``work`` arriving in ``[begin, end)`` as misses with no
        latency (NaN): no replica of it serves then. ``split``: ``end`` cuts a window
        (see :meth:`_arrivals`)."""
        if begin >= end:
            return
        times, prompts, outputs = self._arrivals(work, begin, end, split=split)
        if times.size:
            nan = np.full(times.size, np.nan)
            self.held.hold(RequestBatch(
                service=work.work_id, arrival_s=times, wait_s=nan, ttft_s=nan,
                tpot_s=nan, e2e_s=nan, prompt_tokens=prompts, output_tokens=outputs))

    def _arrivals(self, work: Work, begin: float, end: float, *, split: bool = False
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Arrival times (s), prompt and output tokens of ``work``'s requests in
        ``[begin, end)``: a replayed trace's rows, or Poisson draws.

        ``split``: ``end`` cuts the window short (a change in whether any replica serves),
        so the draws are made for the whole window and its rest is kept for the next
        call: the requests offered do not depend on where a window is cut."""
        spec = work.spec
        assert isinstance(spec, InferenceServiceSpec)
        if spec.trace is not None:
            window = spec.trace.window(begin, end)
            return window.times_s, window.prompt_tokens, window.output_tokens
        arrivals_rng, tokens_rng = self._streams_of(work)
        pending = self._pending.pop(work.work_id, None)
        if pending is not None and pending[0] == begin:
            _, stop, times, prompts, outputs = pending
        else:
            stop = end
            window_end = self.window_start + self.window_s
            if split and math.isfinite(window_end) and window_end > end:
                stop = window_end
            times = poisson_arrivals(arrivals_rng, spec.rate_per_s, begin, stop)
            prompts = spec.prompt_tokens.sample(tokens_rng, times.size)
            outputs = spec.output_tokens.sample(tokens_rng, times.size)
        if stop > end:  # keep the rest of the draws for the next call
            k = int(np.searchsorted(times, end, side="left"))
            self._pending[work.work_id] = (end, stop, times[k:], prompts[k:], outputs[k:])
            times, prompts, outputs = times[:k], prompts[:k], outputs[:k]
        elif stop < end:  # the window outgrew the draws kept: draw its rest
            more = poisson_arrivals(arrivals_rng, spec.rate_per_s, stop, end)
            times = np.concatenate([times, more])
            prompts = np.concatenate([prompts, spec.prompt_tokens.sample(tokens_rng,
                                                                         more.size)])
            outputs = np.concatenate([outputs, spec.output_tokens.sample(tokens_rng,
                                                                         more.size)])
        return times, prompts, outputs
