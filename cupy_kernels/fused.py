"""Fused cupy ``ElementwiseKernel`` versions of the hottest element-wise formulas.

One CUDA kernel per formula instead of a dozen temporaries: the decode step time (called
for every service at every scheduling round) and GPU power (every GPU at every sample
tick). The numpy/xp functions in :mod:`cupy_kernels.inference` and
:mod:`cupy_kernels.power` are the reference; ``tests/test_kernels_gpu.py`` checks these
against them on a GPU. Only usable with the cupy backend: the kernels are compiled on
first use and cached.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import cupy_kernels.training as training
from cupy_kernels import inference
from cupy_kernels.inference import InferenceBatch

__all__ = ["decode_step_time_fused", "gpu_power_fused"]

_DECODE_IN = (
    "float64 params, float64 active, float64 layers, float64 kv_heads, float64 head_dim, "
    "float64 wbpp, float64 kvb, float64 tp, float64 peak, float64 hbm_bw, "
    "float64 prefill_eff, float64 bw_eff, float64 prompt, float64 output, float64 batch, "
    "float64 nvbw, float64 alpha, float64 hidden, float64 attn_w, float64 overhead, "
    "float64 eparams, float64 experts, float64 k, float64 attn_peak, float64 half, "
    "float64 seq_overhead, float64 local, float64 window, float64 rep"
)
_DECODE_BODY = """
double kv = 2.0 * layers * kv_heads * head_dim * kvb;
double frac = (experts > 1.0) ? 1.0 - pow(1.0 - k / experts, batch) : 1.0;
double ctx = prompt + 0.5 * output;
double seen = (window > 0.0 && ctx > window)
    ? ctx * (layers - local + local * window / ctx) / layers : ctx;
double rate_b = tp * hbm_bw * bw_eff;
double wmem = (((params - eparams) + eparams * frac) * wbpp
               + (tp - 1.0) * rep * wbpp) / rate_b;
double kvmem = batch * seen * kv / rate_b;
double e = fmax(experts, 1.0);
double ea = (e > 1.0) ? eparams * fmin(fmax(k, 0.0), e) / e : 0.0;
double t1 = fmax(batch, 1.0);
double rows = t1 * fmin(fmax(k, 1.0), e) / e;
double slow = (t1 / (t1 + half)) / (rows / (rows + half));
double gemm = 2.0 * batch * ((active - ea) + ea * slow) / (tp * peak * prefill_eff);
double attn = batch * 4.0 * layers * attn_w * seen / (tp * attn_peak * prefill_eff);
double ar = 0.0;
if (tp > 1.0 && nvbw > 0.0) {
    double nb = batch * hidden * 2.0;
    double steps = 2.0 * (tp - 1.0);
    double ring = steps * alpha + steps / tp * nb / nvbw;
    double tree = 2.0 * log2(tp) * alpha + 2.0 * nb / nvbw;
    ar = fmin(ring, tree);
}
t = fmax(fmax(wmem, gemm) + fmax(kvmem, attn) + 2.0 * layers * ar + overhead,
         seq_overhead * batch);
"""
_POWER_BODY = """
double u = fmin(fmax(util, 0.0), 1.0);
p = fmin(idle + (tdp - idle) * u, cap);
"""


@cache
def _kernels() -> tuple[Any, Any]:
    """Compile (once) and return the decode-step and GPU-power kernels."""
    import cupy  # only imported on the cupy backend

    decode = cupy.ElementwiseKernel(_DECODE_IN, "float64 t", _DECODE_BODY, "gpuemu_decode")
    power = cupy.ElementwiseKernel(
        "float64 util, float64 idle, float64 tdp, float64 cap",
        "float64 p",
        _POWER_BODY,
        "gpuemu_gpu_power",
    )
    return decode, power


def decode_step_time_fused(xp: Any, b: InferenceBatch) -> Any:
    """Same as :func:`cupy_kernels.inference.decode_step_time`, as one CUDA kernel (s)."""
    def opt(v: Any, default: float) -> Any:
        return default if v is None else v

    # the reference drops the TP all-reduce unless bandwidth, latency and width are all given
    all_reduce = b.allreduce_bw is not None and b.tp_alpha is not None and b.hidden is not None

    args = (
        b.params, b.active_params, b.layers, b.kv_heads, b.head_dim,
        b.weight_bytes_per_param, b.kv_bytes_per_elem, b.gpus_per_replica, b.peak_flops,
        b.hbm_bw, b.prefill_eff, b.decode_bw_eff, b.mean_prompt, b.mean_output, b.batch,
        # the rate the all-reduces achieve, as the reference's ``_tp_comm``
        opt(xp.asarray(b.allreduce_bw, dtype=xp.float64) * inference.TP_COMM_BW_EFF
            if all_reduce else None, 0.0), opt(b.tp_alpha, 0.0),
        opt(b.hidden if all_reduce else None, 0.0),
        # the decode step's attention width, as the reference's ``_decode_attn_width``
        opt(b.attn_width if b.decode_attn_width is None else b.decode_attn_width, 0.0),
        opt(b.step_overhead_s, 0.0), opt(b.expert_params, 0.0),
        opt(b.experts if b.active_experts is not None else None, 1.0),
        opt(b.active_experts, 1.0),
        b.peak_flops if b.attn_peak_flops is None else b.attn_peak_flops,
        training.MICRO_BATCH_HALF_TOKENS, opt(b.seq_overhead_s, 0.0),
        opt(b.local_layers if b.attn_window is not None else None, 0.0),
        opt(b.attn_window if b.local_layers is not None else None, 0.0),
        opt(b.replicated_params, 0.0),
    )  # fmt: skip
    return _kernels()[0](*(xp.asarray(a, dtype=xp.float64) for a in args))


def gpu_power_fused(xp: Any, util: Any, idle_w: Any, tdp_w: Any, cap_w: Any = None) -> Any:
    """Same as :func:`cupy_kernels.power.gpu_power`, as one CUDA kernel (W)."""
    cap = float("inf") if cap_w is None else cap_w
    args = (util, idle_w, tdp_w, cap)
    return _kernels()[1](*(xp.asarray(a, dtype=xp.float64) for a in args))
