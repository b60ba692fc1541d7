"""LLM serving kernels: KV-cache sizing, prefill and decode latency, replica throughput.

One row per service (or per replica group); a replica is ``gpus_per_replica`` GPUs in
tensor parallel, so weights, KV cache, HBM bandwidth and FLOP/s are all split ``tp`` ways.
Roofline model (Williams et al., CACM 2009) applied per phase:

* prefill is compute-bound: ``2·active_params`` FLOP per prompt token at
  ``prefill_eff`` of peak, never faster than reading the weights once;
* decode is memory-bound at small batch (every step reads all weights and every running
  sequence's KV cache) and compute-bound at large batch; the step takes the larger of
  the two.

TP all-reduce time and attention FLOPs are not modelled (see ``docs/validation.md`` for
what that costs at small per-GPU work). Units: bytes, seconds, FLOP/s, bytes/s.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from cupy_kernels._arrays import f64

__all__ = [
    "DEFAULT_DECODE_BW_EFF",
    "DEFAULT_PREFILL_EFF",
    "InferenceBatch",
    "decode_step_time",
    "kv_bytes_per_token",
    "max_batch",
    "prefill_time",
    "replica_throughput",
]

DEFAULT_PREFILL_EFF: float = 0.46
"""Fraction of dense peak reached by large-batch prefill/decode GEMMs. Fitted to one row
(Llama-70B FP8, 2,048 in / 128 out, batch 64) of NVIDIA's TensorRT-LLM v0.5 H200 table;
the other two rows are held out (``docs/validation.md``)."""

DEFAULT_DECODE_BW_EFF: float = 0.8
"""Fraction of peak HBM bandwidth a decode step achieves. Estimate; Azure measured 92% of
peak on GB200 with a streaming test (an upper bound for a real decode step)."""


@dataclass(frozen=True)
class InferenceBatch:
    """Inputs of the inference kernels: 1-D arrays of equal length, one row per service.

    ``params`` (stored) and ``active_params`` (used per token; smaller for MoE) are counts;
    ``layers``, ``kv_heads``, ``head_dim`` describe the KV cache;
    ``weight_bytes_per_param`` (2 bf16, 1 fp8, 0.5 fp4) and ``kv_bytes_per_elem`` (2 or 1)
    are bytes; ``gpus_per_replica`` is the TP size; ``peak_flops`` (FLOP/s), ``hbm_bw``
    (bytes/s) and ``hbm_bytes`` (bytes) are per GPU; ``prefill_eff`` and ``decode_bw_eff``
    are fractions; ``mean_prompt``/``mean_output`` are tokens per request; ``batch`` is the
    number of concurrent sequences per replica (>= 1).
    """

    params: Any
    active_params: Any
    layers: Any
    kv_heads: Any
    head_dim: Any
    weight_bytes_per_param: Any
    kv_bytes_per_elem: Any
    gpus_per_replica: Any
    peak_flops: Any
    hbm_bw: Any
    hbm_bytes: Any
    prefill_eff: Any
    decode_bw_eff: Any
    mean_prompt: Any
    mean_output: Any
    batch: Any

    def __post_init__(self) -> None:
        """Reject rows of unequal length early, naming the offending fields."""
        shapes = {f.name: tuple(getattr(getattr(self, f.name), "shape", ())) for f in fields(self)}
        if len(set(shapes.values())) > 1:
            raise ValueError(f"InferenceBatch fields must have equal shapes, got {shapes}")


def kv_bytes_per_token(
    xp: Any, layers: Any, kv_heads: Any, head_dim: Any, kv_bytes_per_elem: Any
) -> Any:
    """KV-cache bytes per token: ``2·layers·kv_heads·head_dim·bytes`` (K and V)."""
    return (
        2.0 * f64(xp, layers) * f64(xp, kv_heads) * f64(xp, head_dim) * f64(xp, kv_bytes_per_elem)
    )


def _weight_bytes(xp: Any, b: InferenceBatch) -> Any:
    """Bytes of weights of one replica (all stored parameters, also for MoE)."""
    return f64(xp, b.params) * f64(xp, b.weight_bytes_per_param)


def _kv_per_token(xp: Any, b: InferenceBatch) -> Any:
    return kv_bytes_per_token(xp, b.layers, b.kv_heads, b.head_dim, b.kv_bytes_per_elem)


def max_batch(xp: Any, b: InferenceBatch, mem_fraction: float = 0.9) -> Any:
    """Sequences of mean length (prompt + output) whose KV cache fits beside the weights.

    ``floor((mem_fraction·tp·hbm_bytes - weights) / ((mean_prompt + mean_output)·kv))``,
    at least 0 (float64). 0 means the weights alone do not fit, or no sequence does;
    ``mem_fraction`` leaves room for activations and the runtime.
    """
    tp = f64(xp, b.gpus_per_replica)
    free = mem_fraction * tp * f64(xp, b.hbm_bytes) - _weight_bytes(xp, b)
    per_seq = (f64(xp, b.mean_prompt) + f64(xp, b.mean_output)) * _kv_per_token(xp, b)
    return xp.floor(xp.maximum(free, 0.0) / per_seq)


def _flops_rate(xp: Any, b: InferenceBatch) -> Any:
    """Achieved FLOP/s of a replica in compute-bound phases: ``tp·peak·prefill_eff``."""
    return f64(xp, b.gpus_per_replica) * f64(xp, b.peak_flops) * f64(xp, b.prefill_eff)


def _bytes_rate(xp: Any, b: InferenceBatch) -> Any:
    """Achieved HBM bytes/s of a replica: ``tp·hbm_bw·decode_bw_eff``."""
    return f64(xp, b.gpus_per_replica) * f64(xp, b.hbm_bw) * f64(xp, b.decode_bw_eff)


def prefill_time(xp: Any, b: InferenceBatch, prompt_tokens: Any) -> Any:
    """Seconds to prefill ``prompt_tokens`` (broadcast against the rows) on one replica.

    ``max(2·active·tokens/(tp·peak·prefill_eff), weights/(tp·hbm_bw·decode_bw_eff))``: the
    GEMMs are compute-bound, but even one token needs the weights read once.
    """
    compute = 2.0 * f64(xp, b.active_params) * f64(xp, prompt_tokens) / _flops_rate(xp, b)
    floor = _weight_bytes(xp, b) / _bytes_rate(xp, b)
    return xp.maximum(compute, floor)


def decode_step_time(xp: Any, b: InferenceBatch) -> Any:
    """Seconds for one decode step of ``batch`` sequences on one replica.

    Bytes read = weights + ``batch·(mean_prompt + mean_output/2)·kv_per_token`` (a sequence
    is on average half-way through its output); the step is
    ``max(bytes/(tp·hbm_bw·decode_bw_eff), 2·active·batch/(tp·peak·prefill_eff))``.
    """
    batch = f64(xp, b.batch)
    ctx = f64(xp, b.mean_prompt) + 0.5 * f64(xp, b.mean_output)
    nbytes = _weight_bytes(xp, b) + batch * ctx * _kv_per_token(xp, b)
    memory = nbytes / _bytes_rate(xp, b)
    compute = 2.0 * f64(xp, b.active_params) * batch / _flops_rate(xp, b)
    return xp.maximum(memory, compute)


def replica_throughput(xp: Any, b: InferenceBatch) -> Any:
    """Output tokens/s of one replica holding ``batch`` sequences in steady state.

    Each step emits ``batch`` tokens; with continuous batching every sequence also needs
    its prompt prefilled once per ``mean_output`` steps, so each step carries on average
    ``batch·mean_prompt/mean_output`` prompt tokens of compute-bound prefill work:
    ``batch / (decode_step + 2·active·batch·mean_prompt/mean_output/(tp·peak·prefill_eff))``.
    This equals the static-batch figure ``batch·out/(prefill + out·decode_step)`` used by
    offline benchmarks.
    """
    batch = f64(xp, b.batch)
    prompt_per_step = batch * f64(xp, b.mean_prompt) / f64(xp, b.mean_output)
    prefill = 2.0 * f64(xp, b.active_params) * prompt_per_step / _flops_rate(xp, b)
    return batch / (decode_step_time(xp, b) + prefill)
