"""Placement interface and the tentative free-capacity scratchpad a round works on.

A placement policy answers one question: given the free GPUs, which ``n_gpus`` GPUs should
this job get, such that each of its tensor-parallel groups (``group_size`` GPUs) lies
inside one NVLink domain? It returns GPU ids ordered group by group, or ``None`` when the
job does not fit now. Placement never mutates engine state: it works on a :class:`Scratch`
copy that a scheduling round updates as it tentatively places several jobs.

A placement that spans NVLink domains talks over the scale-out network, so it may not use
a GPU that lost it (a failed NIC or leaf switch: the core's *isolated* GPUs); one inside a
single domain may. :meth:`Scratch.capacity` and :meth:`Scratch.take` with
``scale_out=True`` count and take only connected GPUs.
"""

from __future__ import annotations

import numbers
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from emulator.errors import short
from topologies.index import TopologyIndex

__all__ = ["PlacementPolicy", "PlacementRequest", "Scratch", "as_gpu_ids"]


def as_gpu_ids(value: object) -> np.ndarray | None:
    """``value`` as a 1-D int64 array of GPU ids, or ``None`` when it is not one.

    Accepted: a 1-D sequence or array of integers (numpy's too), or of floats that are
    whole (a placement computed in floating point). Not GPU ids: ``None``, text, a single
    number, booleans, nested lists, fractional or non-finite numbers. Plug-ins' answers
    are checked with it, so a wrong one is reported instead of truncated or crashing.
    """
    if value is None or isinstance(value, str | bytes | numbers.Number | Mapping):
        return None
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError):  # ragged nesting, objects numpy cannot read
        return None
    if arr.ndim != 1 or (arr.size and arr.dtype.kind not in "iuf"):
        return None
    if arr.dtype.kind == "f" and arr.size and not (
            np.all(np.isfinite(arr)) and np.all(arr == np.floor(arr))
            and arr.min() >= -2.0**62 and arr.max() <= 2.0**62):
        return None
    return arr.astype(np.int64, copy=False)


def _placement_error(placement: PlacementPolicy, what: str) -> Exception:
    """The :class:`~emulator.policies.base.PolicyError` for a placement plug-in that
    ``what`` (imported here: the policies module imports this one)."""
    from emulator.policies.base import PolicyError

    return PolicyError(f"placement {placement.name!r} {what}")


@dataclass(frozen=True, slots=True)
class PlacementRequest:
    """What a job needs: ``n_gpus`` in groups of ``group_size`` inside NVLink domains.

    ``eligible`` is a boolean mask over NVLink domains (``None``: all domains), used for
    GPU-system restrictions and data residency.
    """

    n_gpus: int
    group_size: int
    eligible: np.ndarray | None = None

    @property
    def n_groups(self) -> int:
        """Number of tensor-parallel groups."""
        return self.n_gpus // self.group_size


