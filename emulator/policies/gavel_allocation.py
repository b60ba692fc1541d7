"""Gavel's max-min fairness allocation: the linear programme over GPU types.

Kept apart from :mod:`emulator.policies.gavel_rounds` (the round mechanism) so each file
has one concern. ``X[j, k]`` is the share of time job ``j`` should run on GPU type ``k``;
:func:`max_min_allocation` maximises the smallest normalised effective throughput
(Narayanan et al., OSDI 2020, section 3; the formulation is in
:mod:`emulator.policies.gavel_rounds`), with SciPy's HiGHS or with ECOS.
"""

from __future__ import annotations

import numpy as np

__all__ = ["SOLVERS", "max_min_allocation"]


SOLVERS = ("highs", "ecos")
"""LP solvers for the allocation: SciPy's HiGHS (a vertex of the optimal face) or ECOS
(an interior point, as Gavel's default ``--solver ECOS``; needs the ``ecos`` package)."""


def _lp_rows(throughput: np.ndarray, scale: np.ndarray, gpus_per_type: np.ndarray
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The LP as ``minimise c·z subject to A z <= b`` over ``z = (X row-major, t)``.

    Rows: ``t - Σ_k coef[j,k] X[j,k] <= 0`` per job, ``Σ_k X[j,k] <= 1`` per job and
    ``Σ_j s_j X[j,k] <= n_k`` per type: Gavel's constraint set (``x >= 0`` is left to the
    solver's bounds).
    """
    n_jobs, n_types = throughput.shape
    total = float(gpus_per_type.sum())
    fair = throughput @ (gpus_per_type / total)  # P_j: throughput on an equal share
    coef = throughput * scale[:, None] / np.where(fair > 0, fair, 1.0)[:, None]
    nx = n_jobs * n_types
    c = np.zeros(nx + 1)
    c[-1] = -1.0
    a = np.zeros((2 * n_jobs + n_types, nx + 1))
    b = np.zeros(2 * n_jobs + n_types)
    for j in range(n_jobs):
        a[j, j * n_types:(j + 1) * n_types] = -coef[j]
        a[j, -1] = 1.0
        a[n_jobs + j, j * n_types:(j + 1) * n_types] = 1.0
        b[n_jobs + j] = 1.0
    for k in range(n_types):
        a[2 * n_jobs + k, k:nx:n_types] = scale
        b[2 * n_jobs + k] = float(gpus_per_type[k])
    return c, a, b


def _solve_highs(c: np.ndarray, a: np.ndarray, b: np.ndarray, runnable: np.ndarray
                 ) -> np.ndarray:
    from scipy.optimize import linprog  # loaded only when an LP is solved (start-up)

    bounds = [(0.0, 1.0 if ok else 0.0) for ok in runnable.tolist()]
    bounds.append((0.0, None))
    result = linprog(c, A_ub=a, b_ub=b, bounds=bounds, method="highs-ipm")
    if result.status != 0:  # cannot happen for this feasible, bounded LP; be explicit
        raise RuntimeError(f"max-min fairness LP failed: {result.message}")
    return np.asarray(result.x[:-1])


def _solve_ecos(c: np.ndarray, a: np.ndarray, b: np.ndarray, runnable: np.ndarray
                ) -> np.ndarray:
    """ECOS on the same rows plus ``X >= 0``, with the ``X`` a job cannot run on removed
    (fixed at 0). ECOS's defaults (tolerances 1e-8), as Gavel calls it through cvxpy."""
    import ecos
    from scipy.sparse import csc_matrix

    keep = np.append(np.flatnonzero(runnable), a.shape[1] - 1)  # and t
    n = keep.size
    g = np.vstack([a[:, keep], -np.eye(n)[:-1]])  # -X <= 0; t is free
    h = np.concatenate([b, np.zeros(n - 1)])
    solution = ecos.solve(c[keep], csc_matrix(g), h, {"l": g.shape[0], "q": [], "e": 0},
                          verbose=False)
    if solution["info"]["exitFlag"] not in (0, 10):  # optimal, or optimal to reduced accuracy
        raise RuntimeError(f"max-min fairness LP failed: {solution['info']['infostring']}")
    z = np.zeros(a.shape[1])
    z[keep] = solution["x"]
    return z[:-1]


def max_min_allocation(throughput: np.ndarray, scale: np.ndarray,
                       gpus_per_type: np.ndarray, solver: str = "highs") -> np.ndarray:
    """The max-min fair allocation ``X`` (jobs × types) for ``throughput`` (jobs × types,
    0 where a job cannot run), job GPU counts ``scale`` and ``gpus_per_type``, solved by
    ``solver`` (one of :data:`SOLVERS`)."""
    n_jobs, n_types = throughput.shape
    if n_jobs == 0:
        return np.zeros((0, n_types))
    # A job that can run on no type with GPUs in service would pin the smallest term, and
    # so the optimum, at 0, making every allocation optimal: it is left out, gets nothing.
    live = (throughput * (np.asarray(gpus_per_type) > 0)).max(axis=1) > 0
    out = np.zeros((n_jobs, n_types))
    if not live.any():
        return out
    thr = throughput[live]
    c, a, b = _lp_rows(thr, scale[live], gpus_per_type)
    runnable = thr.ravel() > 0
    x = (_solve_ecos if solver == "ecos" else _solve_highs)(c, a, b, runnable)
    out[live] = np.clip(x.reshape(thr.shape), 0.0, 1.0)
    return out
