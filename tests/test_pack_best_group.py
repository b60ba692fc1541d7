"""Packing across NVLink domains: every search picks what the plain algorithm picks.

:func:`emulator.placement.pack._best_group` finds the group (pod or site) needing the
fewest domains by sorting every domain (few domains free) or from a histogram of
capacities per group (many), where the domains at the largest capacity often decide it
alone (:func:`_best_group_at_top`). The reference below is the plain algorithm (fill each
group greedily, its domains by capacity then id; fewest domains, then tightest, then
lowest group); each search must give the same plan for any capacities, and the shortcut
the same plan whenever it decides.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from emulator.placement.pack import (
    _best_group,
    _best_group_at_top,
    _best_group_histogram,
    _best_group_sorted,
    _histogram,
)


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


@settings(max_examples=500, deadline=None)
@given(st.integers(1, 60), st.integers(1, 8), st.integers(1, 9), st.integers(1, 80),
       st.floats(0.0, 1.0), st.integers(0, 2**32 - 1))
def test_the_top_shortcut_plans_as_the_plain_algorithm(n_domains: int, n_groups: int,
                                                       top: int, need: int, idle: float,
                                                       seed: int) -> None:
    """Whenever the domains at the top capacity decide, their plan is the reference's;
    ``idle`` is the share of domains left wholly free (so the shortcut often decides)."""
    rng = np.random.default_rng(seed)
    cap = np.where(rng.random(n_domains) < idle, top, rng.integers(0, top + 1, n_domains))
    group_of_domain = rng.integers(0, n_groups, n_domains)
    want = _reference(cap, group_of_domain, n_groups, need)
    hist = _histogram(cap, group_of_domain, n_groups)
    decided, plan = _best_group_at_top(cap, group_of_domain, hist, need)
    if decided:
        assert plan == want
    assert _best_group_histogram(cap, group_of_domain, n_groups, need, hist) == want
    assert _best_group(cap, group_of_domain, n_groups, need) == want


def test_the_top_shortcut_decides_on_an_idle_campus() -> None:
    """Many idle domains: two at the top capacity in one pod decide (least slack first);
    a need not a multiple of the top defers to the full search when a group might still
    do with as few domains."""
    top = 9
    pods = np.repeat(np.arange(4), 16)
    cap = np.full(64, top)
    cap[:15] = 0  # pod 0: one idle domain (9 free)
    cap[16:30] = 3  # pod 1: two idle domains and 14 at 3 (60 free)
    cap[48:63] = 0  # pod 3: one idle domain
    hist = _histogram(cap, pods, 4)
    assert _best_group_at_top(cap, pods, hist, 18) == (True, [(30, 9), (31, 9)])
    assert _best_group(cap, pods, 4, 18) == [(30, 9), (31, 9)]
    assert _best_group_at_top(cap, pods, hist, 10_000) == (True, None)
    cap[14] = 8  # pod 0 now holds 9 + 8 = 17 in two domains: 17 groups is in doubt
    hist = _histogram(cap, pods, 4)
    assert _best_group_at_top(cap, pods, hist, 17) == (False, None)
    assert _best_group(cap, pods, 4, 17) == _reference(cap, pods, 4, 17) == [(15, 9), (14, 8)]
