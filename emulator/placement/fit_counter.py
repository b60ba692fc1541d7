"""Whether one request would fit, kept on free-GPU counts as GPUs are added and taken back.

A preemption search asks the same question many times: "if these running jobs were
stopped, would the blocked job fit?", adding one victim at a time and then dropping the
victims it turns out not to need. Answering it by releasing GPUs on a copy of the round's
scratch and placing the job there costs a placement per question. For placement policies
whose answer depends on counts alone (:attr:`PlacementPolicy.fits_anywhere`), this
answers it with a few integer updates per NVLink domain a victim holds.

The rule such a policy follows: a request of ``need`` groups of ``group_size`` GPUs fits
if and only if one eligible domain has ``need`` whole free groups, or the eligible domains
of one site have ``need`` whole free groups among their GPUs that still have scale-out
(only those may serve a placement that spans domains).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from emulator.placement.base import PlacementRequest, Scratch

__all__ = ["DomainCounts", "FitCounter", "domain_counts"]

DomainCounts = list[tuple[int, int, int]]
"""Per NVLink domain a set of GPUs touches: (domain, GPUs, GPUs with scale-out)."""


def domain_counts(scratch: Scratch, gpus: np.ndarray) -> DomainCounts:
    """How the GPUs ``gpus`` that a stop would free (see :meth:`Scratch.returned`) fall
    into NVLink domains, for :meth:`FitCounter.add`."""
    gpus = scratch.returned(gpus)
    if gpus.size == 0:
        return []
    cut = scratch.isolated
    if cut is None or not cut[gpus].any():
        return [(d, int(sel.size), int(sel.size)) for d, sel in scratch.by_domain(gpus)]
    return [(d, int(sel.size), int(sel.size) - int(np.count_nonzero(cut[sel])))
            for d, sel in scratch.by_domain(gpus)]


class FitCounter:
    """Whole free groups per domain and per site for one request, updated incrementally.

    Starts from a round's scratch (which it does not change). :meth:`add` counts GPUs as
    free (a victim stopped), :meth:`remove` takes them back; :attr:`fits` is whether the
    request would then be placed by a ``fits_anywhere`` placement policy.
    """

    def __init__(self, scratch: Scratch, request: PlacementRequest) -> None:
        self.group = request.group_size
        self.need = request.n_groups
        index = scratch.index
        eligible = (np.ones(index.n_domains, dtype=bool) if request.eligible is None
                    else np.asarray(request.eligible, dtype=bool))
        free = np.asarray(scratch.domain_free, dtype=np.int64)
        connected = (free if scratch.domain_connected is None
                     else np.asarray(scratch.domain_connected, dtype=np.int64))
        self._eligible: list[bool] = eligible.tolist()
        self._free: list[int] = free.tolist()
        self._connected: list[int] = connected.tolist()
        domain_site = index.rack_site[index.domain_rack]
        self._site: list[int] = domain_site.tolist()
        g = self.group
        self._big = int(np.count_nonzero(eligible & (free // g >= self.need)))
        site_groups = np.bincount(domain_site,
                                  weights=np.where(eligible, connected // g, 0),
                                  minlength=len(index.site_names))
        self._site_groups: list[int] = [int(v) for v in site_groups]

    @property
    def fits(self) -> bool:
        """Whether the request fits on the counts as they stand."""
        return self._big > 0 or max(self._site_groups) >= self.need

    def add(self, counts: DomainCounts) -> None:
        """Count these GPUs (per domain, see :func:`domain_counts`) as free."""
        self._shift(counts, 1)

    def remove(self, counts: DomainCounts) -> None:
        """Take back GPUs counted free by :meth:`add`."""
        self._shift(counts, -1)

    def _shift(self, counts: Iterable[tuple[int, int, int]], sign: int) -> None:
        g, need = self.group, self.need
        free, connected, site_groups = self._free, self._connected, self._site_groups
        for d, n, n_connected in counts:
            if not self._eligible[d]:
                free[d] += sign * n
                connected[d] += sign * n_connected
                continue
            was_big = free[d] // g >= need
            free[d] += sign * n
            self._big += (free[d] // g >= need) - was_big
            before = connected[d] // g
            connected[d] += sign * n_connected
            site_groups[self._site[d]] += connected[d] // g - before