class Scratch:
    """Tentative free capacity for one scheduling round; the core's state stays intact.

    ``free_mask`` is read, never written: a round's tentative takes and releases go to
    small per-domain copies made on first touch, so a round costs what it touches, not
    the size of the cluster (the core passes its live free mask, not a copy).
    """

    def __init__(self, index: TopologyIndex, free_mask: np.ndarray, domain_free: np.ndarray,
                 domain_start: np.ndarray, placement: PlacementPolicy,
                 by_free: list[list[int]] | None = None, *,
                 isolated: np.ndarray | None = None,
                 domain_isolated: np.ndarray | None = None,
                 domain_connected: np.ndarray | None = None,
                 down: np.ndarray | None = None,
                 draining: np.ndarray | None = None,
                 free_gpus: int | None = None, out_of_service: int | None = None) -> None:
        self.index = index
        self.base = free_mask
        # GPUs out of service or draining (the core's live masks, read only; None: none
        # known): work on them gives them back to no one, so a release leaves them taken.
        self.down = down
        self.draining = draining
        # no GPU down or draining: from ``out_of_service``, the caller's count of GPUs set
        # in ``down`` or ``draining`` when it keeps one, else found on first need
        self._none_out: bool | None = None if out_of_service is None else out_of_service == 0
        # GPUs without scale-out and their count per domain (the core's live arrays, read
        # only; None: no GPU has lost it), and this round's free GPUs with scale-out per
        # domain (a copy; None: every free GPU has it)
        self.isolated = isolated
        self.domain_isolated = domain_isolated
        self.domain_connected = None if domain_connected is None else domain_connected.copy()
        self.by_free = by_free  # domains by free count of the *base* state, if kept
        self.local: dict[int, np.ndarray] = {}  # domain → its tentative free mask
        self.domain_free = domain_free.copy()
        self.domain_start = domain_start
        self.placement = placement
        # ``free_gpus``: the caller's count of free GPUs, when it keeps one (the sum of
        # ``domain_free``; a campus has thousands of domains and a round per job)
        self.free_gpus = int(self.domain_free.sum()) if free_gpus is None else free_gpus
        # Placements that failed this round: (group size, eligible mask id) -> (fewest
        # groups that failed, the mask). Used only for monotone placement policies, and
        # forgotten whenever GPUs are released on this scratch.
        self._failed: dict[tuple[int, int], tuple[int, np.ndarray | None]] = {}

    def clone(self) -> Scratch:
        """An independent copy (for trial placements)."""
        other = Scratch.__new__(Scratch)
        other.index, other.base, other.by_free = self.index, self.base, self.by_free
        other.isolated, other.domain_isolated = self.isolated, self.domain_isolated
        other.down, other.draining = self.down, self.draining
        other._none_out = self._none_out
        other.domain_connected = (None if self.domain_connected is None
                                  else self.domain_connected.copy())
        other.local = {d: m.copy() for d, m in self.local.items()}
        other.domain_free = self.domain_free.copy()
        other.domain_start, other.placement = self.domain_start, self.placement
        other.free_gpus = self.free_gpus
        other._failed = dict(self._failed)
        return other

    def _own(self, d: int) -> np.ndarray:
        m = self.local.get(d)
        if m is None:
            start = int(self.domain_start[d])
            m = self.local[d] = self.base[start:start + int(self.index.domain_size[d])].copy()
        return m

    def tightest_domain(self, group_size: int, need: int) -> int | None:
        """The domain with the fewest whole free groups that still holds ``need`` groups
        (lowest id on ties), without scanning every domain; ``None`` if none holds them.

        Domains untouched this round are found through ``by_free`` (the core's buckets of
        domains by free count); those this round touched are checked directly.
        """
        assert self.by_free is not None
        best_cap, best = -1, -1
        local = self.local
        by_free = self.by_free
        for v in range(need * group_size, len(by_free)):
            cap = v // group_size
            if best >= 0 and cap > best_cap:
                break
            for d in by_free[v]:
                if d in local:
                    continue
                if best < 0 or cap < best_cap or d < best:
                    best_cap, best = cap, d
                break
        free = self.domain_free
        for d in local:
            cap = int(free[d]) // group_size
            if cap >= need and (best < 0 or cap < best_cap or (cap == best_cap and d < best)):
                best_cap, best = cap, d
        return best if best >= 0 else None

    def is_free(self, gpus: np.ndarray) -> np.ndarray:
        """Whether each of ``gpus`` is tentatively free."""
        out = self.base[gpus].copy()
        if self.local and gpus.size:
            doms = self.index.gpu_domain[gpus]
            first = int(doms[0])
            mine = ([first] if first == int(doms[-1]) and bool(np.all(doms == first))
                    else np.unique(doms).tolist())
            for d in mine:  # only the domains of ``gpus``, however many the round touched
                m = self.local.get(d)
                if m is not None:
                    sel = doms == d
                    out[sel] = m[gpus[sel] - int(self.domain_start[d])]
        return out

    def _cut_among(self, d: int, local: np.ndarray) -> int:
        """How many of domain ``d``'s GPUs at local positions ``local`` are cut off."""
        if self.domain_isolated is None or not self.domain_isolated[d]:
            return 0
        assert self.isolated is not None
        return int(np.count_nonzero(self.isolated[int(self.domain_start[d]) + local]))

    def _connected(self, d: int, mask: np.ndarray) -> np.ndarray:
        """``mask`` (domain ``d``'s tentative free mask) without its GPUs cut off."""
        if self.domain_isolated is None or not self.domain_isolated[d]:
            return mask
        assert self.isolated is not None
        start = int(self.domain_start[d])
        return mask & ~self.isolated[start:start + mask.size]

    def capacity(self, request: PlacementRequest, *, scale_out: bool = False) -> np.ndarray:
        """Whole groups each domain can take now (0 where ineligible).

        With ``scale_out`` (a placement that will span domains) only GPUs that still have
        their scale-out network count.
        """
        free = self.domain_free
        if scale_out and self.domain_connected is not None:
            free = self.domain_connected
        size = int(request.group_size)
        # floor division by a power of two is a shift (exact for any integer; numpy's
        # integer division is several times slower, over every domain of a campus)
        if size > 0 and not size & (size - 1) and free.dtype.kind in "iu":
            cap = free >> (size.bit_length() - 1)
        else:
            cap = free // size
        if request.eligible is not None:
            cap = np.where(request.eligible, cap, 0)
        return cap

    def take(self, domain_groups: dict[int, int] | list[tuple[int, int]],
             group_size: int, *, scale_out: bool = False) -> np.ndarray:
        """Mark ``groups`` groups taken in each domain; the GPU ids, group by group.

        With ``scale_out`` only GPUs that still have their scale-out network are taken.
        """
        items = domain_groups.items() if isinstance(domain_groups, dict) else domain_groups
        chunks = []
        domain_free = self.domain_free
        for d, groups in items:
            m = self._own(d)
            avail = self._connected(d, m) if scale_out else m
            n = groups * group_size
            local = avail.nonzero()[0][:n]  # the first n free, in id order
            if local.size < n:
                raise RuntimeError(f"domain {d} has fewer free GPUs than its count says")
            if n and int(local[-1]) - int(local[0]) + 1 == n:  # one run (the usual case)
                m[int(local[0]):int(local[-1]) + 1] = False
            else:
                m[local] = False
            domain_free[d] -= n
            if self.domain_connected is not None:
                self.domain_connected[d] -= (n if avail is not m else
                                             n - self._cut_among(d, local))
            chunks.append(local + int(self.domain_start[d]))
        if len(chunks) == 1:
            out = chunks[0]
        else:
            out = np.concatenate(chunks) if chunks else np.empty(0, dtype=np.int64)
        self.free_gpus -= int(out.size)
        return out

    def release(self, gpus: np.ndarray) -> None:
        """Tentatively free ``gpus`` (of work the policy is about to preempt); those out of
        service or draining stay taken, as the core keeps them when the work stops."""
        self._failed.clear()  # more room: what failed may fit now
        gpus = self.returned(gpus)
        if gpus.size == 0:
            return
        groups = self.by_domain(gpus)
        masks = [(self._own(d), sel - int(self.domain_start[d])) for d, sel in groups]
        if any(bool(m[local].any()) for m, local in masks):
            raise RuntimeError("releasing GPUs that are already free in this scratch")
        for (d, sel), (m, local) in zip(groups, masks, strict=True):
            m[local] = True
            self.domain_free[d] += sel.size
            if self.domain_connected is not None:
                self.domain_connected[d] += sel.size - self._cut_among(d, local)
        self.free_gpus += int(gpus.size)

    def by_domain(self, gpus: np.ndarray) -> list[tuple[int, np.ndarray]]:
        """``gpus`` (non-empty) grouped by NVLink domain: ``(domain, its GPUs)`` pairs."""
        if gpus.size == 1:  # one GPU (a one-GPU job): no array of domains
            return [(int(self.index.gpu_domain[gpus[0]]), gpus)]
        doms = self.index.gpu_domain[gpus]
        first = int(doms[0])
        if first == int(doms[-1]) and bool(np.logical_and.reduce(doms == first)):  # usual
            return [(first, gpus)]
        return [(d, gpus[doms == d]) for d in np.unique(doms).tolist()]

    def returned(self, gpus: np.ndarray) -> np.ndarray:
        """Those of ``gpus`` that become free when their work stops: all but the GPUs out
        of service or draining."""
        gpus = np.asarray(gpus, dtype=np.int64)
        if self.down is None or self.draining is None or gpus.size == 0:
            return gpus
        if self._none_out is None:  # the masks do not change during a round
            self._none_out = not (self.down.any() or self.draining.any())
        if self._none_out:
            return gpus
        out = self.down[gpus] | self.draining[gpus]
        return gpus[~out] if out.any() else gpus

    def place(self, request: PlacementRequest) -> np.ndarray | None:
        """Place with the round's policy and mark the GPUs taken; ``None`` if it does not fit.

        With a :attr:`~PlacementPolicy.monotone` policy, a request is refused at once when
        one of the same group size and eligible domains, needing no more groups, already
        failed on this scratch since its last release: free GPUs have only shrunk since, so
        it would fail again. A deep queue of jobs that do not fit then costs one lookup
        each per round instead of a search over every NVLink domain.
        """
        if request.n_gpus > self.free_gpus:
            return None
        if not self.placement.monotone:
            return self._ask(request)
        eligible = request.eligible
        key = (request.group_size, 0 if eligible is None else id(eligible))
        failed = self._failed.get(key)
        if failed is not None and request.n_groups >= failed[0]:
            return None
        gpus = self._ask(request)
        if gpus is None:
            self._failed[key] = (request.n_groups, eligible)  # fewer than any earlier failure
        return gpus


    def _ask(self, request: PlacementRequest) -> np.ndarray | None:
        """The placement policy's answer, checked: a placement plug-in that raises or
        answers something other than ``None`` or GPU ids is named in a one-line
        :class:`~emulator.policies.base.PolicyError` (not the queue policy that asked)."""
        placement = self.placement
        try:
            gpus = placement.place(request, self)
        except Exception as exc:
            from emulator.policies.base import PolicyError

            if isinstance(exc, PolicyError):
                raise
            raise _placement_error(placement, f"raised {type(exc).__name__}: {exc}") from exc
        if gpus is None or (type(gpus) is np.ndarray and gpus.ndim == 1
                            and gpus.dtype.kind in "iu"):
            return gpus
        arr = as_gpu_ids(gpus)
        if arr is None:
            raise _placement_error(placement, f"returned {short(gpus)} for {request.n_gpus} "
                                   "GPU(s); expected None or a 1-D array of integer GPU ids")
        return arr


