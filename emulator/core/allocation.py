"""Who holds which GPU: the core's allocation state, kept incrementally.

GPU ownership is one int array (``-1`` = free, ``-2`` = out of service and unowned, else
the work id holding it), a persistent boolean free mask and free counts per NVLink
domain, all kept in step. Every change goes through :meth:`allocate`, :meth:`release`,
:meth:`take_down`, :meth:`bring_up`, :meth:`drain` and :meth:`undrain`, which check the
invariants (no GPU allocated twice, only owned GPUs released, out-of-service or draining
GPUs never allocated), so a bad policy decision can never corrupt the state. Each call
costs O(GPUs it touches), not O(cluster).

Two reasons keep a GPU unavailable, each its own mask: *down* (failed: its holder is
stopped by the core) and *draining* (maintenance: its holder keeps running until it
ends). An idle GPU with either flag is owned by ``DOWN``; it becomes free again only when
both are cleared. Drains nest: ``drain_holds`` counts the drains open on each GPU (a rack's
maintenance window and a hall's, or two windows back to back on one rack), and a GPU
stays draining until the last of them ends (or an operator's restore ends them all).

A third mask, *isolated*, marks GPUs that lost their scale-out network (a failed NIC or
leaf switch) but still work: they stay in the free pool for work inside one NVLink domain,
while placements spanning domains must avoid them (:class:`emulator.placement.base.
Scratch` does; :meth:`emulator.core.core.Core.start` checks). ``domain_isolated`` counts
them per domain, and while any GPU is cut off ``domain_connected`` counts the free GPUs
per domain that still have scale-out, so placement spanning domains reads its capacity
from one array instead of looking into every domain with a cut GPU.
"""

from __future__ import annotations

import bisect
from array import array

import numpy as np

from topologies.index import TopologyIndex

__all__ = ["DOWN", "FREE", "AllocationError", "ClusterState"]

FREE = -1
DOWN = -2


class AllocationError(RuntimeError):
    """An allocation that would break an invariant (double allocation, bad GPU id …)."""


