"""Packing across NVLink domains: both searches pick what the plain algorithm picks.

:func:`emulator.placement.pack._best_group` finds the group (pod or site) needing the
fewest domains by sorting every domain (few domains free) or from a histogram of
capacities per group (many). The reference below is the plain algorithm (fill each group
greedily, its domains by capacity then id; fewest domains, then tightest, then lowest
group); each search must give the same plan for any capacities.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from emulator.placement.pack import _best_group, _best_group_histogram, _best_group_sorted


def _reference(cap: np.ndarray, group_of_domain: np.ndarray, n_groups: int,
               need: int) -> list[tuple[int, int]] | None:
    domains = np.flatnonzero(cap > 0)
    if domains.size == 0:
        return None
    groups = group_of_domain[domains]
    totals = np.bincount(groups, weights=cap[domains], minlength=n_groups)
    candidates = np.flatnonzero(totals >= need)
    if candidates.size == 0:
        return None
    best_key, best_plan = None, None
    for g in candidates.tolist():
        mine = domains[groups == g]
        mine = mine[np.lexsort((mine, -cap[mine]))]
        plan, left = [], need
        for d in mine.tolist():
            k = min(int(cap[d]), left)
            plan.append((d, k))
            left -= k
            if left == 0:
                break
        key = (len(plan), float(totals[g]) - need, g)
        if best_key is None or key < best_key:
            best_key, best_plan = key, plan
    return best_plan


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 40), st.integers(1, 6), st.integers(1, 9), st.integers(1, 60),
       st.integers(0, 2**32 - 1))
def test_each_search_equals_the_plain_algorithm(n_domains: int, n_groups: int, top: int,
                                               need: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    cap = rng.integers(0, top + 1, n_domains)
    group_of_domain = rng.integers(0, n_groups, n_domains)
    want = _reference(cap, group_of_domain, n_groups, need)
    for search in (_best_group, _best_group_sorted, _best_group_histogram):
        assert search(cap, group_of_domain, n_groups, need) == want, search.__name__


def test_fewest_domains_then_tightest_then_lowest_group() -> None:
    cap = np.array([9, 9, 5, 5, 5, 5, 9, 9, 1])
    pods = np.array([0, 0, 1, 1, 1, 1, 2, 2, 2])
    # 18 groups: pods 0 and 2 need 2 domains; pod 0 is tighter (0 left against 1)
    assert _best_group(cap, pods, 3, 18) == [(0, 9), (1, 9)]
    # 19: only pods 1 (4 domains) and 2 (3 domains) can; pod 2 needs fewer
    assert _best_group(cap, pods, 3, 19) == [(6, 9), (7, 9), (8, 1)]
    assert _best_group(cap, pods, 3, 21) is None
    for search in (_best_group_sorted, _best_group_histogram):
        assert search(cap, pods, 3, 19) == [(6, 9), (7, 9), (8, 1)]