class PlacementPolicy(ABC):
    """Chooses GPUs for one job on a :class:`Scratch`; returns ids or ``None``."""

    name: str = "placement"
    monotone: bool = False
    """True when the policy refuses a request only if no placement exists: then a request
    that fails keeps failing with fewer free GPUs or more groups, and a round skips its
    repeats (:meth:`Scratch.place`). Leave False unless that holds."""
    stateless: bool = False
    """True when the answer depends on the scratch's free state and the request alone (no
    clock, no memory of earlier calls): then a round on an unchanged state places the same
    way, and EASY backfill may skip a round that provably starts nothing
    (:meth:`ClusterView.idle_token`). Leave False unless that holds."""
    fits_anywhere: bool = False
    """True when the policy places a request if and only if one eligible NVLink domain has
    all its groups free, or one site's eligible domains have them free among GPUs that
    still have scale-out: then whether a request fits is a matter of counts, and a
    preemption search tests it without placing (:class:`~emulator.placement.fit_counter.
    FitCounter`). Leave False unless that holds; a subclass of a policy that sets it and
    refuses more (narrows ``place``) must set it back to False."""

    @abstractmethod
    def place(self, request: PlacementRequest, scratch: Scratch) -> np.ndarray | None:
        """GPU ids for ``request`` taken from ``scratch`` (via ``scratch.take``), or ``None``."""
