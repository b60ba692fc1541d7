"""Training step time of data/tensor/pipeline-parallel LLM jobs, vectorised over jobs.

One row per running job. The model (all times in seconds, per optimizer step):

* **compute** ``6·active_params·tokens_per_step / (n_gpus·peak·eff)`` — the 6·N·D rule
  (forward 2, backward 4 FLOP per parameter per token; attention FLOPs are not counted and
  are absorbed by the calibrated efficiency, see ``docs/validation.md``).
* **tensor parallel** (Megatron-LM, Shoeybi et al. 2019): per layer and micro-batch, two
  all-reduces in the forward and two in the backward pass of the activations,
  ``tokens_per_micro·hidden·2`` bytes (bf16), over the ``tp`` ranks on NVLink. Counted
  as exposed (not overlapped with compute).
* **pipeline parallel**: the 1F1B pipeline bubble ``(pp-1)/(v·m)`` of the busy time, with
  ``m`` micro-batches per data-parallel rank and ``v`` interleaved (virtual) stages
  (Narayanan et al., SC'21), plus the activation/gradient point-to-point sends between
  stages (``tokens_per_micro·hidden·2/tp`` bytes, ``2·m·v`` per step) on the slow tier.
* **data parallel**: all-reduce (ring or tree, whichever is faster) of
  ``grad_bytes·params/(tp·pp)`` bytes per GPU over ``dp`` ranks on the slow tier, of which
  ``1 - dp_overlap`` is exposed (the rest hides under the backward pass).

``step = compute + tp + pp + (1 - dp_overlap)·dp``; ``util = compute/step`` feeds the power
model. A micro-batch is one sequence (``seq_len`` tokens), so
``m = max(1, tokens_per_step/(dp·seq_len))``.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from cupy_kernels._arrays import f64
from cupy_kernels.collectives import allreduce_time, p2p_time

__all__ = [
    "ACTIVATION_BYTES",
    "EFF_MAX",
    "MICRO_BATCH_HALF_TOKENS",
    "PRECISION_CODES",
    "TrainingBatch",
    "TrainingTimes",
    "default_efficiency",
    "default_virtual_stages",
    "training_step_time",
]

PRECISION_CODES: dict[str, int] = {"bf16": 0, "fp8": 1, "fp4": 2}
"""Integer code of each training precision, as stored in ``TrainingBatch.precision_code``."""

EFF_MAX: tuple[float, float, float] = (0.65, 0.48, 0.235)
"""Asymptotic model-FLOP efficiency (fraction of the dense peak at that precision) of the
GEMM-bound part of a step, for bf16, fp8, fp4 (index = precision code). Fitted, one value
per precision, to the anchors in ``docs/validation.md``: bf16 to Llama 3 405B on 16,384 H100
(the 8,192-GPU run of the same paper is held out), fp8 to NeMo Llama3-70B on 64 H100, fp4 to
Megatron-Bridge Llama3-70B NVFP4 on 64 GB200. Lower precisions reach a smaller fraction of
their (higher) peak because attention, norms and optimizer work do not speed up with them."""

MICRO_BATCH_HALF_TOKENS: float = 512.0
"""Micro-batch size (tokens per GPU GEMM row dimension) at which efficiency is half of
``EFF_MAX``: below a few hundred rows tensor-core GEMMs are launch/latency bound. A
saturating ``x/(x + x_half)`` shape; at 8,192 tokens the factor is 0.94. Estimate."""

ACTIVATION_BYTES: float = 2.0
"""Bytes per activation element sent by TP all-reduces and PP sends (bf16, also under fp8
training, where Megatron/Transformer Engine communicate bf16 activations)."""


@dataclass(frozen=True)
class TrainingBatch:
    """Inputs of :func:`training_step_time`: 1-D arrays of equal length, one row per job.

    Units: parameters and tokens are counts; ``peak_flops`` FLOP/s per GPU (dense, at the
    job's precision); ``nvlink_bw`` and ``dp_bw`` bytes/s per GPU per direction;
    ``dp_alpha`` and ``tp_alpha`` seconds per hop; ``grad_bytes`` bytes per gradient
    element; ``dp_overlap`` a fraction in [0, 1]; ``mfu`` NaN to use
    :func:`default_efficiency`, otherwise the model-FLOP efficiency to impose.
    ``virtual_stages`` (optional) is the interleaved-pipeline factor ``v``; ``None`` uses
    :func:`default_virtual_stages`.
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
    (bubble + stage-to-stage sends); ``dp_comm_s`` (the whole all-reduce, before overlap);
    ``exposed_comm_s`` (what adds to the step); ``step_s``. ``util`` = compute/step in
    [0, 1]; ``achieved_flops_per_gpu`` = 6·active·tokens/(n_gpus·step), FLOP/s.
    """

    step_s: Any
    compute_s: Any
    tp_comm_s: Any
    pp_comm_s: Any
    dp_comm_s: Any
    exposed_comm_s: Any
    util: Any
    achieved_flops_per_gpu: Any


def default_efficiency(xp: Any, precision_code: Any, micro_batch_tokens: Any) -> Any:
    """Model-FLOP efficiency (fraction of dense peak) for a precision and micro-batch size.

    ``EFF_MAX[precision] · t/(t + MICRO_BATCH_HALF_TOKENS)`` with ``t`` the tokens in one
    micro-batch. Codes outside 0..2 are clipped to the nearest valid code.
    """
    table = f64(xp, EFF_MAX)
    code = xp.clip(xp.asarray(precision_code).astype(xp.int64), 0, len(EFF_MAX) - 1)
    t = f64(xp, micro_batch_tokens)
    return table[code] * t / (t + MICRO_BATCH_HALF_TOKENS)


def default_virtual_stages(xp: Any, layers: Any, pp: Any) -> Any:
    """Interleaved-pipeline factor ``v``: two layers per virtual stage, at least 1.

    Matches NeMo's performance recipes (Llama3-70B, 80 layers, PP 8 → VP 5); 1 when
    ``pp == 1``.
    """
    lay, p = f64(xp, layers), f64(xp, pp)
    v = xp.floor(lay / (2.0 * xp.maximum(p, 1.0)))
    return xp.where(p > 1.0, xp.maximum(v, 1.0), 1.0)


def training_step_time(xp: Any, batch: TrainingBatch) -> TrainingTimes:
    """Per-step time breakdown of every job in ``batch`` (see the module docstring)."""
    b = batch
    tokens, seq = f64(xp, b.tokens_per_step), f64(xp, b.seq_len)
    tp, pp, dp = f64(xp, b.tp), f64(xp, b.pp), f64(xp, b.dp)
    hidden, layers = f64(xp, b.hidden), f64(xp, b.layers)
    active = f64(xp, b.active_params)

    micro = xp.maximum(tokens / (dp * seq), 1.0)  # micro-batches per DP rank
    mb_tokens = tokens / (dp * micro)
    mfu = f64(xp, b.mfu)
    eff = xp.where(xp.isnan(mfu), default_efficiency(xp, b.precision_code, mb_tokens), mfu)
    flops = 6.0 * active * tokens
    compute_s = flops / (f64(xp, b.n_gpus) * f64(xp, b.peak_flops) * eff)

    act_bytes = mb_tokens * hidden * ACTIVATION_BYTES
    per_ar = allreduce_time(xp, act_bytes, tp, b.nvlink_bw, b.tp_alpha)
    tp_comm_s = 4.0 * (layers / pp) * micro * per_ar

    v = (
        default_virtual_stages(xp, layers, pp)
        if b.virtual_stages is None
        else f64(xp, b.virtual_stages)
    )
    bubble_s = (pp - 1.0) / (v * micro) * (compute_s + tp_comm_s)
    sends_s = 2.0 * micro * v * p2p_time(xp, act_bytes / tp, b.dp_bw, b.dp_alpha)
    pp_comm_s = xp.where(pp > 1.0, bubble_s + sends_s, 0.0)

    grad = f64(xp, b.grad_bytes) * f64(xp, b.params) / (tp * pp)
    dp_comm_s = allreduce_time(xp, grad, dp, b.dp_bw, b.dp_alpha)
    hidden_frac = xp.clip(f64(xp, b.dp_overlap), 0.0, 1.0)
    exposed = tp_comm_s + pp_comm_s + (1.0 - hidden_frac) * dp_comm_s

    step_s = compute_s + exposed
    return TrainingTimes(
        step_s=step_s,
        compute_s=compute_s,
        tp_comm_s=tp_comm_s,
        pp_comm_s=pp_comm_s,
        dp_comm_s=dp_comm_s,
        exposed_comm_s=exposed,
        util=compute_s / step_s,
        achieved_flops_per_gpu=flops / (f64(xp, b.n_gpus) * step_s),
    )