class ClusterState:
    """GPU ownership, the free mask and free capacity per NVLink domain."""

    def __init__(self, index: TopologyIndex) -> None:
        self.index = index
        self.owner = np.full(index.n_gpus, FREE, dtype=np.int64)
        self.free = np.ones(index.n_gpus, dtype=bool)  # live: read-only to everyone else
        self.down = np.zeros(index.n_gpus, dtype=bool)
        self.draining = np.zeros(index.n_gpus, dtype=bool)
        self.n_down = self.n_draining = 0  # GPUs set in ``down`` and in ``draining``
        self.drain_holds = np.zeros(index.n_gpus, dtype=np.int32)  # open drains per GPU
        self.isolated = np.zeros(index.n_gpus, dtype=bool)  # live: read-only to others
        self.domain_isolated = np.zeros(index.n_domains, dtype=np.int64)
        self.n_isolated = 0
        self.domain_connected: np.ndarray | None = None  # kept only while n_isolated > 0
        self.domain_free = index.domain_size.astype(np.int64).copy()
        if index.n_gpus and np.any(np.diff(index.gpu_domain) < 0):
            raise ValueError("GPU ids must be contiguous per NVLink domain")
        self.domain_start = np.searchsorted(index.gpu_domain, np.arange(index.n_domains))
        # The same two columns as array.array, for one-entry reads per start and release
        # (a Python int at once, without a numpy scalar): each GPU's domain, and each
        # domain's first GPU followed by the GPU count (the end of the last domain).
        self.gpu_domain_at = array("q", np.asarray(index.gpu_domain, dtype=np.int64).tobytes())
        self.domain_start_at = array("q", np.append(self.domain_start, index.n_gpus)
                                     .astype(np.int64).tobytes())
        self.free_gpus = int(index.n_gpus)
        # bumps on every change of what a placement reads (free GPUs, GPUs cut off): equal
        # versions mean the same free state
        self.version = 0
        self._stamp = np.zeros(index.n_gpus, dtype=np.int32)  # duplicate check, kept zero
        # Domains by free GPU count: by_free[v] is the sorted list of domains with v free,
        # so best-fit placement finds the tightest domain without scanning all of them.
        self.by_free: list[list[int]] = [[] for _ in range(int(index.domain_size.max(
            initial=0)) + 1)]
        for d, v in enumerate(self.domain_free.tolist()):
            self.by_free[v].append(d)

    def _move(self, d: int, old: int, new: int) -> None:
        bucket = self.by_free[old]
        del bucket[bisect.bisect_left(bucket, d)]
        bisect.insort(self.by_free[new], d)

    def free_mask(self) -> np.ndarray:
        """A new boolean array, True where the GPU is free."""
        return self.free.copy()

    def _check_ids(self, gpus: np.ndarray, owner: int) -> None:
        if gpus.size == 0:
            raise AllocationError(f"work {owner}: empty allocation")
        if gpus.min() < 0 or gpus.max() >= self.index.n_gpus:
            raise AllocationError(f"work {owner}: GPU id out of range")
        if gpus.size == 1 or bool(np.all(gpus[1:] > gpus[:-1])):
            return  # strictly increasing (as placements produce them): no id twice
        stamp = self._stamp
        np.add.at(stamp, gpus, 1)
        twice = bool(stamp[gpus].max() > 1)
        stamp[gpus] = 0
        if twice:
            raise AllocationError(f"work {owner}: the same GPU is listed twice")

    def allocate(self, gpus: np.ndarray, owner: int,
                 by_domain: tuple[np.ndarray, np.ndarray] | None = None) -> None:
        """Give ``gpus`` to ``owner``; raises :class:`AllocationError` if any is not free.
        ``by_domain``: ``np.unique(gpu_domain[gpus], return_counts=True)``, when the caller
        has it already (saves finding it again)."""
        self.version += 1
        self._check_ids(gpus, owner)
        held = self.owner[gpus]
        if np.any(held != FREE):
            bad = int(np.argmax(held != FREE))
            taken = int(gpus[bad])
            if held[bad] == DOWN:
                why = "draining" if self.draining[taken] else "out of service"
                raise AllocationError(f"work {owner}: GPU {taken} is {why}")
            raise AllocationError(
                f"work {owner}: GPU {taken} is already held by work {int(held[bad])}")
        self.owner[gpus] = owner
        self.free[gpus] = False
        self._count(gpus, -1, by_domain)
        self.free_gpus -= int(gpus.size)

    def allocate_span(self, lo: int, hi: int, owner: int) -> None:
        """:meth:`allocate` for the consecutive GPUs ``lo .. hi-1`` (slices)."""
        held = self.owner[lo:hi]
        if bool((held != FREE).any()):
            self.allocate(np.arange(lo, hi), owner)  # raises, naming the GPU
        self.version += 1
        held[:] = owner
        self.free[lo:hi] = False
        self._count_span(lo, hi, -1)
        self.free_gpus -= hi - lo

    def release_span(self, lo: int, hi: int, owner: int) -> None:
        """:meth:`release` for the consecutive GPUs ``lo .. hi-1`` (slices)."""
        held = self.owner[lo:hi]
        if bool((held != owner).any()) or (self.n_down and bool(self.down[lo:hi].any())) \
                or (self.n_draining and bool(self.draining[lo:hi].any())):
            self.release(np.arange(lo, hi), owner)  # raises, or keeps some unavailable
            return
        self.version += 1
        held[:] = FREE
        self.free[lo:hi] = True
        self._count_span(lo, hi, +1)
        self.free_gpus += hi - lo

    def _count_span(self, lo: int, hi: int, sign: int) -> None:
        """:meth:`_count` for the consecutive GPUs ``lo .. hi-1``: one domain's, or parts
        of consecutive domains (their ids are contiguous per domain), domain by domain."""
        dom, start = self.gpu_domain_at, self.domain_start_at
        first, last = dom[lo], dom[hi - 1]
        free = self.domain_free
        conn = self.domain_connected
        for d in range(first, last + 1):
            a = lo if d == first else start[d]
            b = hi if d == last else start[d + 1]
            if b <= a:
                continue  # a domain without GPUs
            old = int(free[d])
            new = old + sign * (b - a)
            free[d] = new
            self._move(d, old, new)
            if conn is not None:
                cut = int(np.count_nonzero(self.isolated[a:b])) if self.domain_isolated[d] else 0
                conn[d] += sign * (b - a - cut)

    def _count(self, gpus: np.ndarray, sign: int,
               by_domain: tuple[np.ndarray, np.ndarray] | None = None) -> None:
        """Add ``sign`` per GPU to its domain's free count (one domain: no scatter);
        ``by_domain``: see :meth:`allocate`."""
        free = self.domain_free
        conn = self.domain_connected  # kept only while some GPU is cut off
        doms = None
        if by_domain is None:
            doms = self.index.gpu_domain[gpus]
            if doms[0] == doms[-1] and (doms.size < 3 or bool(np.all(doms == doms[0]))):
                d = int(doms[0])
                old = int(free[d])
                free[d] = old + sign * doms.size
                self._move(d, old, int(free[d]))
                if conn is not None:
                    cut = (int(np.count_nonzero(self.isolated[gpus]))
                           if self.domain_isolated[d] else 0)
                    conn[d] += sign * (doms.size - cut)
                return
            by_domain = np.unique(doms, return_counts=True)
        if conn is not None:
            if doms is None:
                doms = self.index.gpu_domain[gpus]
            np.add.at(conn, doms[~self.isolated[gpus]], sign)
        touched, counts = by_domain
        before = free[touched].tolist()
        free[touched] += sign * counts  # the domains are distinct: no scatter-add needed
        for d, old, new in zip(touched.tolist(), before, free[touched].tolist(), strict=True):
            self._move(d, old, new)

    def _withdraw(self, idle: np.ndarray) -> np.ndarray:
        """Take free ``idle`` GPUs out of the free pool (out of service or draining)."""
        self.version += 1
        self.owner[idle] = DOWN
        self.free[idle] = False
        if idle.size:
            self._count(idle, -1)
        self.free_gpus -= int(idle.size)
        return idle

    def _give_back(self, idle: np.ndarray) -> int:
        """Return unowned ``idle`` GPUs to the free pool; how many."""
        self.version += 1
        self.owner[idle] = FREE
        self.free[idle] = True
        if idle.size:
            self._count(idle, +1)
        self.free_gpus += int(idle.size)
        return int(idle.size)

    def release(self, gpus: np.ndarray, owner: int,
                by_domain: tuple[np.ndarray, np.ndarray] | None = None) -> None:
        """Return ``gpus`` held by ``owner``; those out of service or draining stay
        unavailable. ``by_domain``: see :meth:`allocate`."""
        self.version += 1
        if np.any(self.owner[gpus] != owner):
            raise AllocationError(f"work {owner}: releasing GPUs it does not hold")
        if self.n_down or self.n_draining:
            down = self.down[gpus] | self.draining[gpus]
            back = gpus[~down] if down.any() else gpus
        else:  # every GPU in service and none draining: all come back
            back = gpus
        if back.size < gpus.size:
            self.owner[gpus] = DOWN
            by_domain = None  # some stay unavailable: the breakdown is not theirs
        self.owner[back] = FREE
        self.free[back] = True
        if back.size:
            self._count(back, +1, by_domain)
        self.free_gpus += int(back.size)

    def take_down(self, gpus: np.ndarray) -> np.ndarray:
        """Mark ``gpus`` out of service; the ids of the work holding any of them."""
        gpus = np.unique(np.asarray(gpus, dtype=np.int64))
        gpus = gpus[~self.down[gpus]]
        self.down[gpus] = True
        self.n_down += int(gpus.size)
        self._withdraw(gpus[self.owner[gpus] == FREE])
        held = self.owner[gpus]
        return np.unique(held[held >= 0])

    def bring_up(self, gpus: np.ndarray) -> int:
        """Return out-of-service ``gpus`` to service; how many became free (a draining GPU
        stays unavailable until :meth:`undrain`)."""
        gpus = np.unique(np.asarray(gpus, dtype=np.int64))
        gpus = gpus[self.down[gpus]]
        self.down[gpus] = False
        self.n_down -= int(gpus.size)
        return self._give_back(gpus[(self.owner[gpus] == DOWN) & ~self.draining[gpus]])

    def isolate(self, gpus: np.ndarray) -> np.ndarray:
        """Cut ``gpus`` off the scale-out network (they stay in service); the ids of the
        work holding any of the GPUs newly cut (the caller decides which of it must stop:
        only work spanning NVLink domains needs scale-out)."""
        self.version += 1
        gpus = np.unique(np.asarray(gpus, dtype=np.int64))
        gpus = gpus[~self.isolated[gpus]]
        if self.domain_connected is None:  # the first cut: every free GPU is connected
            self.domain_connected = self.domain_free.copy()
        self.isolated[gpus] = True
        doms = self.index.gpu_domain[gpus]
        np.add.at(self.domain_isolated, doms, 1)
        np.subtract.at(self.domain_connected, doms[self.free[gpus]], 1)
        self.n_isolated += int(gpus.size)
        held = self.owner[gpus]
        return np.unique(held[held >= 0])

    def reconnect(self, gpus: np.ndarray) -> int:
        """Give ``gpus`` their scale-out network back; how many were cut off."""
        self.version += 1
        gpus = np.unique(np.asarray(gpus, dtype=np.int64))
        gpus = gpus[self.isolated[gpus]]
        self.isolated[gpus] = False
        doms = self.index.gpu_domain[gpus]
        np.subtract.at(self.domain_isolated, doms, 1)
        if self.domain_connected is not None:
            np.add.at(self.domain_connected, doms[self.free[gpus]], 1)
        self.n_isolated -= int(gpus.size)
        if self.n_isolated == 0:
            self.domain_connected = None  # connected = free again
        return int(gpus.size)

    def drain(self, gpus: np.ndarray) -> int:
        """Open a drain on ``gpus``: never allocated again until every drain open on them
        ended (:meth:`undrain`); work holding them keeps them until it releases. Returns
        how many idle GPUs left the free pool."""
        gpus = np.unique(np.asarray(gpus, dtype=np.int64))
        self.drain_holds[gpus] += 1
        gpus = gpus[~self.draining[gpus]]
        self.draining[gpus] = True
        self.n_draining += int(gpus.size)
        return int(self._withdraw(gpus[self.owner[gpus] == FREE]).size)

    def undrain(self, gpus: np.ndarray, every: bool = False) -> int:
        """End one drain of ``gpus`` (``every``: all drains open on them, an operator's
        restore); those with no drain left stop draining. How many became free (failed
        ones stay down)."""
        gpus = np.unique(np.asarray(gpus, dtype=np.int64))
        holds = self.drain_holds
        holds[gpus] = 0 if every else np.maximum(holds[gpus] - 1, 0)
        gpus = gpus[self.draining[gpus] & (holds[gpus] == 0)]
        self.draining[gpus] = False
        self.n_draining -= int(gpus.size)
        return self._give_back(gpus[(self.owner[gpus] == DOWN) & ~self.down[gpus]])
