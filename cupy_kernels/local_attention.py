"""Local (windowed or chunked) attention: how much of full attention a layer stack costs.

Some models restrict part of their layers to the last ``W`` tokens (Llama 4's chunked
attention: 36 of 48 layers over 8,192-token chunks, modelled as a window of ``W``). Such
a layer holds and reads at most ``W`` tokens of KV cache, and its query at position ``t``
attends over ``min(t, W)`` keys. These helpers give the resulting fractions of the
all-global figures, averaged over the layers; every input broadcasts, and rows with no
local layers or a window of 0 get exactly 1 (so their results do not move).
"""

from __future__ import annotations

from typing import Any

from cupy_kernels._arrays import f64

__all__ = ["causal_pair_fraction", "kv_layer_fraction"]


def kv_layer_fraction(xp: Any, layers: Any, local: Any, window: Any, ctx: Any) -> Any:
    """Fraction of the full KV cache (and of decode attention work) at ``ctx`` tokens:
    ``(layers - local + local·min(ctx, W)/ctx) / layers``; 1 when ``ctx <= W`` or
    ``W <= 0``."""
    c = xp.maximum(f64(xp, ctx), 1.0)
    layers, local, w = f64(xp, layers), f64(xp, local), f64(xp, window)
    short = (w <= 0.0) | (c <= w)
    return xp.where(short, 1.0, (layers - local + local * xp.minimum(c, w) / c) / layers)


def causal_pair_fraction(xp: Any, layers: Any, local: Any, window: Any, length: Any) -> Any:
    """Fraction of full causal attention a sequence of ``P = length`` tokens costs (prefill
    or training): a local layer sees ``P·W - W²/2`` query-key pairs against ``P²/2``, i.e.
    ``(2PW - W²)/P²`` of a global layer when ``P > W``; averaged over the layers; 1 when
    ``P <= W`` or ``W <= 0``."""
    p = xp.maximum(f64(xp, length), 1.0)
    layers, local, w = f64(xp, layers), f64(xp, local), f64(xp, window)
    part = xp.where((w <= 0.0) | (p <= w), 1.0, (2.0 * p * w - w * w) / (p * p))
    return (layers - local + local * part) / layers
