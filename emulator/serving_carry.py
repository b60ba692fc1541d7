"""What a service's next serving windows see of the last one: its prefills and decodes
not over when it ended (everything else of a window is summarised in a few figures).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from emulator.serving_prefill import PREFILL_LOOKBACK_S

if TYPE_CHECKING:
    from emulator.serving_runtime import ServiceRuntime

__all__ = ["MAX_PREFILL_SHARE", "carry_decodes", "carry_prefills", "forget_decodes"]

MAX_PREFILL_SHARE = 0.95
"""Cap on the prefill share ρ used to stretch TPOT (beyond it prefill queues grow anyway)."""


def carry_prefills(svc: ServiceRuntime, t0: float, t1: float, start: np.ndarray,
                   end: np.ndarray, share: np.ndarray) -> None:
    """Set ``svc.prefill_share``: the share of its replicas' GPU time spent prefilling
    in ``[t0, t1)``, from pipeline holds ``[start, end)`` (s) each taking ``share`` of its
    replica meanwhile.

    Holds not yet over at ``t1`` (queued prefills of an overloaded service) are kept
    and counted in the windows they fall in (and seen by the next window's decode), and
    so are those over within :data:`~emulator.serving_prefill.PREFILL_LOOKBACK_S` before
    it: the next window's first prompts measure the prefill of the second before them
    (:func:`emulator.serving_prefill.step_in_flight_with_prefill`).
    """
    s = np.concatenate([svc.busy_start, start])
    e = np.concatenate([svc.busy_end, end])
    w = np.concatenate([svc.busy_share, share])
    on = e > t0  # those over before the window add nothing (summed without them)
    busy = float((np.clip(np.minimum(e[on], t1) - np.maximum(s[on], t0), 0.0, None)
                  * w[on]).sum())
    keep = e > t1 - PREFILL_LOOKBACK_S
    svc.busy_start, svc.busy_end, svc.busy_share = s[keep], e[keep], w[keep]
    svc.prefill_share = min(busy / ((t1 - t0) * max(svc.replicas, 1)), MAX_PREFILL_SHARE)


def carry_decodes(svc: ServiceRuntime, t1: float, first: np.ndarray,
                  last: np.ndarray) -> None:
    """Keep the first and last token times (s) of ``svc``'s requests (earlier windows'
    and ``first``/``last``, the window's own) whose decode is not over at ``t1``: the
    next windows see them decoding, or queued for their prefill, as their prompts
    arrive (:func:`emulator.serving_prefill.step_in_flight`) and while their requests
    decode (:func:`emulator.serving_decode.fluid_decode_seconds`)."""
    f = np.concatenate([svc.decode_first, first])
    e = np.concatenate([svc.decode_last, last])
    keep = e > t1
    svc.decode_first, svc.decode_last = f[keep], e[keep]


FORGET_TOLERANCE_S = 1e-6
"""How close (s) a slot's free time must be to a carried last token time to be that
request's (the two are the same sum of floats, added in a different order)."""


def forget_decodes(svc: ServiceRuntime, ends: list[float]) -> None:
    """Drop from ``svc``'s carried decodes the requests whose last token comes at ``ends``
    (s): for each, the unused one nearest it within :data:`FORGET_TOLERANCE_S` (as
    :meth:`emulator.serving_held._Matcher.find` matches held requests), each dropped once;
    an end with none that near drops nothing. They no longer load its serving replicas
    (their replica drains them, or they were moved)."""
    last = svc.decode_last
    if not ends or not last.size:
        return
    order = np.argsort(last, kind="stable")
    srt = last[order]
    gone = np.zeros(last.size, dtype=bool)
    for f in sorted(ends):
        k = int(np.searchsorted(srt, f - FORGET_TOLERANCE_S, side="left"))
        best, gap = -1, np.inf
        while k < srt.size and srt[k] <= f + FORGET_TOLERANCE_S:
            if not gone[order[k]] and abs(srt[k] - f) < gap:
                best, gap = k, abs(srt[k] - f)
            k += 1
        if best >= 0:
            gone[order[best]] = True
    keep = ~gone
    svc.decode_first, svc.decode_last = svc.decode_first[keep], last[keep]
