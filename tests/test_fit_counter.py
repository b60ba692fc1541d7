"""Fit tests on free counts answer as placing would.

A preemption search asks "would the blocked job fit if these jobs stopped?" many times.
For pack and spread (``fits_anywhere``) it answers on counts (:class:`FitCounter`)
instead of releasing the victims on a copy of the scratch and placing there; each answer
must be the placement's own, with GPUs cut off from scale-out, eligible-domain masks and
two sites, as victims are added and taken back in any order.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from emulator.core.allocation import ClusterState
from emulator.placement import PackPlacement, PlacementRequest, Scratch
from emulator.placement.base import PlacementPolicy
from emulator.placement.fit_counter import FitCounter, domain_counts
from emulator.placement.spread import SpreadPlacement
from topologies.index import derive_index
from topologies.presets import resolve_site

_SITES = [resolve_site("bizerte-20mw", {"name": name, "halls": [
    {"name": "h", "system": "gb200-nvl72", "racks": racks}]}) for name, racks in (("a", 3),
                                                                                ("b", 2))]
_INDEX = derive_index(_SITES)


def _scratch(cluster: ClusterState, policy: PlacementPolicy) -> Scratch:
    return Scratch(cluster.index, cluster.free, cluster.domain_free, cluster.domain_start,
                   policy, cluster.by_free, isolated=cluster.isolated,
                   domain_isolated=cluster.domain_isolated,
                   domain_connected=cluster.domain_connected)


def _places(scratch: Scratch, victims: list[np.ndarray], request: PlacementRequest) -> bool:
    trial = scratch.clone()
    for gpus in victims:
        trial.release(gpus)
    return trial.place(request) is not None


@settings(max_examples=150, deadline=None, derandomize=True)
@given(seed=st.integers(0, 10**6), n_jobs=st.integers(1, 12), n_cut=st.integers(0, 40),
       group=st.sampled_from([1, 2, 4, 8]), groups=st.integers(1, 40),
       masked=st.booleans(), spread=st.booleans(),
       steps=st.lists(st.integers(0, 10**6), min_size=1, max_size=25))
def test_counts_answer_as_placing(seed: int, n_jobs: int, n_cut: int, group: int,
                                  groups: int, masked: bool, spread: bool,
                                  steps: list[int]) -> None:
    index = _INDEX
    rng = np.random.default_rng(seed)
    cluster = ClusterState(index)
    busy = rng.permutation(index.n_gpus)[: int(rng.integers(index.n_gpus // 2, index.n_gpus))]
    jobs = [np.sort(part) for part in np.array_split(busy, n_jobs) if part.size]
    for owner, gpus in enumerate(jobs):
        cluster.allocate(gpus, owner)
    if n_cut:
        cluster.isolate(rng.choice(index.n_gpus, n_cut, replace=False))
    policy = SpreadPlacement() if spread else PackPlacement()
    assert policy.fits_anywhere
    scratch = _scratch(cluster, policy)
    eligible = (np.arange(index.n_domains) % 2 == 1) if masked else None
    request = PlacementRequest(group * groups, group, eligible)
    counter = FitCounter(scratch, request)
    counts = [domain_counts(scratch, gpus) for gpus in jobs]
    added: list[int] = []
    assert counter.fits == _places(scratch, [], request)
    for step in steps:  # add a job not yet added, or take one back
        out = [j for j in range(len(jobs)) if j not in added]
        if out and (not added or step % 3):
            j = out[step % len(out)]
            counter.add(counts[j])
            added.append(j)
        else:
            j = added.pop(step % len(added))
            counter.remove(counts[j])
        assert counter.fits == _places(scratch, [jobs[k] for k in added], request)


def test_counts_follow_cut_gpus() -> None:
    """A job spanning domains needs GPUs with scale-out: freeing cut-off GPUs of several
    domains lets it fit on counts only once enough connected ones are free."""
    index = _INDEX
    cluster = ClusterState(index)
    starts = index.domain_size.cumsum() - index.domain_size
    holder = np.concatenate([starts[d] + np.arange(60) for d in range(3)])  # site a
    cluster.allocate(holder, 1)  # 12 GPUs free in each of site a's 3 domains
    cluster.allocate(np.arange(starts[3], index.n_gpus), 2)  # site b full
    cut = np.concatenate([starts[d] + np.arange(30) for d in range(3)])
    cluster.isolate(cut)  # half of each held block is cut off from scale-out
    scratch = _scratch(cluster, PackPlacement())
    request = PlacementRequest(96, 8)  # 12 groups: needs more than one domain
    counter = FitCounter(scratch, request)
    assert not counter.fits
    counter.add(domain_counts(scratch, cut[:60]))  # frees only cut GPUs in 2 domains
    assert counter.fits == _places(scratch, [cut[:60]], request)
    assert not counter.fits  # 42 free in domains 0 and 1, but 12 connected in each
    counter.add(domain_counts(scratch, holder[np.isin(holder, cut, invert=True)]))
    assert counter.fits and _places(scratch, [cut[:60], holder[~np.isin(holder, cut)]],
                                    request)


@settings(max_examples=100, deadline=None, derandomize=True)
@given(seed=st.integers(0, 10**6), n_jobs=st.integers(1, 16), n_down=st.integers(0, 60),
       spread=st.booleans())
def test_one_gpu_victim_as_the_counter_finds_it(seed: int, n_jobs: int, n_down: int,
                                                spread: bool) -> None:
    """On a full scratch, the victim found for a one-GPU job without a counter (the first
    candidate that gives a GPU back) is the counter's search's, with GPUs down or draining
    under some candidates."""
    from types import SimpleNamespace

    from emulator.policies import victims

    index = _INDEX
    rng = np.random.default_rng(seed)
    cluster = ClusterState(index)
    parts = np.array_split(rng.permutation(index.n_gpus), n_jobs)
    jobs = [np.sort(part) for part in parts if part.size]
    for owner, gpus in enumerate(jobs):
        cluster.allocate(gpus, owner)
    if n_down:  # whole jobs' GPUs out of service or draining: they give nothing back
        for j in rng.choice(len(jobs), min(n_down % 5, len(jobs)), replace=False):
            (cluster.take_down if j % 2 else cluster.drain)(jobs[j])
    scratch = Scratch(cluster.index, cluster.free, cluster.domain_free, cluster.domain_start,
                      SpreadPlacement() if spread else PackPlacement(), cluster.by_free,
                      down=cluster.down, draining=cluster.draining)
    assert scratch.free_gpus == 0
    job = SimpleNamespace(n_gpus=1, request=PlacementRequest(1, 1))
    usable = [SimpleNamespace(gpus=g, work_id=k) for k, g in enumerate(jobs)]
    fast = victims._victims_by_counts(scratch, job, usable)  # type: ignore[arg-type]
    # the counter's search, by placing (a request the fast path does not take)
    slow = victims._victims_by_placing(scratch, job, usable)  # type: ignore[arg-type]
    # and the counter's own search (every domain eligible, as a mask: no fast path)
    masked = SimpleNamespace(n_gpus=1, request=PlacementRequest(
        1, 1, np.ones(index.n_domains, dtype=bool)))
    counted = victims._victims_by_counts(scratch, masked, usable)  # type: ignore[arg-type]
    ids = [None if v is None else [c.work_id for c in v] for v in (fast, slow, counted)]
    assert ids[0] == ids[1] == ids[2]
