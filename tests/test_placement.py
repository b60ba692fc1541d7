"""Placement: TP groups inside NVLink domains, packing locality, spreading, no overlap."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emulator.core.allocation import AllocationError, ClusterState
from emulator.placement import PackPlacement, PlacementRequest, Scratch, SpreadPlacement
from topologies.index import derive_index
from topologies.presets import resolve_site


def _index(racks: int = 4, system: str = "gb200-nvl72", racks_per_pod: int = 2):
    site = resolve_site("bizerte-20mw", {
        "halls": [{"name": "h", "system": system, "racks": racks}],
        "fabric": {"racks_per_pod": racks_per_pod}})
    return derive_index([site])


def _scratch(index, placement, cluster=None) -> Scratch:
    c = cluster or ClusterState(index)
    return Scratch(index, c.free_mask(), c.domain_free, c.domain_start, placement)


def test_pack_fits_in_one_domain_best_fit() -> None:
    index = _index()
    cluster = ClusterState(index)
    cluster.allocate(np.arange(0, 60), owner=1)  # domain 0 has 12 free GPUs left
    s = _scratch(index, PackPlacement(), cluster)
    gpus = s.place(PlacementRequest(8, 4))
    assert gpus is not None and set(index.gpu_domain[gpus].tolist()) == {0}, "tightest domain"


def test_pack_uses_fewest_domains_within_one_pod() -> None:
    index = _index(racks=4, racks_per_pod=2)
    s = _scratch(index, PackPlacement())
    gpus = s.place(PlacementRequest(144, 8))  # two full NVL72 domains
    assert gpus is not None
    assert len(set(index.gpu_domain[gpus].tolist())) == 2
    assert len(set(index.gpu_pod[gpus].tolist())) == 1
    assert index.slowest_tier(gpus) == 1  # leaf: one pod


def test_tp_groups_never_straddle_domains() -> None:
    index = _index(racks=2)
    s = _scratch(index, PackPlacement())
    first = s.place(PlacementRequest(64, 8))  # leaves 8 GPUs in domain 0
    gpus = s.place(PlacementRequest(24, 8))
    assert first is not None and gpus is not None
    groups = index.gpu_domain[gpus].reshape(-1, 8)
    assert np.all(groups == groups[:, :1])


def test_does_not_fit_returns_none() -> None:
    index = _index(racks=1)
    s = _scratch(index, PackPlacement())
    assert s.place(PlacementRequest(80, 8)) is None
    assert s.place(PlacementRequest(72, 8)) is not None
    assert s.place(PlacementRequest(8, 8)) is None


def test_spread_uses_many_domains() -> None:
    index = _index(racks=4)
    s = _scratch(index, SpreadPlacement())
    gpus = s.place(PlacementRequest(16, 4))
    assert gpus is not None and len(set(index.gpu_domain[gpus].tolist())) == 4


def test_h100_domains_are_eight_gpus() -> None:
    index = _index(racks=2, system="h100-hgx")
    s = _scratch(index, PackPlacement())
    assert s.place(PlacementRequest(16, 16)) is None  # TP 16 cannot fit an 8-GPU domain
    gpus = s.place(PlacementRequest(16, 8))
    assert gpus is not None and len(set(index.gpu_domain[gpus].tolist())) == 2


def test_eligibility_mask_is_respected() -> None:
    index = _index(racks=4)
    eligible = np.zeros(index.n_domains, bool)
    eligible[3] = True
    s = _scratch(index, PackPlacement())
    gpus = s.place(PlacementRequest(8, 8, eligible))
    assert gpus is not None and set(index.gpu_domain[gpus].tolist()) == {3}


def test_cluster_state_refuses_double_allocation() -> None:
    index = _index(racks=1)
    c = ClusterState(index)
    c.allocate(np.arange(8), 1)
    with pytest.raises(AllocationError, match="already held"):
        c.allocate(np.arange(4, 12), 2)
    with pytest.raises(AllocationError, match="listed twice"):
        c.allocate(np.array([20, 20]), 3)
    with pytest.raises(AllocationError, match="does not hold"):
        c.release(np.arange(8), 2)
    c.release(np.arange(8), 1)
    assert c.free_gpus == index.n_gpus and c.domain_free.sum() == index.n_gpus


@settings(max_examples=40, deadline=None)
@given(requests=st.lists(st.tuples(st.sampled_from([1, 2, 4, 8]), st.integers(1, 40)),
                         min_size=1, max_size=25),
       spread=st.booleans())
def test_tentative_placements_never_overlap(requests: list[tuple[int, int]],
                                            spread: bool) -> None:
    index = _index(racks=3)
    s = _scratch(index, SpreadPlacement() if spread else PackPlacement())
    used = np.zeros(index.n_gpus, dtype=int)
    for g, n_groups in requests:
        gpus = s.place(PlacementRequest(g * n_groups, g))
        if gpus is None:
            continue
        assert gpus.size == g * n_groups
        used[gpus] += 1
        groups = index.gpu_domain[gpus].reshape(-1, g)
        assert np.all(groups == groups[:, :1])
    assert used.max() <= 1
    assert s.free_gpus == index.n_gpus - used.sum() == int(s.is_free(np.arange(index.n_gpus)).sum())


@given(st.lists(st.tuples(st.integers(0, 287), st.integers(1, 72)), max_size=30),
       st.sampled_from([1, 2, 4, 8]), st.integers(1, 9))
@settings(max_examples=60, deadline=None)
def test_bucket_best_fit_equals_a_full_scan(allocs: list[tuple[int, int]], g: int,
                                            need: int) -> None:
    """The bucket index picks the same tightest domain as scanning every domain."""
    index = _index()
    c = ClusterState(index)
    owner = 0
    for start, n in allocs:
        gpus = np.arange(start, min(start + n, index.n_gpus))
        if c.free[gpus].all():
            c.allocate(gpus, owner)
            owner += 1
    s = Scratch(index, c.free, c.domain_free, c.domain_start, PackPlacement(), c.by_free)
    if s.domain_free[1] >= g:  # touch one domain tentatively, as a round would
        s.take([(1, 1)], g)
    cap = s.domain_free // g
    fits = np.flatnonzero(cap >= need)
    want = int(fits[np.argmin(cap[fits])]) if fits.size else None
    assert s.tightest_domain(g, need) == want
    for v, bucket in enumerate(c.by_free):
        assert bucket == sorted(np.flatnonzero(c.domain_free == v).tolist())
