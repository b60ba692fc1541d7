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

    Starts from a round's scratch, which it reads and does not change (it must not change
    while the counter is in use). :meth:`add` counts GPUs as free (a victim stopped),
    :meth:`remove` takes them back; :attr:`fits` is whether the request would then be
    placed by a ``fits_anywhere`` placement policy.

    Only the domains that victims touch are kept (their free and connected counts, in
    dicts over the scratch's arrays), so making a counter costs two array operations over
    the domains, not lists of every domain's figures: a preemption on a campus of
    thousands of domains touches one or two. The per-site groups are summed only when the
    answer needs them: no eligible domain alone holds the request.
    """

    def __init__(self, scratch: Scratch, request: PlacementRequest) -> None:
        self.group = g = request.group_size
        self.need = need = request.n_groups
        self._index = scratch.index
        self._mask = None if request.eligible is None else np.asarray(request.eligible,
                                                                       dtype=bool)
        self._base_free = scratch.domain_free
        self._base_connected = (scratch.domain_free if scratch.domain_connected is None
                                else scratch.domain_connected)
        self._free: dict[int, int] = {}  # touched domains: GPUs free now
        self._connected: dict[int, int] = {}  # touched domains: free with scale-out now
        self._eligible: dict[int, bool] = {}
        self._site: dict[int, int] = {}
        big = self._base_free // g >= need
        if self._mask is not None:
            big &= self._mask
        self._big = int(np.count_nonzero(big))  # eligible domains holding the request
        self._site_groups: list[int] | None = None  # summed on first need

    def _sum_site_groups(self) -> list[int]:
        """Whole connected groups of the eligible domains per site, as they stand."""
        index, g = self._index, self.group
        groups = self._base_connected // g
        if self._mask is not None:
            groups = np.where(self._mask, groups, 0)
        site_groups = [int(v) for v in np.bincount(
            index.rack_site[index.domain_rack], weights=groups,
            minlength=len(index.site_names))]
        base = self._base_connected
        for d, now in self._connected.items():  # the touched domains as they are now
            if self._eligible[d]:
                site_groups[self._site[d]] += now // g - int(base[d]) // g
        return site_groups

    @property
    def fits(self) -> bool:
        """Whether the request fits on the counts as they stand."""
        if self._big > 0:
            return True
        if self._site_groups is None:
            self._site_groups = self._sum_site_groups()
        return max(self._site_groups) >= self.need

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
            if d not in free:  # first touch: its figures from the scratch
                free[d] = int(self._base_free[d])
                connected[d] = int(self._base_connected[d])
                self._eligible[d] = self._mask is None or bool(self._mask[d])
                index = self._index
                self._site[d] = int(index.rack_site[index.domain_rack[d]])
            if not self._eligible[d]:
                free[d] += sign * n
                connected[d] += sign * n_connected
                continue
            was_big = free[d] // g >= need
            free[d] += sign * n
            self._big += (free[d] // g >= need) - was_big
            before = connected[d] // g
            connected[d] += sign * n_connected
            if site_groups is not None:
                site_groups[self._site[d]] += connected[d] // g - before
