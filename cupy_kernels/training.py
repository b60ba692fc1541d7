"""Training step time of data/tensor/pipeline/context/expert-parallel LLM jobs, vectorised.

One row per running job. The model (all times in seconds, per optimizer step):

* **compute** ``F·tokens_per_step / (n_gpus·peak·eff)`` with ``F`` FLOP per token:
  ``6·active_params`` (forward 2, backward 4 per parameter) plus causal attention
  ``6·layers·attn_width·seq_len``, times the recomputation factor (full: the forward runs
  twice, ``+(2·active + 2·layers·attn_width·seq)``; selective: only the attention core
  again, ``+2·layers·attn_width·seq``). Layers with local attention (``local_layers``,
  window ``attn_window``) cost only the pairs inside their window
  (:func:`cupy_kernels.local_attention.causal_pair_fraction` scales the attention term).
  Weight GEMMs run at the job precision's peak and efficiency; the attention core (``QKᵀ``,
  ``softmax·V``) at ``attn_peak_flops`` and the efficiency of ``attn_precision_code``
  (bf16: Transformer Engine keeps the attention core in 16 bits under fp8 and fp4 recipes
  unless fp8 attention is switched on, so it runs as fast as in a bf16 job). Routed-expert
  GEMMs see ``micro_tokens·k·ep/E`` rows per local expert, and run at the row-count
  efficiency of that GEMM relative to the dense one (:func:`expert_gemm_factor`).
* **memory-bound element-wise work** (norms, residual adds, activation functions, rotary,
  casts, MoE permutation): per token and layer the step writes the activations that
  Korthikanti et al. count (arXiv:2205.05198, sec. 4.1: ``34·h`` bytes for a GPT layer with
  a ``4h`` MLP, without the attention scores that flash attention never stores),
  generalised to ``18·h + 6·f`` bytes for a SwiGLU MLP of width ``f`` and, in MoE layers,
  ``f = k·f_expert`` plus ``4·k·h`` bytes for the dispatch and combine copies. Each byte is
  written in the forward pass, read in the backward pass and its gradient written:
  ``ELEMENTWISE_PASSES`` passes (one more with full recomputation), split over ``tp·cp``
  (sequence/context parallel) and streamed at ``hbm_bw·stream_eff``. Part of ``compute``.
* **tensor parallel** (Megatron-LM, Shoeybi et al. 2019): per layer and micro-batch, two
  all-reduces in the forward and two in the backward pass of the activations
  (two more with full recomputation), ``micro_tokens·hidden·2`` bytes, over NVLink.
  Counted as exposed.
* **pipeline parallel**: the 1F1B bubble ``(pp-1)/(v·m)`` of the busy time, with ``m``
  micro-batches per data-parallel rank and ``v`` interleaved (virtual) stages (Narayanan
  et al., SC'21), plus the stage-to-stage sends on the slow tier, ``2·m·v`` of them, all
  exposed (interleaving multiplies the sends by ``v``: ibid., sec. 2.2.2). Where ``v`` is
  not given, the default (:func:`default_virtual_stages`) is used only where it beats no
  interleaving: with few stages and many micro-batches the bubble it saves is smaller
  than the sends it adds.
* **expert parallel** (MoE): per MoE layer and micro-batch, four all-to-alls (dispatch and
  combine, forward and backward) of ``micro_tokens·active_experts·hidden·2·(ep-1)/ep``
  bytes per GPU over the EP group (``ep_bw``), exposed, plus a host-bound time per MoE
  layer and micro-batch of ``MOE_EXPERT_HOST_S`` per local expert (``E/ep`` experts on a
  GPU; forward and backward together): the token dispatcher copies the routing counts to
  the host to size its buffers, which drains the GPU's queue, and the experts' GEMMs are
  then launched one local expert after another, so the GPU waits for the host.
* **data parallel**: all-reduce (ring or tree) of the dense gradients over ``dp`` ranks
  and of the expert gradients over their own ``dp/ep`` ranks, on the slow tier; ``1 -
  dp_overlap`` of it is exposed.

``step = compute + tp + pp + ep + (1 - dp_overlap)·dp``; ``util = compute/step`` feeds the
power model. A micro-batch is ``micro_batch`` sequences split over ``cp`` context-parallel
ranks, so a GPU's GEMMs see ``micro_tokens = micro_batch·seq_len/cp`` rows and
``m = tokens_per_step/(dp·micro_batch·seq_len)`` (at least 1). Context-parallel
communication (ring attention) is assumed hidden under attention compute.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from cupy_kernels._arrays import f64
from cupy_kernels.collectives import allreduce_time, p2p_time
from cupy_kernels.local_attention import causal_pair_fraction

__all__ = [
    "ACTIVATION_BYTES",
    "EFF_MAX",
    "ELEMENTWISE_PASSES",
    "MICRO_BATCH_HALF_TOKENS",
    "MOE_EXPERT_HOST_S",
    "PRECISION_CODES",
    "RECOMPUTE_CODES",
    "TrainingBatch",
    "TrainingTimes",
    "default_efficiency",
    "default_virtual_stages",
    "elementwise_bytes_per_token",
    "expert_gemm_factor",
    "training_step_time",
]

PRECISION_CODES: dict[str, int] = {"bf16": 0, "fp8": 1, "fp4": 2}
"""Integer code of each training precision, as stored in ``TrainingBatch.precision_code``."""

RECOMPUTE_CODES: dict[str, int] = {"none": 0, "selective": 1, "full": 2}
"""Integer code of each activation-recomputation mode (``TrainingBatch.recompute_code``)."""

EFF_MAX: tuple[float, float, float] = (0.648, 0.5218, 0.2554)
"""Asymptotic model-FLOP efficiency (fraction of the dense peak at that precision) of the
GEMM-bound part of a step, for bf16, fp8, fp4 (index = precision code). Fitted, one value
per precision, to the anchors in ``docs/validation.md``: bf16 to Llama 3 405B on 16,384 H100
(the 8,192-GPU run of the same paper is held out), fp8 to NeMo Llama3-70B on 64 H100, fp4 to
Megatron-Bridge Llama3-70B NVFP4 on 64 GB200. Lower precisions reach a smaller fraction of
their (higher) peak because attention, norms and optimizer work do not speed up with them."""

MICRO_BATCH_HALF_TOKENS: float = 318.0
"""Micro-batch size (tokens per GPU GEMM row dimension) at which efficiency is half of
``EFF_MAX``: below a few hundred rows tensor-core GEMMs are launch/latency bound. A
saturating ``x/(x + x_half)`` shape; at 8,192 tokens the factor is 0.963. Fitted to one
row of ``docs/validation.md`` (Megatron GPT 145.6B on 1,536 A100); serving's expert-GEMM
roll-off (``inference.expert_gemm_slowdown``) uses it too."""

MOE_EXPERT_HOST_S: float = 0.4438e-3
"""Exposed host time per local expert, MoE layer and micro-batch in s, forward and
backward together: after the token dispatcher's host synchronisation (the routing counts
are copied to the host to split the tokens among the local experts and, with ``ep > 1``, to
size the all-to-all buffers) the GPU's queue is empty, and each local expert's GEMMs (with
their casts and scaling kernels) are launched from the host one expert after another. It
does not shrink with the layer's work, so it dominates small MoE layers with many experts
per GPU. Fitted to one row of ``docs/validation.md`` (round 2's Qwen3-30B-A3B on 8 B200,
micro-batch 1: the least work per expert launch); every other row is held out. The rows
it was fitted and tested on have 4 to 32 experts per GPU and ``ep >= 8``; ``ep = 1`` (all
``E`` experts on every GPU) is an extrapolation, and a full-recomputation forward is not
charged again (not measured)."""

ACTIVATION_BYTES: float = 2.0
"""Bytes per activation element sent by TP all-reduces and PP sends (bf16, also under fp8
training, where Megatron/Transformer Engine communicate bf16 activations)."""


ELEMENTWISE_PASSES: float = 3.0
"""HBM passes over each stored activation byte per step: written in the forward pass, read
in the backward pass, its gradient written (counted, not fitted)."""

STREAM_EFF: float = 0.70
"""Fraction of peak HBM bandwidth the element-wise passes (:data:`ELEMENTWISE_PASSES`)
stream at: 0.70, the decode streaming efficiency the training constants were fitted
with (``inference.DEFAULT_DECODE_BW_EFF`` before round 10). Kept apart since round 10,
where the decode constant was refitted to a larger KV-bound batch and so absorbs decode
effects that element-wise passes do not have. Not refitted."""


@dataclass(frozen=True)
class TrainingBatch:
    """Inputs of :func:`training_step_time`: 1-D arrays of equal length, one row per job.

    Units: parameters and tokens are counts; ``peak_flops`` FLOP/s per GPU (dense, at the
    job's precision); ``nvlink_bw`` and ``dp_bw`` bytes/s per GPU per direction;
    ``dp_alpha`` and ``tp_alpha`` seconds per hop; ``grad_bytes`` bytes per gradient
    element; ``dp_overlap`` a fraction in [0, 1]; ``mfu`` NaN to use
    :func:`default_efficiency`, otherwise the model-FLOP efficiency to impose.
    ``virtual_stages`` (optional) is the interleaved-pipeline factor ``v``; ``None`` (or
    NaN in a row) chooses it: :func:`default_virtual_stages` where that makes the step
    shorter than no interleaving, else 1.

    Further optional columns (``None``: the default in brackets): ``cp`` context-parallel
    size [1]; ``ep`` expert-parallel size [1]; ``micro_batch`` sequences per micro-batch
    [1]; ``recompute_code`` (:data:`RECOMPUTE_CODES`) [0]; ``attn_width`` = heads·head_dim
    [0: attention FLOPs dropped]; ``expert_params`` parameters in routed experts [0];
    ``active_experts`` experts per token [1]; ``moe_layers`` [0]; ``ep_bw`` bytes/s and
    ``ep_alpha`` s of the EP all-to-all [``dp_bw``, ``dp_alpha``]; ``attn_peak_flops``
    FLOP/s per GPU of the attention core [``peak_flops``]; ``attn_precision_code`` the
    precision code whose efficiency the attention core runs at [``precision_code``];
    ``experts`` routed experts per
    MoE layer [1: no expert roll-off]; ``ffn_hidden`` MLP width (per expert for MoE),
    ``hbm_bw`` bytes/s per GPU and ``stream_eff`` the achieved fraction of it [any of the
    three ``None``: element-wise term dropped]; ``local_layers`` and ``attn_window``
    layers attending over at most the last ``attn_window`` tokens [either ``None``: all
    layers global; see :mod:`cupy_kernels.local_attention`]. ``n_gpus`` is
    ``tp·pp·dp·cp``.
    """

    params: Any
    active_params: Any
    layers: Any
    hidden: Any
    tokens_per_step: Any
    seq_len: Any
    n_gpus: Any
    tp: Any
    pp: Any
    dp: Any
    peak_flops: Any
    mfu: Any
    precision_code: Any
    nvlink_bw: Any
    dp_bw: Any
    dp_alpha: Any
    tp_alpha: Any
    grad_bytes: Any
    dp_overlap: Any
    virtual_stages: Any = None
    cp: Any = None
    ep: Any = None
    micro_batch: Any = None
    recompute_code: Any = None
    attn_width: Any = None
    expert_params: Any = None
    active_experts: Any = None
    moe_layers: Any = None
    ep_bw: Any = None
    ep_alpha: Any = None
    attn_peak_flops: Any = None
    attn_precision_code: Any = None
    experts: Any = None
    ffn_hidden: Any = None
    hbm_bw: Any = None
    stream_eff: Any = None
    local_layers: Any = None
    attn_window: Any = None

    def __post_init__(self) -> None:
        """Reject rows of unequal length early, naming the offending fields."""
        shapes = {
            f.name: tuple(getattr(getattr(self, f.name), "shape", ()))
            for f in fields(self)
            if getattr(self, f.name) is not None
        }
        if len(set(shapes.values())) > 1:
            raise ValueError(f"TrainingBatch fields must have equal shapes, got {shapes}")


@dataclass(frozen=True)
class TrainingTimes:
    """Outputs of :func:`training_step_time`, one row per job.

    Times in seconds per optimizer step: ``compute_s``; ``tp_comm_s``; ``pp_comm_s``
    (bubble + stage-to-stage sends); ``ep_comm_s`` (MoE all-to-alls and the MoE layers'
    host time, :data:`MOE_EXPERT_HOST_S`; exposed, not compute); ``dp_comm_s`` (the
    whole all-reduce, before overlap); ``exposed_comm_s`` (what adds to the step);
    ``step_s``. ``util`` = compute/step in [0, 1]; ``achieved_flops_per_gpu`` = model
    FLOP (6·active + causal attention, no recomputation) per GPU per second;
    ``tokens_per_gpu_s`` = tokens_per_step/(n_gpus·step).
    """

    step_s: Any
    compute_s: Any
    tp_comm_s: Any
    pp_comm_s: Any
    dp_comm_s: Any
    exposed_comm_s: Any
    util: Any
    achieved_flops_per_gpu: Any
    ep_comm_s: Any = None
    tokens_per_gpu_s: Any = None


def default_efficiency(xp: Any, precision_code: Any, micro_batch_tokens: Any) -> Any:
    """Model-FLOP efficiency (fraction of dense peak) for a precision and micro-batch size.

    ``EFF_MAX[precision] · t/(t + MICRO_BATCH_HALF_TOKENS)`` with ``t`` the tokens in one
    micro-batch. Codes outside 0..2 are clipped to the nearest valid code.
    """
    table = f64(xp, EFF_MAX)
    code = xp.clip(xp.asarray(precision_code).astype(xp.int64), 0, len(EFF_MAX) - 1)
    t = f64(xp, micro_batch_tokens)
    return table[code] * t / (t + MICRO_BATCH_HALF_TOKENS)


def _rows_factor(xp: Any, rows: Any) -> Any:
    """GEMM row-count efficiency ``x/(x + MICRO_BATCH_HALF_TOKENS)`` (``x`` at least 1)."""
    x = xp.maximum(f64(xp, rows), 1.0)
    return x / (x + MICRO_BATCH_HALF_TOKENS)


def expert_gemm_factor(xp: Any, micro_tokens: Any, active_experts: Any, experts: Any,
                       ep: Any) -> Any:
    """Time factor of routed-expert GEMMs relative to dense GEMMs of the same FLOPs.

    A dense GEMM has ``T = micro_tokens`` rows; a GPU's local expert receives
    ``T·k·ep/E`` rows (uniform routing, the tokens of all ``ep`` ranks). The factor is
    ``f(T)/f(T·k·ep/E)`` with the row-count roll-off ``f`` of :func:`default_efficiency`:
    above 1 when experts see fewer rows than dense GEMMs, below 1 when they see more.
    """
    e = xp.maximum(f64(xp, experts), 1.0)
    rows = f64(xp, micro_tokens) * f64(xp, active_experts) * f64(xp, ep) / e
    return xp.where(e > 1.0, _rows_factor(xp, micro_tokens) / _rows_factor(xp, rows), 1.0)


def elementwise_bytes_per_token(xp: Any, hidden: Any, ffn_hidden: Any, layers: Any,
                                moe_layers: Any, active_experts: Any) -> Any:
    """Activation bytes one token writes per layer, averaged over the layers (bytes).

    Dense layer ``18·h + 6·f``; MoE layer ``18·h + 6·k·f + 4·k·h`` (see the module
    docstring; Korthikanti et al., arXiv:2205.05198).
    """
    h, f, k = f64(xp, hidden), f64(xp, ffn_hidden), f64(xp, active_experts)
    lay = xp.maximum(f64(xp, layers), 1.0)
    moe = xp.clip(f64(xp, moe_layers), 0.0, lay)
    dense_b = 18.0 * h + 6.0 * f
    moe_b = 18.0 * h + 6.0 * k * f + 4.0 * k * h
    return ((lay - moe) * dense_b + moe * moe_b) / lay


def default_virtual_stages(xp: Any, layers: Any, pp: Any) -> Any:
    """Interleaved-pipeline factor ``v``: two layers per virtual stage, at least 1.

    Matches NeMo's performance recipes (Llama3-70B, 80 layers, PP 8 → VP 5); 1 when
    ``pp == 1``.
    """
    lay, p = f64(xp, layers), f64(xp, pp)
    v = xp.floor(lay / (2.0 * xp.maximum(p, 1.0)))
    return xp.where(p > 1.0, xp.maximum(v, 1.0), 1.0)


def _opt(xp: Any, value: Any, like: Any, default: float) -> Any:
    """``value`` as float64, or ``default`` broadcast like ``like`` when it is ``None``."""
    return xp.full_like(like, default) if value is None else f64(xp, value)


def training_step_time(xp: Any, batch: TrainingBatch) -> TrainingTimes:
    """Per-step time breakdown of every job in ``batch`` (see the module docstring)."""
    b = batch
    tokens, seq = f64(xp, b.tokens_per_step), f64(xp, b.seq_len)
    tp, pp, dp = f64(xp, b.tp), f64(xp, b.pp), f64(xp, b.dp)
    hidden, layers = f64(xp, b.hidden), f64(xp, b.layers)
    active = f64(xp, b.active_params)
    cp = xp.maximum(_opt(xp, b.cp, tokens, 1.0), 1.0)
    ep = xp.maximum(_opt(xp, b.ep, tokens, 1.0), 1.0)
    mbs = xp.maximum(_opt(xp, b.micro_batch, tokens, 1.0), 1.0)
    recompute = _opt(xp, b.recompute_code, tokens, 0.0)
    width = _opt(xp, b.attn_width, tokens, 0.0)
    n_gpus = f64(xp, b.n_gpus)

    micro = xp.maximum(tokens / (dp * mbs * seq), 1.0)  # micro-batches per DP rank
    mb_tokens = tokens / (dp * micro * cp)  # GEMM rows of one GPU per micro-batch
    mfu = f64(xp, b.mfu)
    eff = xp.where(xp.isnan(mfu), default_efficiency(xp, b.precision_code, mb_tokens), mfu)
    attn_code = b.precision_code if b.attn_precision_code is None else b.attn_precision_code
    attn_eff = xp.where(xp.isnan(mfu), default_efficiency(xp, attn_code, mb_tokens), mfu)
    attn = 2.0 * layers * width * seq  # causal attention FLOP per token, forward
    if b.local_layers is not None and b.attn_window is not None:
        attn = attn * causal_pair_fraction(xp, layers, b.local_layers, b.attn_window, seq)
    model_flops = (6.0 * active + 3.0 * attn) * tokens
    full, sel = recompute >= 2.0, (recompute >= 1.0) & (recompute < 2.0)
    k = _opt(xp, b.active_experts, tokens, 1.0)
    moe_layers = _opt(xp, b.moe_layers, tokens, 0.0)
    experts = _opt(xp, b.expert_params, tokens, 0.0)
    n_experts = _opt(xp, b.experts, tokens, 1.0)
    expert_active = xp.where(n_experts > 1.0, experts * k / xp.maximum(n_experts, 1.0), 0.0)
    weight_flops = (active - expert_active
                    + expert_active * expert_gemm_factor(xp, mb_tokens, k, n_experts, ep))
    weight_mult = xp.where(full, 8.0, 6.0)  # forward 2 (+2 recomputed), backward 4
    attn_mult = 3.0 + xp.where(full | sel, 1.0, 0.0)
    attn_peak = b.peak_flops if b.attn_peak_flops is None else b.attn_peak_flops
    compute_s = (weight_mult * weight_flops * tokens / (n_gpus * f64(xp, b.peak_flops) * eff)
                 + attn_mult * attn * tokens / (n_gpus * f64(xp, attn_peak) * attn_eff))
    if b.ffn_hidden is not None and b.hbm_bw is not None and b.stream_eff is not None:
        per_token = elementwise_bytes_per_token(xp, hidden, b.ffn_hidden, layers, moe_layers, k)
        passes = ELEMENTWISE_PASSES + xp.where(full, 1.0, 0.0)
        nbytes = passes * per_token * layers * tokens / n_gpus
        compute_s = compute_s + nbytes / (f64(xp, b.hbm_bw) * f64(xp, b.stream_eff))

    act_bytes = mb_tokens * hidden * ACTIVATION_BYTES
    per_ar = allreduce_time(xp, act_bytes, tp, b.nvlink_bw, b.tp_alpha)
    n_ar = xp.where(recompute >= 2.0, 6.0, 4.0)
    tp_comm_s = n_ar * (layers / pp) * micro * per_ar

    ep_bw = f64(xp, b.dp_bw) if b.ep_bw is None else f64(xp, b.ep_bw)
    ep_alpha = f64(xp, b.dp_alpha) if b.ep_alpha is None else f64(xp, b.ep_alpha)
    a2a_bytes = mb_tokens * k * hidden * ACTIVATION_BYTES * (ep - 1.0) / ep
    a2a = xp.where(ep > 1.0, ep_alpha * xp.log2(ep) + a2a_bytes / ep_bw, 0.0)
    latency = xp.where(n_experts > 1.0, MOE_EXPERT_HOST_S * n_experts / ep, 0.0)
    ep_comm_s = (moe_layers / pp) * micro * (4.0 * a2a + latency)

    busy_s = compute_s + tp_comm_s + ep_comm_s
    send_s = p2p_time(xp, act_bytes / tp, b.dp_bw, b.dp_alpha)

    def pipeline_s(v: Any) -> Any:
        """Bubble plus exposed stage-to-stage sends at ``v`` virtual stages (s)."""
        bubble_s = (pp - 1.0) / (v * micro) * busy_s
        return xp.where(pp > 1.0, bubble_s + 2.0 * micro * v * send_s, 0.0)

    v_default = default_virtual_stages(xp, layers, pp)
    asked = (xp.full_like(tokens, xp.nan) if b.virtual_stages is None
             else f64(xp, b.virtual_stages))
    auto = xp.isnan(asked)
    pp_comm_s = xp.where(auto, xp.minimum(pipeline_s(v_default), pipeline_s(1.0)),
                         pipeline_s(xp.where(auto, 1.0, asked)))

    g = f64(xp, b.grad_bytes)
    dense_grad = g * (f64(xp, b.params) - experts) / (tp * pp)
    expert_grad = g * experts / (tp * pp * ep)
    dp_comm_s = (allreduce_time(xp, dense_grad, dp * cp, b.dp_bw, b.dp_alpha)
                 + xp.where(experts > 0.0, allreduce_time(
                     xp, expert_grad, xp.maximum(dp * cp / ep, 1.0), b.dp_bw, b.dp_alpha), 0.0))
    hidden_frac = xp.clip(f64(xp, b.dp_overlap), 0.0, 1.0)
    exposed = tp_comm_s + pp_comm_s + ep_comm_s + (1.0 - hidden_frac) * dp_comm_s

    step_s = compute_s + exposed
    return TrainingTimes(
        step_s=step_s,
        compute_s=compute_s,
        tp_comm_s=tp_comm_s,
        pp_comm_s=pp_comm_s,
        dp_comm_s=dp_comm_s,
        exposed_comm_s=exposed,
        util=compute_s / step_s,
        achieved_flops_per_gpu=model_flops / (n_gpus * step_s),
        ep_comm_s=ep_comm_s,
        tokens_per_gpu_s=tokens / (n_gpus * step_s),
    )
