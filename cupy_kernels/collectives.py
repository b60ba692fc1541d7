"""Alpha-beta (latency-bandwidth) cost models of collectives, vectorised over rows.

A message of ``nbytes`` between ``n`` ranks, each with ``bw`` bytes/s per direction on the
slowest link it crosses and ``alpha`` seconds of per-hop latency (Hockney model;
Thakur, Rabenseifner & Gropp, "Optimization of collective communication operations in
MPICH", IJHPCA 2005). All arguments broadcast; results are seconds.
"""

from __future__ import annotations

from typing import Any

from cupy_kernels._arrays import f64

__all__ = ["allreduce_time", "p2p_time", "ring_allreduce_time", "tree_allreduce_time"]


def ring_allreduce_time(xp: Any, nbytes: Any, n: Any, bw: Any, alpha: Any) -> Any:
    """Ring all-reduce: reduce-scatter + all-gather, ``2(n-1)`` steps of ``nbytes/n`` each.

    ``t = 2(n-1)·alpha + 2(n-1)/n · nbytes/bw`` seconds; 0 when ``n <= 1``. Bandwidth-optimal
    for large messages, latency grows linearly with ``n``.
    """
    nb, nn, b, a = f64(xp, nbytes), f64(xp, n), f64(xp, bw), f64(xp, alpha)
    steps = 2.0 * xp.maximum(nn - 1.0, 0.0)
    return xp.where(nn > 1.0, steps * a + steps / xp.maximum(nn, 1.0) * nb / b, 0.0)


def tree_allreduce_time(xp: Any, nbytes: Any, n: Any, bw: Any, alpha: Any) -> Any:
    """Pipelined double-binary-tree all-reduce (as in NCCL trees).

    Reduce up and broadcast down a tree of depth ``log2 n``; with pipelining each rank sends
    and receives the whole message about once per direction, so
    ``t = 2·log2(n)·alpha + 2·nbytes/bw`` seconds; 0 when ``n <= 1``. Latency grows only
    logarithmically, which wins over the ring for small messages across many ranks.
    """
    nb, nn, b, a = f64(xp, nbytes), f64(xp, n), f64(xp, bw), f64(xp, alpha)
    depth = xp.log2(xp.maximum(nn, 1.0))
    return xp.where(nn > 1.0, 2.0 * depth * a + 2.0 * nb / b, 0.0)


def allreduce_time(xp: Any, nbytes: Any, n: Any, bw: Any, alpha: Any) -> Any:
    """The faster of ring and tree all-reduce, element-wise (what NCCL's tuner picks), s."""
    return xp.minimum(
        ring_allreduce_time(xp, nbytes, n, bw, alpha),
        tree_allreduce_time(xp, nbytes, n, bw, alpha),
    )


def p2p_time(xp: Any, nbytes: Any, bw: Any, alpha: Any) -> Any:
    """One point-to-point send of ``nbytes``: ``alpha + nbytes/bw`` seconds."""
    return f64(xp, alpha) + f64(xp, nbytes) / f64(xp, bw)
