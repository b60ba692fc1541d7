"""A round's scratch refuses repeats of a failed placement only where that is exact.

For a monotone placement policy (pack, spread), a request that failed keeps failing while
GPUs are only taken, so :meth:`Scratch.place` answers repeats at once; a release forgets
the failures. Every answer must be what the policy itself would have said.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from emulator.core.allocation import ClusterState
from emulator.placement import PackPlacement, PlacementRequest, Scratch
from emulator.placement.spread import SpreadPlacement
from topologies.index import derive_index
from topologies.presets import resolve_site


class _Asking(PackPlacement):
    """Pack that is asked every time (declared not monotone), counting its calls."""

    monotone = False
    calls = 0

    def place(self, request, scratch):  # type: ignore[no-untyped-def]
        type(self).calls += 1
        return super().place(request, scratch)


class _AskingSpread(SpreadPlacement):
    monotone = False


_SITE = resolve_site("bizerte-20mw", {"halls": [{"name": "a", "system": "gb200-nvl72",
                                                  "racks": 3},
                                                 {"name": "b", "system": "gb200-nvl72",
                                                  "racks": 2}]})
_INDEX = derive_index([_SITE])


@settings(max_examples=80, deadline=None, derandomize=True)
@given(busy=st.integers(0, 300),
       ops=st.lists(st.tuples(st.sampled_from(["place", "place", "place", "release"]),
                              st.sampled_from([1, 2, 4, 8]), st.integers(1, 40),
                              st.booleans(), st.integers(0, 10**6)),
                    min_size=1, max_size=60),
       spread=st.booleans())
def test_refused_repeats_match_the_policy(busy: int, ops: list[tuple[str, int, int, bool, int]],
                                          spread: bool) -> None:
    index = _INDEX
    cluster = ClusterState(index)
    rng = np.random.default_rng(busy)
    if busy:
        cluster.allocate(np.sort(rng.choice(index.n_gpus, busy, replace=False)), owner=7)
    masks = [None, np.arange(index.n_domains) % 2 == 0]

    def scratch(policy):  # type: ignore[no-untyped-def]
        return Scratch(index, cluster.free_mask(), cluster.domain_free, cluster.domain_start,
                       policy, cluster.by_free)

    fast = scratch(SpreadPlacement() if spread else PackPlacement())
    slow = scratch(_AskingSpread() if spread else _Asking())
    held: list[np.ndarray] = []
    for op, group, groups, masked, r in ops:
        if op == "release":
            if held:
                gpus = held.pop(r % len(held))
                fast.release(gpus)
                slow.release(gpus)
            continue
        request = PlacementRequest(group * groups, group, masks[1] if masked else None)
        a, b = fast.place(request), slow.place(request)
        assert (a is None) == (b is None)
        if a is not None:
            assert a.tolist() == b.tolist()
            held.append(a)
        assert fast.free_gpus == slow.free_gpus
        clone = fast.clone()  # a clone answers like its original
        assert (clone.place(request) is None) == (slow.clone().place(request) is None)


def test_a_deep_queue_of_misfits_asks_the_policy_once() -> None:
    cluster = ClusterState(_INDEX)
    assert _INDEX.n_domains == 5
    keep_free = np.concatenate([_INDEX.domain_size[:d].sum() + np.arange(20)
                                for d in range(5)])  # 20 free GPUs in each of 5 domains
    busy = np.setdiff1d(np.arange(_INDEX.n_gpus), keep_free)
    cluster.allocate(busy, owner=1)
    asking = _Asking()
    asking.monotone = True
    s = Scratch(_INDEX, cluster.free_mask(), cluster.domain_free, cluster.domain_start,
                asking, cluster.by_free)
    _Asking.calls = 0
    for groups in (11, 11, 12, 11, 11):  # 88-96 of the 100 free GPUs
        assert s.place(PlacementRequest(8 * groups, 8)) is None  # 2 groups per domain fit
    assert _Asking.calls == 1  # the first failure answers every later, larger request
    taken = s.place(PlacementRequest(8 * 10, 8))  # fewer groups: asked, and it fits
    assert taken is not None and _Asking.calls == 2
    s.release(taken)  # room again: the failure is forgotten and the policy asked again
    assert s.place(PlacementRequest(8 * 11, 8)) is None and _Asking.calls == 3
