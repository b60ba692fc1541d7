"""LLM serving kernels: KV-cache sizing, prefill and decode latency, replica throughput.

One row per service (or per replica group); a replica is ``gpus_per_replica`` GPUs in
tensor parallel, so weights, KV cache, HBM bandwidth and FLOP/s are all split ``tp`` ways.
Roofline model (Williams et al., CACM 2009) applied per phase:

* prefill is compute-bound: ``2·active_params`` FLOP per prompt token plus causal
  attention ``2·layers·attn_width·P²`` for a prompt of ``P`` tokens, at ``prefill_eff`` of
  the peak at the serving precision, never faster than reading the weights once;
* the attention core (``QKᵀ`` and ``softmax·V``) runs at the peak of the KV-cache
  precision (``attn_peak_flops``: fp8 with an fp8 cache, bf16 with a bf16 one), not at the
  weight precision: FP4 weights do not make attention FP4;
* MoE expert GEMMs see only the tokens routed to each expert (``tokens·k/E`` rows), so they
  run at the row-count efficiency of that smaller GEMM (:func:`expert_gemm_slowdown`);
* a decode step runs its weight GEMMs and its attention one after the other, each at its
  own roofline: the GEMMs take the larger of reading the dense weights and the experts
  the batch touches and their FLOPs; attention the larger of reading every running
  sequence's KV cache and its FLOPs (a GEMM's arithmetic cannot hide the next kernel's
  KV streaming);
* layers with local attention (``local_layers`` of them, each seeing at most the last
  ``attn_window`` tokens: Llama 4's chunked attention) hold, read and attend over at most
  that window, so a long context costs only the global layers in full
  (:func:`_kv_layer_fraction`, :func:`_prefill_pair_fraction`);
* both phases add two tensor-parallel all-reduces of the activations per layer (over
  NVLink, :func:`cupy_kernels.collectives.allreduce_time`), a fixed per-step overhead
  (kernel launches) and a host overhead per running sequence and step (the serving
  runtime's scheduling, sampling and bookkeeping of each request, ``seq_overhead_s``).

The optional inputs (``allreduce_bw`` … ``attn_window``) default to ``None``, which drops
their term; :mod:`emulator.compute` always fills them. Units: bytes, seconds, FLOP/s,
bytes/s.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np

import cupy_kernels.training as training
from cupy_kernels._arrays import f64
from cupy_kernels.collectives import allreduce_time
from cupy_kernels.local_attention import causal_pair_fraction, kv_layer_fraction

__all__ = [
    "ACTIVATION_BYTES",
    "DEFAULT_DECODE_BW_EFF",
    "DEFAULT_KV_FREE_FRACTION",
    "DEFAULT_PREFILL_EFF",
    "HOST_FACTOR",
    "PREFILL_EFF",
    "RUNTIME_HOST_FACTOR",
    "SEQ_STEP_OVERHEAD_S",
    "STEP_OVERHEAD_S",
    "TP_COMM_BW_EFF",
    "InferenceBatch",
    "chunked_prefill_time",
    "decode_compute_fraction",
    "decode_split",
    "decode_step_time",
    "decode_steps_per_request",
    "expert_gemm_slowdown",
    "expert_read_fraction",
    "kv_bytes_per_token",
    "kv_pool_bytes",
    "max_batch",
    "prefill_parts",
    "prefill_time",
    "replica_throughput",
    "replica_weight_bytes",
    "seq_overhead_s",
    "serving_schedulers",
]

PREFILL_EFF: dict[str, float] = {"bf16": 0.720, "fp8": 0.580, "fp4": 0.411}
"""Fraction of the dense peak *at the serving precision* reached by prefill and by
compute-bound decode GEMMs, per precision (as training's ``EFF_MAX``): lower precisions
reach a smaller fraction of their higher peak because attention, norms and sampling do
not speed up with the GEMM precision. Each value is fitted to one row of
``docs/validation.md`` (bf16: TensorRT-LLM Llama-2-70B TTFT on 4 A100; fp8: Llama-3.3-70B
2048/128 on H200; fp4: Llama-3.3-70B 2048/128 on B200); every other row is held out."""

DEFAULT_PREFILL_EFF: float = PREFILL_EFF["fp8"]
"""The fp8 entry of :data:`PREFILL_EFF` (kept for callers that pass one efficiency)."""

DEFAULT_DECODE_BW_EFF: float = 0.676
"""Fraction of peak HBM bandwidth a decode step achieves. Fitted to one row of
``docs/validation.md`` (Llama-3.3-70B FP8 1000/1000 on H200; 0.70 until round 10, whose KV
pool lets that row hold more sequences); Azure measured 92% of peak on GB200 with a
streaming test, an upper bound for a real decode step."""

STEP_OVERHEAD_S: float = 0.00402
"""Fixed time per forward step (prefill batch or decode step) in s: kernel launches and
the step's fixed runtime work, which neither FLOPs nor bytes account for (the work per
running request is :data:`SEQ_STEP_OVERHEAD_S`). Fitted to the TensorRT-LLM Llama-2-7B
128-token TTFT on one H100 (``docs/validation.md``)."""

SEQ_STEP_OVERHEAD_S: float = 35.3e-6
"""Host time per running sequence and decode step in s: the serving runtime's per-request
work in every iteration (scheduling, sampler and stop checks, state updates). It overlaps
the GPU's work on the previous step, so a step is host-bound only when the batch is large
and the model small; a host-bound replica emits at most ``1/SEQ_STEP_OVERHEAD_S`` tokens/s
per scheduler (about 28,300). Fitted to one row of
``docs/validation.md`` (round 2's Qwen3-30B-A3B FP4 500/2000 on one B200, the row with
the largest batch); every other row is held out."""

HOST_FACTOR: dict[str, float] = {"x86": 1.0, "grace": 1.24}
"""How long the serving runtime's per-sequence host work (:data:`SEQ_STEP_OVERHEAD_S`)
takes on a system's host CPU, relative to the x86 hosts of DGX/HGX nodes (DGX H100/H200:
Xeon Platinum 8480C; DGX B200: Xeon Platinum 8570), by ``SystemSpec.host_cpu``. The
runtime's scheduling loop is largely single-threaded Python, so it runs at the speed of
one core; the Grace CPUs (Arm Neoverse V2 cores) of GB200/GB300 NVL72 trays run it
slower: wherever the model is host-bound, published GB200 figures sit 15-40% below B200
ones, while GB200 is faster wherever the GPU binds. Fitted to one row of
``docs/validation.md`` (round 4's Qwen3-30B-A3B FP4 1000/1000 on one GB200, host-bound in
the model); every other row is held out."""

RUNTIME_HOST_FACTOR: dict[str, float] = {"python": 1.0, "cpp": 0.386}
"""Host work per running sequence and step of a serving runtime, relative to
:data:`SEQ_STEP_OVERHEAD_S` (fitted to a runtime whose scheduler loop is Python:
TensorRT-LLM's PyTorch flow), by the service's ``runtime``: ``"python"`` (default) or
``"cpp"``, a compiled C++ scheduler (TensorRT-LLM's executor running TensorRT engines, as
in its releases up to 0.17 and the Triton TensorRT-LLM backend), which does the same
per-request bookkeeping in a fraction of the time. Fitted to one row of
``docs/validation.md`` (round 8's Mixtral 8x7B FP8 128/2048 on 8 H200, the page's
highest-throughput replica); every other row is held out."""

TP_COMM_BW_EFF: float = 0.678
"""Fraction of the all-reduce bus bandwidth (``allreduce_bw``: what nccl-tests measures for
large all-reduces inside the NVLink domain, per GPU generation,
:meth:`topologies.catalog.GpuSpec.allreduce_bw`) that a serving step's tensor-parallel
all-reduces achieve. The Hockney model of :mod:`cupy_kernels.collectives` takes that rate
as the bandwidth term; the runtime's all-reduces of a step's activations (a few MB to a
few tens of MB per call, two per layer) move data at a fraction of it: kernel and
synchronisation time that grows with the message and is not in the per-hop latency, and
the reduction itself. Without the term, the model grew too fast with the tensor-parallel
size on every GPU and model of the same page (TensorRT-LLM v0.17: median error +1% for
70B at TP1, +13% at TP8). Fitted to one row of ``docs/validation.md`` (round 9's
Llama-3.1-70B FP8 128/128 on 8 H200, the round-9 cell whose step the all-reduces took the
largest share of before the term); every other row is held out. Until after round 14 it was a
share of the NVLink link rate (0.708), one share for every generation; the measured bus
bandwidth is 1.04 of the link rate on Hopper (NVLink SHARP), 0.80 on A100 and 0.90 on
Blackwell. Serving only: training's constants were fitted with the link rate."""

DEFAULT_KV_FREE_FRACTION: float = 0.9
"""Share of the memory left free after the weights that the serving runtime gives the KV
cache, when the service does not state its own (``kv_free_fraction``): TensorRT-LLM's
``KvCacheConfig.free_gpu_memory_fraction`` default, 0.9 ("allocate 90% of free GPU memory
for KV cache", https://nvidia.github.io/TensorRT-LLM/examples/kvcacheconfig.html). The
rest is left for activations and the runtime's workspace. Not fitted."""

ACTIVATION_BYTES: float = 2.0
"""Bytes per activation element in the tensor-parallel all-reduces (bf16 at every
serving precision, as TensorRT-LLM and vLLM reduce in 16 bits)."""


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

    Optional (``None`` drops the term): ``allreduce_bw`` (bytes/s per GPU: the bus
    bandwidth a large all-reduce reaches inside the NVLink domain, the catalog's
    :meth:`~topologies.catalog.GpuSpec.allreduce_bw`) and ``tp_alpha`` (s per hop) of the
    tensor-parallel all-reduces, ``hidden`` (model width)
    and ``attn_width`` (``heads·head_dim``) in elements, ``step_overhead_s`` (s per
    forward step), ``expert_params`` (parameters in routed experts), ``experts`` and
    ``active_experts`` (routed experts per layer and per token), ``attn_peak_flops``
    (FLOP/s per GPU of the attention core, at the KV-cache precision; ``None``: the GEMM
    peak ``peak_flops``), ``seq_overhead_s`` (host s per running sequence and decode
    step), ``local_layers`` and ``attn_window`` (how many of the layers attend over at most
    the last ``attn_window`` tokens; ``None`` or a window of 0: every layer is global),
    ``kv_free_fraction`` (the share of the memory left after the weights that holds the KV
    cache; ``None``: :data:`DEFAULT_KV_FREE_FRACTION`), ``decode_attn_width`` (the width
    whose ``4·w`` FLOP per layer and cached token a decode step's attention computes, in
    elements; ``None``: ``attn_width``; wider for latent attention,
    :attr:`workloads.models.ModelSpec.decode_attention_width`), ``replicated_params``
    (parameters every one of the replica's GPUs holds and reads whole instead of a
    ``1/tp`` share: the non-expert weights of a MoE model served with attention data
    parallelism; ``None``: none, every weight split ``tp`` ways).
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
    allreduce_bw: Any = None
    tp_alpha: Any = None
    hidden: Any = None
    attn_width: Any = None
    step_overhead_s: Any = None
    expert_params: Any = None
    experts: Any = None
    active_experts: Any = None
    attn_peak_flops: Any = None
    seq_overhead_s: Any = None
    local_layers: Any = None
    attn_window: Any = None
    kv_free_fraction: Any = None
    decode_attn_width: Any = None
    replicated_params: Any = None

    def __post_init__(self) -> None:
        """Reject rows of unequal length early, naming the offending fields."""
        shapes = {f.name: tuple(getattr(getattr(self, f.name), "shape", ())) for f in fields(self)
                  if getattr(self, f.name) is not None}
        if len(set(shapes.values())) > 1:
            raise ValueError(f"InferenceBatch fields must have equal shapes, got {shapes}")


def serving_schedulers(tp: Any, is_moe: Any) -> Any:
    """Host schedulers sharing a replica's per-sequence work (``seq_overhead_s`` is divided
    by this): ``tp`` for MoE models, 1 for dense ones.

    MoE models are served with attention data parallelism (TensorRT-LLM's MoE benchmark
    options, ``enable_attention_dp``; SGLang's and vLLM's data-parallel attention): each of
    the ``tp`` ranks schedules its own requests. A dense model runs one tensor-parallel
    scheduler over all of them.
    """
    return np.where(np.asarray(is_moe, dtype=bool), np.asarray(tp, dtype=np.float64), 1.0)


def seq_overhead_s(tp: Any, attention_dp: Any, host_cpus: Any, runtimes: Any) -> np.ndarray:
    """Host seconds per running sequence and decode step of each service row (numpy):
    ``SEQ_STEP_OVERHEAD_S·HOST_FACTOR[host_cpu]·RUNTIME_HOST_FACTOR[runtime]`` shared by
    the replica's schedulers (:func:`serving_schedulers`: one per rank with attention data
    parallelism, else one). The emulator and the validation harness both build the
    kernels' ``seq_overhead_s`` here, from the constants as they stand at call time."""
    factor = np.array([HOST_FACTOR[c] * RUNTIME_HOST_FACTOR[r]
                       for c, r in zip(host_cpus, runtimes, strict=True)], dtype=np.float64)
    return SEQ_STEP_OVERHEAD_S * factor / serving_schedulers(tp, attention_dp)


def kv_bytes_per_token(
    xp: Any, layers: Any, kv_heads: Any, head_dim: Any, kv_bytes_per_elem: Any
) -> Any:
    """KV-cache bytes per token: ``2·layers·kv_heads·head_dim·bytes`` (K and V)."""
    return (
        2.0 * f64(xp, layers) * f64(xp, kv_heads) * f64(xp, head_dim) * f64(xp, kv_bytes_per_elem)
    )


def replica_weight_bytes(xp: Any, b: InferenceBatch) -> Any:
    """Bytes of weights of one replica (all stored parameters, also for MoE), with the
    extra copies of the replicated ones (:func:`_replica_copies_bytes`)."""
    return f64(xp, b.params) * f64(xp, b.weight_bytes_per_param) + _replica_copies_bytes(xp, b)


def _replica_copies_bytes(xp: Any, b: InferenceBatch) -> Any:
    """Bytes of the ``tp - 1`` extra copies of ``replicated_params`` a replica stores, and
    reads at every forward step: with attention data parallelism each GPU runs the
    attention (and the dense and shared MLPs) of its own requests with the whole weights,
    so those weights sit, and stream, on every GPU instead of a ``1/tp`` share on each
    (SGLang's and TensorRT-LLM's data-parallel attention). 0 without the input."""
    if b.replicated_params is None:
        return xp.zeros_like(f64(xp, b.params))
    return ((f64(xp, b.gpus_per_replica) - 1.0) * f64(xp, b.replicated_params)
            * f64(xp, b.weight_bytes_per_param))


def _kv_per_token(xp: Any, b: InferenceBatch) -> Any:
    return kv_bytes_per_token(xp, b.layers, b.kv_heads, b.head_dim, b.kv_bytes_per_elem)


def _kv_layer_fraction(xp: Any, b: InferenceBatch, ctx: Any) -> Any:
    """Fraction of the full KV cache a sequence of ``ctx`` tokens holds and a decode step
    reads (:func:`cupy_kernels.local_attention.kv_layer_fraction`); 1 without local
    attention."""
    if b.local_layers is None or b.attn_window is None:
        return xp.ones_like(f64(xp, ctx) * f64(xp, b.layers))
    return kv_layer_fraction(xp, b.layers, b.local_layers, b.attn_window, ctx)


def _prefill_pair_fraction(xp: Any, b: InferenceBatch, prompt: Any) -> Any:
    """Fraction of full causal attention a prompt of ``prompt`` tokens costs
    (:func:`cupy_kernels.local_attention.causal_pair_fraction`); 1 without local
    attention."""
    if b.local_layers is None or b.attn_window is None:
        return xp.ones_like(f64(xp, prompt) * f64(xp, b.layers))
    return causal_pair_fraction(xp, b.layers, b.local_layers, b.attn_window, prompt)


def kv_pool_bytes(xp: Any, b: InferenceBatch, kv_free_fraction: float | None = None) -> Any:
    """Bytes of one replica's KV pool: ``f·(tp·hbm_bytes - weights)`` (float64; negative
    when the weights alone do not fit). The runtime gives the KV cache a share ``f`` of the
    memory the weights leave free (TensorRT-LLM's rule), ``f`` being the argument, else the
    row's ``kv_free_fraction``, else :data:`DEFAULT_KV_FREE_FRACTION`; ``hbm_bytes`` is the
    memory the driver reports."""
    if kv_free_fraction is not None:
        frac: Any = kv_free_fraction
    elif b.kv_free_fraction is not None:
        frac = f64(xp, b.kv_free_fraction)
    else:
        frac = DEFAULT_KV_FREE_FRACTION
    return frac * (f64(xp, b.gpus_per_replica) * f64(xp, b.hbm_bytes) - replica_weight_bytes(xp, b))


def max_batch(xp: Any, b: InferenceBatch, kv_free_fraction: float | None = None) -> Any:
    """Sequences of mean length (prompt + output) whose KV cache fits beside the weights.

    ``floor(max(pool, 0) / ((mean_prompt + mean_output)·kv))`` (float64), ``pool`` the
    replica's KV pool (:func:`kv_pool_bytes`, ``kv_free_fraction`` passed on); ``kv``
    counts only the window of local-attention layers (:func:`_kv_layer_fraction` at the
    full length). 0 means the weights alone do not fit, or no sequence does.
    """
    length = f64(xp, b.mean_prompt) + f64(xp, b.mean_output)
    per_seq = length * _kv_per_token(xp, b) * _kv_layer_fraction(xp, b, length)
    return xp.floor(xp.maximum(kv_pool_bytes(xp, b, kv_free_fraction), 0.0) / per_seq)


def _flops_rate(xp: Any, b: InferenceBatch) -> Any:
    """Achieved FLOP/s of a replica in compute-bound phases: ``tp·peak·prefill_eff``."""
    return f64(xp, b.gpus_per_replica) * f64(xp, b.peak_flops) * f64(xp, b.prefill_eff)


def _attn_rate(xp: Any, b: InferenceBatch) -> Any:
    """Achieved FLOP/s of a replica's attention core: ``tp·attn_peak·prefill_eff``."""
    peak = b.peak_flops if b.attn_peak_flops is None else b.attn_peak_flops
    return f64(xp, b.gpus_per_replica) * f64(xp, peak) * f64(xp, b.prefill_eff)


def _bytes_rate(xp: Any, b: InferenceBatch) -> Any:
    """Achieved HBM bytes/s of a replica: ``tp·hbm_bw·decode_bw_eff``."""
    return f64(xp, b.gpus_per_replica) * f64(xp, b.hbm_bw) * f64(xp, b.decode_bw_eff)


def expert_read_fraction(xp: Any, b: InferenceBatch, tokens: Any) -> Any:
    """Fraction of the routed-expert weights a step of ``tokens`` tokens reads.

    Each token picks ``k = active_experts`` of ``E = experts`` per layer; with uniform
    routing an expert is untouched by all ``B`` tokens with probability ``(1 - k/E)^B``,
    so the step reads ``1 - (1 - k/E)^B`` of the expert bytes. 1 when the row has no
    expert description (dense models read everything).
    """
    if b.experts is None or b.active_experts is None:
        return xp.ones_like(f64(xp, b.params))
    e = xp.maximum(f64(xp, b.experts), 1.0)
    k = xp.clip(f64(xp, b.active_experts), 0.0, e)
    miss = 1.0 - k / e
    return xp.where(e > 1.0, 1.0 - miss ** xp.maximum(f64(xp, tokens), 0.0), 1.0)


def _expert_active_params(xp: Any, b: InferenceBatch) -> Any:
    """Routed-expert parameters one token uses: ``expert_params·k/E`` (0 for dense rows)."""
    zero = xp.zeros_like(f64(xp, b.params))
    if b.expert_params is None or b.experts is None or b.active_experts is None:
        return zero
    e = xp.maximum(f64(xp, b.experts), 1.0)
    k = xp.clip(f64(xp, b.active_experts), 0.0, e)
    return xp.where(e > 1.0, f64(xp, b.expert_params) * k / e, zero)


def expert_gemm_slowdown(xp: Any, b: InferenceBatch, tokens: Any) -> Any:
    """How much slower (>= 1) the expert GEMMs of a ``tokens``-token step run than dense ones.

    A dense GEMM of the step has ``T = tokens`` rows; each routed expert gets on average
    ``T·k/E`` of them (uniform routing). Tensor-core efficiency falls with the row count
    as ``x/(x + x_half)`` (:data:`cupy_kernels.training.MICRO_BATCH_HALF_TOKENS`, the same
    roll-off as training micro-batches), so the expert FLOPs take
    ``f(T)/f(T·k/E)`` times as long as dense FLOPs. 1 for dense models.
    """
    t = xp.maximum(f64(xp, tokens), 1.0)
    if b.experts is None or b.active_experts is None:
        return xp.ones_like(t * f64(xp, b.params))
    e = xp.maximum(f64(xp, b.experts), 1.0)
    k = xp.clip(f64(xp, b.active_experts), 1.0, e)
    half = training.MICRO_BATCH_HALF_TOKENS
    rows = t * k / e
    return (t / (t + half)) / (rows / (rows + half))


def _compute_time(xp: Any, b: InferenceBatch, tokens: Any, attn_flops: Any) -> Any:
    """Seconds of compute for ``tokens`` tokens' weight GEMMs plus ``attn_flops`` of attention.

    Dense weights ``2·(active - expert_active)·T`` FLOP at ``R_f``; routed experts
    ``2·expert_active·T`` FLOP at ``R_f`` divided by :func:`expert_gemm_slowdown`; the
    attention core at the attention rate (KV-cache precision).
    """
    t = f64(xp, tokens)
    ea = _expert_active_params(xp, b)
    dense = 2.0 * (f64(xp, b.active_params) - ea) * t
    expert = 2.0 * ea * t * expert_gemm_slowdown(xp, b, t)
    return (dense + expert) / _flops_rate(xp, b) + f64(xp, attn_flops) / _attn_rate(xp, b)


def _step_weight_bytes(xp: Any, b: InferenceBatch, tokens: Any) -> Any:
    """Weight bytes one forward step of ``tokens`` tokens reads: dense + touched experts,
    plus every GPU's own copy of the replicated weights (:func:`_replica_copies_bytes`)."""
    wb = f64(xp, b.weight_bytes_per_param)
    total = f64(xp, b.params)
    experts = xp.zeros_like(total) if b.expert_params is None else f64(xp, b.expert_params)
    return (((total - experts) + experts * expert_read_fraction(xp, b, tokens)) * wb
            + _replica_copies_bytes(xp, b))


def _tp_comm(xp: Any, b: InferenceBatch, tokens: Any) -> Any:
    """Seconds of tensor-parallel all-reduce for a step of ``tokens`` tokens.

    ``2·layers·allreduce(tokens·hidden·ACTIVATION_BYTES, tp, allreduce_bw·TP_COMM_BW_EFF,
    tp_alpha)``: one after attention and one after the MLP in every layer (Megatron-style
    TP), at the rate the all-reduces achieve (:data:`TP_COMM_BW_EFF`); 0 when the optional
    inputs are missing or ``tp = 1``.
    """
    if b.allreduce_bw is None or b.tp_alpha is None or b.hidden is None:
        return xp.zeros_like(f64(xp, b.params) * f64(xp, tokens))
    nbytes = f64(xp, tokens) * f64(xp, b.hidden) * ACTIVATION_BYTES
    bw = f64(xp, b.allreduce_bw) * TP_COMM_BW_EFF  # the rate the all-reduces achieve
    per = allreduce_time(xp, nbytes, f64(xp, b.gpus_per_replica), bw, b.tp_alpha)
    return 2.0 * f64(xp, b.layers) * per


def _overhead(xp: Any, b: InferenceBatch) -> Any:
    """Fixed seconds per forward step (0 when ``step_overhead_s`` is not given)."""
    return 0.0 if b.step_overhead_s is None else f64(xp, b.step_overhead_s)


def _host_time(xp: Any, b: InferenceBatch) -> Any:
    """Host seconds per decode step for ``batch`` sequences (0 without ``seq_overhead_s``)."""
    return 0.0 if b.seq_overhead_s is None else f64(xp, b.seq_overhead_s) * f64(xp, b.batch)


def _attn_width(xp: Any, b: InferenceBatch) -> Any:
    """``heads·head_dim`` of the queries (0 when not given: attention FLOPs dropped)."""
    return 0.0 if b.attn_width is None else f64(xp, b.attn_width)


def _decode_attn_width(xp: Any, b: InferenceBatch) -> Any:
    """Width of a decode step's attention core (``decode_attn_width``, else ``attn_width``)."""
    return _attn_width(xp, b) if b.decode_attn_width is None else f64(xp, b.decode_attn_width)


def prefill_time(xp: Any, b: InferenceBatch, prompt_tokens: Any, sequences: Any = 1.0) -> Any:
    """Seconds to prefill ``prompt_tokens`` (broadcast against the rows) in one forward pass.

    ``prompt_tokens`` is the total over ``sequences`` prompts of equal length batched
    together (a per-window prefill batch). Compute ``2·active·T`` FLOP of weight GEMMs and
    ``2·layers·attn_width·T²/n`` of causal attention within each of the ``n`` prompts
    (:func:`_compute_time`); never faster than reading the weights once; plus the TP
    all-reduces of ``T`` tokens and one step overhead.
    """
    t = f64(xp, prompt_tokens)
    n = xp.maximum(f64(xp, sequences), 1.0)
    attn = (2.0 * f64(xp, b.layers) * _attn_width(xp, b) * t * t / n
            * _prefill_pair_fraction(xp, b, t / n))
    compute = _compute_time(xp, b, t, attn)
    floor = _step_weight_bytes(xp, b, t) / _bytes_rate(xp, b)
    return xp.maximum(compute, floor) + _tp_comm(xp, b, t) + _overhead(xp, b)


def prefill_parts(xp: Any, b: InferenceBatch, prompt_tokens: Any) -> tuple[Any, Any]:
    """Split one prompt's prefill into (work, fixed) seconds for batched serving.

    ``work`` = its own compute (weight GEMMs and ``2·layers·attn_width·P²`` of attention,
    :func:`_compute_time`) plus its TP all-reduces: what it adds to a replica's prefill
    batch. ``fixed`` = step overhead
    + ``max(weight read - compute, 0)``: what its first token waits for on top, but which
    a batch of prompts pays once, not per prompt. ``work + fixed`` equals
    :func:`prefill_time` of the prompt alone.
    """
    t = f64(xp, prompt_tokens)
    attn = 2.0 * f64(xp, b.layers) * _attn_width(xp, b) * t * t * _prefill_pair_fraction(xp, b, t)
    compute = _compute_time(xp, b, t, attn)
    floor = _step_weight_bytes(xp, b, t) / _bytes_rate(xp, b)
    work = compute + _tp_comm(xp, b, t)
    return work, xp.maximum(floor - compute, 0.0) + _overhead(xp, b)


def _decode_parts(xp: Any, b: InferenceBatch) -> tuple[Any, Any, Any, Any]:
    """Seconds of one decode step of ``batch`` sequences, per phase and bound.

    (weight bytes, weight-GEMM compute, KV bytes, attention compute), each in seconds at
    the replica's achieved rates.
    """
    batch = f64(xp, b.batch)
    ctx = f64(xp, b.mean_prompt) + 0.5 * f64(xp, b.mean_output)
    seen = ctx * _kv_layer_fraction(xp, b, ctx)  # tokens read per layer, on average
    weights = _step_weight_bytes(xp, b, batch) / _bytes_rate(xp, b)
    kv = batch * seen * _kv_per_token(xp, b) / _bytes_rate(xp, b)
    attn = batch * 4.0 * f64(xp, b.layers) * _decode_attn_width(xp, b) * seen
    gemm = _compute_time(xp, b, batch, 0.0)
    attn_s = _compute_time(xp, b, 0.0, attn)
    return weights, gemm, kv, attn_s


def _decode_gpu_time(xp: Any, b: InferenceBatch,
                     parts: tuple[Any, Any, Any, Any] | None = None) -> Any:
    """GPU seconds of one decode step (both phases, TP all-reduces, step overhead);
    ``parts`` are :func:`_decode_parts` when the caller already has them."""
    weights, gemm, kv, attn = _decode_parts(xp, b) if parts is None else parts
    return (xp.maximum(weights, gemm) + xp.maximum(kv, attn) + _tp_comm(xp, b, b.batch)
            + _overhead(xp, b))


def decode_step_time(xp: Any, b: InferenceBatch) -> Any:
    """Seconds for one decode step of ``batch`` sequences on one replica.

    Two phases run one after the other, each at its own roofline:

    * weight GEMMs: ``max(weight bytes/R_b, GEMM compute)``, the bytes being the dense
      weights and the experts the batch touches (:func:`expert_read_fraction`), the
      compute ``batch·2·active`` FLOP (:func:`_compute_time`);
    * attention: ``max(KV bytes/R_b, attention compute)``, the bytes
      ``batch·(mean_prompt + mean_output/2)·kv_per_token`` (a sequence is on average
      half-way through its output; local-attention layers read at most their window,
      :func:`_kv_layer_fraction`), the compute ``batch·4·layers·attn_width·ctx`` FLOP at
      the attention rate (over the same tokens); ``attn_width`` is the decode width
      ``decode_attn_width`` where given (latent attention computes more per cached token
      than its small cache suggests).

    Plus the TP all-reduces of ``batch`` tokens and one step overhead. The runtime
    prepares the next step on the host while the GPU runs this one (an overlapping
    scheduler), so the step is ``max(GPU time, batch·seq_overhead_s)``: host-bound only
    when the batch is large and the model small.
    """
    return xp.maximum(_decode_gpu_time(xp, b), _host_time(xp, b))


def decode_split(xp: Any, b: InferenceBatch) -> tuple[Any, Any, Any]:
    """(GPU s, host s, compute s) of one decode step of ``batch`` sequences.

    The step is ``max(GPU, host)``; ``compute`` (the GEMM and attention FLOPs' time, at most
    the GPU time) is when the tensor cores are busy, the rest of the GPU time is
    memory-bound streaming and communication, and ``step - GPU`` the GPU waits for the host.
    """
    parts = _decode_parts(xp, b)
    _, gemm, _, attn = parts
    return (_decode_gpu_time(xp, b, parts), xp.zeros_like(gemm) + _host_time(xp, b),
            gemm + attn)


def decode_compute_fraction(xp: Any, b: InferenceBatch) -> Any:
    """Fraction (0..1) of a decode step spent compute-bound: ``compute / step``.

    The GPU's tensor cores are busy for the GEMM and attention FLOPs' time; the rest is
    memory-bound streaming, communication and host time, which draws far less power (the
    power model weights the two separately).
    """
    parts = _decode_parts(xp, b)
    _, gemm, _, attn = parts
    step = xp.maximum(_decode_gpu_time(xp, b, parts), _host_time(xp, b))
    return xp.clip((gemm + attn) / step, 0.0, 1.0)


MIN_DECODE_STEPS = 1e-6
"""Decode steps per request, at least (a request of one output token has none: its
prefill emits it; the floor keeps the steady state finite, where it tends to the
prefill-only rate)."""


def decode_steps_per_request(xp: Any, b: InferenceBatch) -> Any:
    """Decode steps of a request of ``mean_output`` tokens: ``mean_output - 1`` (the
    prefill's forward pass emits the first token, each decode step one more), at least
    :data:`MIN_DECODE_STEPS`."""
    return xp.maximum(f64(xp, b.mean_output) - 1.0, MIN_DECODE_STEPS)


def replica_throughput(xp: Any, b: InferenceBatch) -> Any:
    """Output tokens/s of one replica holding ``batch`` sequences in steady state.

    A request emits its first token with its prefill and one per decode step after, so it
    decodes for ``d = mean_output - 1`` steps (:func:`decode_steps_per_request`). Each step
    emits ``batch`` decode tokens, and with continuous batching ``batch/d`` sequences
    finish and as many prompts are prefilled per step, each emitting its first token: so
    ``batch·mean_output/d`` tokens per step, and each step carries on average
    ``p = batch·mean_prompt/d`` prompt tokens of compute-bound prefill work,
    chunked into the decode steps (no extra step overhead): the compute of ``p`` tokens'
    weight GEMMs and ``2·layers·attn_width·mean_prompt·p`` attention FLOP
    (:func:`_compute_time`) plus the TP all-reduce of ``p`` tokens.
    Throughput = ``(batch·mean_output/d) / max(decode GPU time + prefill share, host time)``.
    """
    tokens = f64(xp, b.batch) * f64(xp, b.mean_output) / decode_steps_per_request(xp, b)
    return tokens / xp.maximum(_decode_gpu_time(xp, b) + chunked_prefill_time(xp, b),
                               _host_time(xp, b))


def chunked_prefill_time(xp: Any, b: InferenceBatch) -> Any:
    """Prefill seconds each decode step carries in steady state (see
    :func:`replica_throughput`): ``p = batch·mean_prompt/(mean_output - 1)`` prompt tokens'
    GEMM and attention compute plus their TP all-reduce."""
    prompt = f64(xp, b.mean_prompt)
    p = f64(xp, b.batch) * prompt / decode_steps_per_request(xp, b)
    attn = (2.0 * f64(xp, b.layers) * _attn_width(xp, b) * prompt * p
            * _prefill_pair_fraction(xp, b, prompt))
    return _compute_time(xp, b, p, attn) + _tp_comm(xp, b, p)
