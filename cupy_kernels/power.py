"""GPU, rack and facility power, vectorised (W).

**GPU power** is linear in utilisation between idle and TDP,
``P = idle + (tdp - idle)·util``, then clipped to a power cap. Linear utilisation-to-power
models are the standard first-order model for servers (Fan, Weber & Barroso, "Power
provisioning for a warehouse-sized computer", ISCA 2007, found them within a few percent
at the cluster level); here ``util`` is the compute duty cycle from the step-time
kernels, so communication-bound phases draw less, as measured for LLM training and
inference by Patel et al. (POLCA, arXiv:2308.12908).

**Throughput under a cap** follows a concave curve,
``((cap - idle)/(tdp - idle)) ** CAP_EXPONENT``. Reason: dynamic power scales as
``f·V²`` and voltage falls with clock under DVFS, so the clock (hence compute
throughput) falls more slowly than power; an exponent of 1/3 is the ideal cube law and 1
is the fixed-voltage limit. We use 0.5, between the two: a 700 W H100 (90 W idle) capped
at 600 W keeps 91% of its throughput. Published capping studies report the same
shape — "marginal" slow-down for a 40% lower cap on V100 transformer training (McDonald
et al., "Great Power, Great Responsibility", 2022, arXiv:2205.09646) and
little loss for memory-bound decode, which rarely reaches the cap (Ma et al.,
arXiv:2605.11999); none publishes the exponent itself, so treat it as an estimate.
"""

from __future__ import annotations

from typing import Any

from cupy_kernels._arrays import f64

__all__ = [
    "CAP_EXPONENT",
    "FIXED_FACILITY_FRACTION",
    "MEMORY_BOUND_UTIL",
    "MIN_CAP_FRACTION",
    "NODE_OVERHEAD_DRAW",
    "cap_throughput_factor",
    "decode_power_util",
    "facility_power",
    "gpu_power",
    "rack_power",
]

CAP_EXPONENT: float = 0.5
"""Exponent of the power-cap throughput curve (see the module docstring). Estimate."""

MIN_CAP_FRACTION: float = 200.0 / 700.0
"""Vendor minimum power limit as a fraction of TDP: ``nvidia-smi -q`` reports a 200 W "Min
Power Limit" for the 700 W H100 SXM (NVIDIA System Management Interface documentation,
``power.min_limit``). A cap below it is not applied: the GPU keeps drawing up to the
minimum limit, so throughput never falls below what the minimum cap gives. Used for
every GPU, scaled to its TDP (other parts' limits are estimates)."""

FIXED_FACILITY_FRACTION: float = 0.03
"""Load-independent facility power as a fraction of the site's design IT power: UPS and
transformer no-load losses, lighting, controls and constant-speed pumps, drawn whatever
the IT load (Barroso, Hölzle & Ranganathan, "The Datacenter as a Computer", 3rd ed.,
ch. 5: fixed overheads make PUE rise at low load). 3% is an estimate (no-load losses of
1-2% for UPS and transformers, about 1% for the rest). The configured PUE is the
full-load PUE; the fixed part is taken out of it, so at full load nothing changes."""

MEMORY_BOUND_UTIL: float = 0.35
"""Power-model utilisation (fraction of the idle-to-TDP range) of a GPU streaming HBM in a
memory-bound decode step. Estimate from the H200 decode measurements of Ma et al.
(arXiv:2605.11999): 137-300 W on a 700 W part, i.e. at most (300 - 90)/(700 - 90) = 0.34
of the range above idle; the compute-bound share of a step counts as utilisation 1."""


NODE_OVERHEAD_DRAW: float = (0.76 * 10.2e3 - 8 * 700.0) / (10.2e3 - 8 * 700.0)
"""Fraction of a system's nameplate non-GPU power that it actually draws (≈ 0.468).

The catalog's non-GPU overheads (``rack_overhead_full_w``/``_idle_w``) come from the
vendors' maximum system power — DGX H100's 10.2 kW less eight 700 W GPUs — a provisioning
figure that budgets CPUs at TDP, fans at full speed and redundant supplies. A node running
GPU-bound training draws far less: Newkirk et al. (arXiv:2506.14551) measured even
compute-intensive work at 76 % of the 10.2 kW rating. With the GPUs at TDP that leaves
0.76·10.2 − 5.6 = 2.15 kW of the 4.6 kW non-GPU budget. Fitted on that one row
(``docs/validation.md``); the engine scales both the idle and the full-load overhead by
it when it computes drawn power, while hall sizing and the facility's design power keep
the nameplate (``SystemSpec.rack_full_w``)."""


