"""Spread placement: one tensor-parallel group per domain, emptiest domains first.

The opposite of packing, as in load-balancing schedulers (Kubernetes' default
``LeastAllocated`` scoring): it evens out heat and power across racks and leaves room in
every domain, at the price of more cross-domain traffic. Jobs stay inside one site.

A job of one group never spans domains, so any free GPU will do. A larger one is spread over
GPUs that still have their scale-out network; when no site has enough of those, it may still
run inside a single domain (the tightest that holds it, lowest id on ties).
"""

from __future__ import annotations

import numpy as np

from emulator.placement.base import PlacementPolicy, PlacementRequest, Scratch

__all__ = ["SpreadPlacement"]


class SpreadPlacement(PlacementPolicy):
    """Round-robin over the domains with the most free groups (see module docstring)."""

    name = "spread"
    monotone = True  # refuses only when no site (or pod) has room for the job
    stateless = True  # the free state and the request decide, nothing else
    fits_anywhere = True  # one domain, else one site's connected GPUs

    def place(self, request: PlacementRequest, scratch: Scratch) -> np.ndarray | None:
        """GPU ids spread over as many domains as possible within one site, or ``None``."""
        need = request.n_groups
        cap = scratch.capacity(request, scale_out=need > 1)
        domain_site = scratch.index.domain_site
        site_cap = np.bincount(domain_site, weights=cap, minlength=len(scratch.index.site_names))
        sites = np.flatnonzero(site_cap >= need)
        if sites.size == 0:
            return self._one_domain(request, scratch) if need > 1 else None
        site = int(sites[np.argmax(site_cap[sites])])
        domains = np.flatnonzero((cap > 0) & (domain_site == site))
        domains = domains[np.lexsort((domains, -cap[domains]))]
        counts = np.zeros(domains.size, dtype=np.int64)
        remaining = need
        caps = cap[domains]
        while remaining > 0:  # each pass gives one more group to every domain with room
            room = counts < caps
            n_room = int(room.sum())
            if n_room <= remaining:
                counts[room] += 1
                remaining -= n_room
            else:
                counts[np.flatnonzero(room)[:remaining]] += 1
                remaining = 0
        plan = [(int(d), int(k)) for d, k in zip(domains, counts, strict=True) if k]
        return scratch.take(plan, request.group_size, scale_out=need > 1)

    @staticmethod
    def _one_domain(request: PlacementRequest, scratch: Scratch) -> np.ndarray | None:
        """The whole job inside the tightest single domain that holds it, or ``None``."""
        cap = scratch.capacity(request)
        fits = np.flatnonzero(cap >= request.n_groups)
        if fits.size == 0:
            return None
        d = int(fits[np.argmin(cap[fits])])
        return scratch.take([(d, request.n_groups)], request.group_size)