def decode_power_util(xp: Any, step_s: Any, gpu_s: Any, compute_s: Any) -> Any:
    """Power-model utilisation (0..1) of a decode step of ``step_s`` seconds: the tensor
    cores busy for ``compute_s`` (utilisation 1), memory-bound streaming for the rest of
    the GPU's ``gpu_s`` (:data:`MEMORY_BOUND_UTIL`), idle while the GPU waits for the
    host."""
    step = f64(xp, step_s)
    cf = xp.clip(f64(xp, compute_s) / step, 0.0, 1.0)
    busy = xp.minimum(f64(xp, gpu_s) / step, 1.0)
    return cf + MEMORY_BOUND_UTIL * (busy - cf)


def gpu_power(xp: Any, util: Any, idle_w: Any, tdp_w: Any, cap_w: Any = None) -> Any:
    """Electrical power of each GPU in W: ``min(idle + (tdp - idle)·util, cap)``.

    ``util`` is clipped to [0, 1]; ``cap_w=None`` means uncapped. All arguments broadcast.
    """
    u = xp.clip(f64(xp, util), 0.0, 1.0)
    idle = f64(xp, idle_w)
    p = idle + (f64(xp, tdp_w) - idle) * u
    if cap_w is None:
        return p
    return xp.minimum(p, f64(xp, cap_w))


def cap_throughput_factor(
    xp: Any, cap_w: Any, idle_w: Any, tdp_w: Any, exponent: float = CAP_EXPONENT,
    min_cap_w: Any = None,
) -> Any:
    """Fraction (0..1) of full-power compute throughput kept under a power cap ``cap_w``.

    ``clip((max(cap, min_cap) - idle)/(tdp - idle), 0, 1) ** exponent``: 1 when
    ``cap >= tdp``; with ``min_cap_w`` (the vendor's minimum power limit) a lower cap
    gives the same throughput as the minimum cap; without it, 0 when the cap is at or
    below idle power (the GPU cannot run work).
    """
    idle = f64(xp, idle_w)
    cap = f64(xp, cap_w) if min_cap_w is None else xp.maximum(f64(xp, cap_w),
                                                                f64(xp, min_cap_w))
    frac = (cap - idle) / (f64(xp, tdp_w) - idle)
    return xp.clip(frac, 0.0, 1.0) ** exponent


def rack_power(
    xp: Any,
    gpu_w: Any,
    gpu_rack: Any,
    n_racks: int,
    rack_overhead_idle_w: Any,
    rack_overhead_full_w: Any,
    rack_util: Any,
) -> Any:
    """Power of each rack in W (length ``n_racks``).

    The sum of its GPUs' power (``bincount`` of ``gpu_w`` by ``gpu_rack``) plus the non-GPU
    overhead (CPUs, NVLink switches, NICs, fans/pumps, conversion losses) interpolated
    linearly from ``rack_overhead_idle_w`` to ``rack_overhead_full_w`` by the rack's mean
    GPU utilisation ``rack_util`` (clipped to [0, 1]). Overheads and ``rack_util`` are
    scalars or per-rack arrays.
    """
    gpus = xp.bincount(xp.asarray(gpu_rack), weights=f64(xp, gpu_w), minlength=int(n_racks))
    if gpus.shape[0] != int(n_racks):  # shape is host-side: no device sync
        raise ValueError(f"gpu_rack holds a rack id >= n_racks ({n_racks})")
    idle = f64(xp, rack_overhead_idle_w)
    u = xp.clip(f64(xp, rack_util), 0.0, 1.0)
    return gpus + idle + (f64(xp, rack_overhead_full_w) - idle) * u


def facility_power(xp: Any, it_w: Any, pue: Any, design_it_w: Any = None,
                   fixed_fraction: float = FIXED_FACILITY_FRACTION) -> Any:
    """Facility power in W: IT power times PUE, plus a load-independent part.

    Without ``design_it_w``: ``it·pue``. With it (the site's nameplate IT power, W):
    ``it·(pue - f′) + f′·design_it_w``, ``f′ = min(f, max(pue - 1, 0))``,
    ``f = fixed_fraction`` — equal to ``it·pue`` when ``it`` reaches the nameplate; below
    it the hall keeps paying the fixed part, so its effective PUE (facility/IT) rises as
    load falls. The engine's drawn IT power stays below the nameplate even at full
    utilisation (``NODE_OVERHEAD_DRAW``): a busy GB200 hall at PUE 1.08 shows an effective
    PUE of about 1.085. A PUE below ``1 + f`` (a hall declared more efficient than the
    fixed part alone) keeps only ``pue - 1`` as its fixed part (``f′``), so the declared
    PUE still holds at the nameplate and a lower PUE always means less facility power.
    """
    it = f64(xp, it_w)
    if design_it_w is None:
        return it * f64(xp, pue)
    pue = f64(xp, pue)
    fixed = xp.minimum(fixed_fraction, xp.maximum(pue - 1.0, 0.0))
    return it * (pue - fixed) + fixed * f64(xp, design_it_w)
