"""Model predictions against published figures (``tests/validation_cases.py``).

``python tests/test_kernels_validation.py`` prints the table of ``docs/validation.md``;
``python tests/test_kernels_validation.py --fit`` refits the constants from the rows marked
*fitted* only (coordinate-wise bisection) and prints them. Held-out rows are asserted to
lie within ``TOLERANCE``, except the rows listed in ``KNOWN_MISSES``, whose miss is
reported in ``docs/validation.md`` and asserted to stay on the documented side.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import pytest

import cupy_kernels.inference as inf
import cupy_kernels.training as trn
from cupy_kernels.inference import InferenceBatch, decode_step_time, max_batch, prefill_time
from cupy_kernels.offline_run import offline_run_throughput
from cupy_kernels.power import NODE_OVERHEAD_DRAW, decode_power_util, gpu_power, rack_power
from cupy_kernels.training import PRECISION_CODES, RECOMPUTE_CODES, TrainingBatch
from emulator.validation_bias import (
    GENERATION,
    SERVING_THROUGHPUT,
    FamilyError,
    serving_family,
)
from tests.validation_cases import (
    INFER_ROWS,
    INFER_ROWS_R2,
    INFER_ROWS_R3,
    INFER_ROWS_R4,
    INFER_ROWS_R5,
    INFER_ROWS_R7,
    INFER_ROWS_R8,
    INFER_ROWS_R9,
    INFER_ROWS_R10,
    INFER_ROWS_R11,
    INFER_ROWS_R12,
    ONLINE_ROWS_R13,
    POWER_ROWS,
    R2_FITTED,
    R4_FITTED,
    R8_FITTED,
    R9_FITTED,
    TRAIN_ROWS,
    TRAIN_ROWS_R2,
    TRAIN_ROWS_R3,
    TRT017,
    TRT10,
    TRT12,
    TRT12_REQUESTS,
    TRT12B,
    TRT_REQUESTS,
    InferRow,
    OnlineRow,
    PowerRow,
    TrainRow,
)
from tests.validation_online import online_predictions
from topologies.catalog import CATALOG, GB200_NVL72, SystemSpec
from workloads.models import BYTES_PER_ELEMENT, ModelSpec, get_model, model_from_dict

TOLERANCE = 0.15
"""Target: every row within ±15% (issue 10)."""

OFFLINE_RUNS = True
"""Predict a benchmark that states its request count as that finite run (round 12's term;
``--ablate`` compares with the steady state)."""

TP_ALPHA, IB_ALPHA, DP_OVERLAP = 3e-6, 10e-6, 0.8
"""Assumed fabric latencies (s per hop, NVLink and InfiniBand) and hidden DP share."""

ATTN_TRAIN_PRECISION = "bf16"
"""Precision of the attention core in training (Transformer Engine's default under fp8 and
fp4 recipes in the NeMo/Megatron recipes the rows come from)."""

MAX_BATCH_CAP = 4096
"""Largest batch the offline benchmarks schedule: trtllm-bench caps the batch it tunes for
at 4,096 requests ("cap total batch size to avoid decoder buffer size becoming too large",
``tensorrt_llm/bench/build/tuning.py``, ``finetune_setting``); below that the KV cache
binds."""


def trtllm_token_budget(batch: int, prompt: int, output: int) -> int:
    """Tokens per iteration (``max_num_tokens``) trtllm-bench tunes for a dataset of
    ``prompt``/``output`` lengths at ``batch`` requests in flight: ``batch·(1 + prompt /
    output)`` (a full batch's decode tokens plus its prompts' share), at most 32,768,
    rounded up to 256 below 4,096 (at least 2,048), to 512 below 8,192 and to 1,024 above
    (``finetune_setting`` in ``tensorrt_llm/bench/build/tuning.py``)."""
    raw = min(batch * (1 + prompt / output), 32768)
    if raw < 4096:
        return max(2048, 256 * math.ceil(raw / 256))
    step = 512 if raw < 8192 else 1024
    return step * math.ceil(raw / step)



# GPT models of Narayanan et al. (SC'21) Table 1: described inline, as a user would.
_GPT = {
    "gpt-1.7b": (24, 2304, 24, 1.7e9),
    "gpt-18b": (40, 6144, 48, 18.4e9),
    "gpt-39b": (48, 8192, 64, 39.1e9),
    "gpt-145b": (80, 12288, 96, 145.6e9),
    "gpt-310b": (96, 16384, 128, 310.1e9),
    "gpt-1t": (128, 25600, 160, 1008e9),
}

KNOWN_MISSES: dict[str, str] = {
    'Llama3-8B FP8, 8 B200 (DGX), DP8, GBS 128, MBS 2':
        "high",  # +15.8% (+14.1% before the attention core took the bf16 efficiency)
    'Llama3.1-405B FP8, 256 GB300, TP2 PP8 CP2 VP4, GBS 1536':
        "low",  # -15.8% (-15.0% before the attention core took the bf16 efficiency)
    'Llama3-8B FP8, 8 GB200, DP8, GBS 128, MBS 2':
        "high",  # +21.9%
    'DeepSeek-V3 BF16, 256 GB200, PP4 VP4 EP64, GBS 4096, 4k':
        "high",  # +15.2%
    'DeepSeek-V3 FP8, 2,048 H800, PP16 EP64 DP128, 4k (180K GPU-h per 1T tokens)':
        "low",  # -38.0%
    'GPT 1.7B FP16, 32 A100, DP32, GBS 512, 2k, full recompute':
        "high",  # +18.3%
    'R2 Qwen3-30B-A3B MXFP8, 8 GB300, EP8, GBS 512, MBS 4, 4k':
        "low",  # -19.5%
    'R2 Llama3-70B FP8, 64 GB200, FSDP DP64, GBS 256, MBS 2':
        "high",  # +15.2%
    'R2 Qwen3-30B-A3B FP8, 16 H100, PP2 VP24 EP8, GBS 512, MBS 2, 4k':
        "high",  # +84.3%
    'R3 Llama3.1-405B FP8-CS, 256 GB300, TP4 PP8 VP4, GBS 1536':
        "low",  # -16.6%
    'R3 Llama3.1-405B NVFP4, 256 GB300, TP4 PP8 VP4, GBS 1536':
        "low",  # -17.1%
    'R3 Llama3-70B FP8-CS, 64 GB200, FSDP DP64, GBS 256, MBS 2':
        "high",  # +22.9%
    'R3 Llama3-70B FP8-MX, 64 GB200, TP2 PP4 VP5, GBS 256':
        "high",  # +16.8%
    'R3 Llama3.1-405B NVFP4, 256 GB200, TP4 PP16 VP8, GBS 1536':
        "low",  # -34.1%
    'R3 DeepSeek-V3 FP8-MX, 256 B200 (DGX), PP16 EP8, GBS 4096, 4k':
        "low",  # -17.7%
    'R3 Qwen3-30B-A3B FP8-CS, 16 H100, PP2 VP12 EP8, GBS 1024, 4k':
        "high",  # +175.6%
    'R3 Qwen3-235B-A22B FP8-CS, 256 H100, TP2 PP8 VP4 EP32, GBS 8192, 4k':
        "low",  # -52.6%
    'Llama-3.1-8B FP8, 1 H100, 1000/1000':
        "low",  # -18.0%
    'Llama-2-70B FP8, 1 H200, batch 512, 128/128':
        "high",  # +23.8%
    'Llama-2-70B FP8, 4 H100 (TP4), batch 64, 2048/128':
        "high",  # +18.7%
    'Llama-2-7B FP8, 1 H100, TTFT, 2048 in':
        "low",  # -19.4%
    'Llama-2-70B FP8, 4 H100 (TP4), TTFT, 128 in':
        "low",  # -39.8%
    'Llama-3.3-70B FP8, 2 H100 (TP2), TTFT, 500 in, concurrency 1':
        "low",  # -16.3%
    'R2 Llama-3.3-70B FP4, B200 (TP1), 500/2000':
        "high",  # +22.3%
    'R2 Qwen3-30B-A3B (MoE) FP4, B200 (TP1), 2048/2048':
        "high",  # +18.7%
    'R2 Qwen3-30B-A3B (MoE) FP4, GB200 (TP1), 2048/2048':
        "high",  # +38.2%
    'R2 Llama-3.1-405B FP4, B200 (TP4), 500/2000':
        "high",  # +25.0%
    'R2 Llama-3.1-405B FP4, GB200 (TP4), 500/2000':
        "high",  # +26.4%
    'R2 Llama-3.1-8B FP8, H200 (TP1), 2048/2048':
        "low",  # -19.7%
    'R2 Llama-3.1-8B FP8, H100 (TP1), 2048/2048':
        "low",  # -20.0%
    'R2 Llama-3.1-8B FP8, H100 (TP1), 500/2000':
        "low",  # -22.1%
    'R3 Llama-3.3-70B FP4, B200 (TP1), 1000/2000':
        "high",  # +16.4%
    'R3 Llama-3.3-70B FP4, GB200 (TP1), 1000/2000':
        "high",  # +15.8%
    'R3 Qwen3-235B-A22B (MoE) FP4, B200 (TP8), 128/4096':
        "high",  # +24.2%
    'R3 Qwen3-235B-A22B (MoE) FP4, B200 (TP8), 1000/2000':
        "high",  # +21.3%
    'R3 Qwen3-235B-A22B (MoE) FP4, B200 (TP8), 20000/2000':
        "high",  # +26.4%
    'R3 Qwen3-235B-A22B (MoE) FP8, H200 (TP8), 128/128':
        "low",  # -16.3%
    'R3 Qwen3-235B-A22B (MoE) FP8, H200 (TP8), 20000/2000':
        "high",  # +42.6%
    'R3 Qwen3-235B-A22B (MoE) FP8, H100 (TP8), 128/4096':
        "high",  # +37.7%
    'R3 Qwen3-30B-A3B (MoE) FP4, B200 (TP1), 128/128':
        "low",  # -28.4%
    'R3 Qwen3-30B-A3B (MoE) FP4, B200 (TP1), 1000/2000':
        "high",  # +19.0%
    'R3 Qwen3-30B-A3B (MoE) FP4, GB200 (TP1), 1000/2000':
        "high",  # +28.8%
    'R3 Llama-3.1-405B FP4, B200 (TP4), 1000/2000':
        "high",  # +26.7%
    'R3 Llama-3.1-405B FP4, GB200 (TP4), 1000/2000':
        "high",  # +27.4%
    'R3 Llama-3.1-405B FP8, H100 (TP8), 128/4096':
        "high",  # +27.6%
    'R3 Llama-3.1-405B FP8, H100 (TP8), 1000/2000':
        "high",  # +21.0%
    'R3 Llama-3.1-8B FP8, H200 (TP1), 128/4096':
        "low",  # -20.4%
    'R3 Llama-3.1-8B FP8, H200 (TP1), 20000/2000':
        "low",  # -19.5%
    'R3 Llama-3.1-8B FP8, H100 (TP1), 128/4096':
        "low",  # -25.5%
    'R3 Llama-3.1-8B FP8, H100 (TP1), 1000/2000':
        "low",  # -23.5%
    'R3 Llama-3.1-8B FP8, H100 (TP1), 20000/2000':
        "low",  # -22.4%
    'R4 DeepSeek-R1 0528 (MoE) FP4, B200 (4 GPUs), 1024/32768':
        "high",  # +22.7%
    'R4 DeepSeek-R1 0528 (MoE) FP4, GB200 (4 GPUs), 1024/32768':
        "high",  # +33.1%
    'R4 DeepSeek-R1 0528 (MoE) FP8, H200 (8 GPUs), 1000/1000':
        "high",  # +24.0%
    'R4 DeepSeek-R1 0528 (MoE) FP8, H200 (8 GPUs), 1024/32768':
        "high",  # +44.3%
    'R4 Qwen3-235B-A22B (MoE) FP4, B200 (4 GPUs), 1000/1000':
        "high",  # +48.4%
    'R4 Qwen3-235B-A22B (MoE) FP4, B200 (4 GPUs), 1024/1024':
        "high",  # +28.6%
    'R4 Qwen3-235B-A22B (MoE) FP4, B200 (4 GPUs), 1024/8192':
        "high",  # +18.3%
    'R4 Qwen3-235B-A22B (MoE) FP4, B200 (4 GPUs), 1024/32768':
        "high",  # +17.4%
    'R4 Qwen3-235B-A22B (MoE) FP4, GB200 (4 GPUs), 1000/1000':
        "high",  # +46.0%
    'R4 Qwen3-235B-A22B (MoE) FP4, GB200 (4 GPUs), 1024/1024':
        "high",  # +37.8%
    'R4 Qwen3-235B-A22B (MoE) FP4, GB200 (4 GPUs), 1024/8192':
        "high",  # +19.8%
    'R4 Qwen3-235B-A22B (MoE) FP8, H100 (8 GPUs), 1024/8192':
        "high",  # +24.5%
    'R4 Qwen3-30B-A3B (MoE) FP4, B200 (1 GPUs), 8192/1024':
        "high",  # +21.4%
    'R4 Qwen3-30B-A3B (MoE) FP4, GB200 (1 GPUs), 8192/1024':
        "high",  # +16.8%
    'R5 DeepSeek-R1 0528 (MoE) FP4, B200 (4 GPUs), 1024/32768':
        "high",  # +21.0%
    'R5 DeepSeek-R1 0528 (MoE) FP4, GB200 (4 GPUs), 1024/1024':
        "high",  # +25.6%
    'R5 DeepSeek-R1 0528 (MoE) FP4, GB200 (4 GPUs), 1024/32768':
        "high",  # +23.2%
    'R5 Qwen3-235B-A22B (MoE) FP4, B200 (4 GPUs), 1024/32768':
        "high",  # +21.1%
    'R5 Qwen3-235B-A22B (MoE) FP4, GB200 (4 GPUs), 1024/32768':
        "high",  # +19.2%
    'R5 Qwen3-235B-A22B (MoE) FP8, H200 (4 GPUs), 1024/1024':
        "low",  # -20.5%
    'R5 Qwen3-30B-A3B (MoE) FP4, B200 (1 GPUs), 8192/1024':
        "high",  # +17.1%
    'R7 Llama-4-Scout (MoE) FP4, B200 (TP1), 128/4096':
        "high",  # +17.5%
    'R7 Llama-4-Scout (MoE) FP4, B200 (TP1), 2048/128':
        "high",  # +24.1%
    'R7 Llama-4-Scout (MoE) FP4, GB200 (TP1), 128/2048':
        "high",  # +21.0%
    'R7 Llama-4-Scout (MoE) FP4, GB200 (TP1), 128/4096':
        "high",  # +18.7%
    'R7 Llama-4-Scout (MoE) FP4, GB200 (TP1), 500/2000':
        "high",  # +19.8%
    'R7 Llama-4-Scout (MoE) FP4, GB200 (TP1), 1000/1000':
        "high",  # +59.0%
    'R7 Llama-4-Scout (MoE) FP4, GB200 (TP1), 1000/2000':
        "high",  # +22.7%
    'R7 Llama-4-Scout (MoE) FP4, GB200 (TP1), 2048/128':
        "high",  # +29.6%
    'R7 Llama-4-Scout (MoE) FP8, H200 (TP4), 128/2048':
        "low",  # -17.0%
    'R7 Llama-4-Scout (MoE) FP8, H200 (TP4), 2048/2048':
        "low",  # -18.5%
    'R7 Llama-4-Scout (MoE) FP8, H200 (TP4), 20000/2000':
        "high",  # +45.4%
    'R7 Llama-4-Scout (MoE) FP8, H100 (TP4), 128/2048':
        "high",  # +30.0%
    'R7 Llama-4-Scout (MoE) FP8, H100 (TP4), 128/4096':
        "high",  # +28.0%
    'R7 Llama-4-Scout (MoE) FP8, H100 (TP4), 500/2000':
        "high",  # +17.4%
    'R7 Llama-4-Maverick (MoE) FP4, B200 (TP8), 128/128':
        "low",  # -45.7%
    'R7 Llama-4-Maverick (MoE) FP4, B200 (TP8), 128/2048':
        "low",  # -32.1%
    'R7 Llama-4-Maverick (MoE) FP4, B200 (TP8), 128/4096':
        "low",  # -23.1%
    'R7 Llama-4-Maverick (MoE) FP4, B200 (TP8), 1000/1000':
        "low",  # -38.0%
    'R7 Llama-4-Maverick (MoE) FP4, B200 (TP8), 1000/2000':
        "low",  # -30.1%
    'R7 Llama-4-Maverick (MoE) FP4, B200 (TP8), 2048/128':
        "low",  # -34.6%
    'R7 Llama-4-Maverick (MoE) FP4, B200 (TP8), 2048/2048':
        "low",  # -33.7%
    'R7 Llama-4-Maverick (MoE) FP4, B200 (TP8), 20000/2000':
        "low",  # -25.7%
    'R7 Llama-4-Maverick (MoE) FP8, H200 (TP8), 128/128':
        "low",  # -55.0%
    'R7 Llama-4-Maverick (MoE) FP8, H200 (TP8), 128/2048':
        "low",  # -24.5%
    'R7 Llama-4-Maverick (MoE) FP8, H200 (TP8), 500/2000':
        "low",  # -39.5%
    'R7 Llama-4-Maverick (MoE) FP8, H200 (TP8), 1000/1000':
        "low",  # -34.2%
    'R7 Llama-4-Maverick (MoE) FP8, H200 (TP8), 1000/2000':
        "low",  # -47.7%
    'R7 Llama-4-Maverick (MoE) FP8, H200 (TP8), 2048/128':
        "low",  # -30.5%
    'R7 Llama-4-Maverick (MoE) FP8, H200 (TP8), 2048/2048':
        "low",  # -34.5%
    'R7 Llama-4-Maverick (MoE) FP8, H200 (TP8), 5000/500':
        "low",  # -35.7%
    'R7 Llama-4-Maverick (MoE) FP8, H100 (TP8), 128/2048':
        "high",  # +44.5%
    'R7 Llama-4-Maverick (MoE) FP8, H100 (TP8), 128/4096':
        "high",  # +35.2%
    'R7 Llama-4-Maverick (MoE) FP4, B200 (4 GPUs), 1000/1000':
        "low",  # -28.2%
    'R7 Llama-4-Maverick (MoE) FP4, B200 (4 GPUs), 1024/1024':
        "low",  # -38.2%
    'R7 Llama-4-Maverick (MoE) FP4, B200 (4 GPUs), 1024/8192':
        "low",  # -28.0%
    'R7 Llama-4-Maverick (MoE) FP4, B200 (4 GPUs), 8192/1024':
        "low",  # -48.1%
    'R7 Llama-4-Maverick (MoE) FP4, B200 (4 GPUs), 32768/1024':
        "low",  # -19.2%
    'R7 Llama-4-Maverick (MoE) FP4, GB200 (4 GPUs), 1000/1000':
        "low",  # -26.0%
    'R7 Llama-4-Maverick (MoE) FP4, GB200 (4 GPUs), 1024/1024':
        "low",  # -37.4%
    'R7 Llama-4-Maverick (MoE) FP4, GB200 (4 GPUs), 1024/8192':
        "low",  # -30.0%
    'R7 Llama-4-Maverick (MoE) FP4, GB200 (4 GPUs), 8192/1024':
        "low",  # -47.6%
    'R7 Llama-4-Maverick (MoE) FP4, GB200 (4 GPUs), 32768/1024':
        "low",  # -23.9%
    'R7 Llama-4-Maverick (MoE) FP8, H200 (8 GPUs), 1000/1000':
        "low",  # -29.1%
    'R7 Llama-4-Maverick (MoE) FP8, H200 (8 GPUs), 1024/1024':
        "low",  # -37.9%
    'R7 Llama-4-Maverick (MoE) FP8, H200 (8 GPUs), 1024/8192':
        "high",  # +45.8%
    'R7 Llama-4-Maverick (MoE) FP8, H200 (8 GPUs), 1024/32768':
        "high",  # +53.8%
    'R7 Llama-4-Maverick (MoE) FP8, H200 (8 GPUs), 8192/1024':
        "low",  # -50.8%
    'R8 Mixtral-8x7B (MoE) FP8, H200 (TP1), 500/2000':
        "low",  # -17.8%
    'R8 Mixtral-8x7B (MoE) FP8, H200 (TP1), 1000/1000':
        "low",  # -20.7%
    'R8 Mixtral-8x7B (MoE) FP8, H200 (TP1), 2048/2048':
        "low",  # -21.5%
    'R8 Mixtral-8x7B (MoE) FP8, H200 (TP1), 20000/2000':
        "low",  # -27.0%
    'R8 Mixtral-8x7B (MoE) FP8, H100 (TP1), 128/2048':
        "low",  # -16.8%
    'R8 Mixtral-8x7B (MoE) FP8, H100 (TP1), 128/4096':
        "low",  # -20.4%
    'R8 Mixtral-8x7B (MoE) FP8, H100 (TP1), 500/2000':
        "low",  # -20.4%
    'R8 Mixtral-8x7B (MoE) FP8, H100 (TP1), 1000/1000':
        "low",  # -26.1%
    'R8 Mixtral-8x7B (MoE) FP8, H100 (TP1), 2048/2048':
        "low",  # -28.6%
    'R8 Mixtral-8x7B (MoE) FP8, H100 (TP1), 5000/500':
        "low",  # -29.4%
    'R8 Mixtral-8x7B (MoE) FP8, H100 (TP1), 20000/2000':
        "low",  # -34.1%
    'R8 Mixtral-8x7B (MoE) FP8, H100 (TP2), 2048/2048':
        "low",  # -17.6%
    'R8 Mixtral-8x7B (MoE) FP8, H100 (TP2), 20000/2000':
        "low",  # -23.7%
    'R8 Mixtral-8x7B (MoE) FP16, A100 (TP2), 1000/1000':
        "low",  # -19.4%
    'R8 Mixtral-8x7B (MoE) FP16, A100 (TP2), 2048/2048':
        "low",  # -23.1%
    'R8 Mixtral-8x7B (MoE) FP16, A100 (TP2), 5000/500':
        "low",  # -19.1%
    'R8 Mixtral-8x7B (MoE) FP16, A100 (TP2), 20000/2000':
        "low",  # -30.5%
    'R8 Mixtral-8x7B (MoE) FP8, H200 (TP4), 2048/128':
        "high",  # +15.2%
    'R8 Mixtral-8x7B (MoE) FP8, H100 (TP4), 2048/128':
        "high",  # +15.6%
    'R8 Mixtral-8x7B (MoE) FP16, A100 (TP4), 2048/128':
        "high",  # +16.4%
    'R8 Mixtral-8x7B (MoE) FP16, A100 (TP4), 2048/2048':
        "low",  # -16.0%
    'R8 Mixtral-8x7B (MoE) FP16, A100 (TP4), 20000/2000':
        "low",  # -15.7%
    'R8 Mixtral-8x7B (MoE) FP8, H200 (TP8), 128/128':
        "high",  # +17.0%
    'R8 Mixtral-8x7B (MoE) FP8, H200 (TP8), 2048/128':
        "high",  # +19.9%
    'R8 Mixtral-8x7B (MoE) FP8, H100 (TP8), 128/128':
        "high",  # +21.0%
    'R8 Mixtral-8x7B (MoE) FP8, H100 (TP8), 2048/128':
        "high",  # +26.9%
    'R8 Mixtral-8x7B (MoE) FP16, A100 (TP8), 128/128':
        "high",  # +19.9%
    'R8 Mixtral-8x7B (MoE) FP16, A100 (TP8), 2048/128':
        "high",  # +22.5%
    'R9 Llama-3.1-8B FP8, H200 (TP1), 128/4096':
        "low",  # -17.4%
    'R9 Llama-3.1-8B FP8, H200 (TP1), 2048/2048':
        "low",  # -18.2%
    'R9 Llama-3.1-8B FP8, H200 (TP1), 20000/2000':
        "low",  # -19.5%
    'R9 Llama-3.1-8B FP8, H100 (TP1), 128/2048':
        "low",  # -18.9%
    'R9 Llama-3.1-8B FP8, H100 (TP1), 128/4096':
        "low",  # -21.5%
    'R9 Llama-3.1-8B FP8, H100 (TP1), 500/2000':
        "low",  # -16.6%
    'R9 Llama-3.1-8B FP8, H100 (TP1), 1000/1000':
        "low",  # -18.1%
    'R9 Llama-3.1-8B FP8, H100 (TP1), 2048/2048':
        "low",  # -21.6%
    'R9 Llama-3.1-8B FP8, H100 (TP1), 5000/500':
        "low",  # -19.0%
    'R9 Llama-3.1-8B FP8, H100 (TP1), 20000/2000':
        "low",  # -25.2%
    'R9 Llama-3.1-8B FP16, A100 (TP1), 128/4096':
        "low",  # -18.5%
    'R9 Llama-3.1-8B FP16, A100 (TP1), 2048/128':
        "low",  # -17.7%
    'R9 Llama-3.1-8B FP16, A100 (TP1), 2048/2048':
        "low",  # -18.3%
    'R9 Llama-3.1-8B FP16, A100 (TP1), 5000/500':
        "low",  # -18.6%
    'R9 Llama-3.1-8B FP16, A100 (TP1), 20000/2000':
        "low",  # -18.9%
    'R9 Llama-3.1-70B FP8, H200 (TP1), 500/2000':
        "high",  # +26.8%
    'R9 Llama-3.1-70B FP8, H100 (TP1), 128/4096':
        "high",  # +16.4%
    'R9 Llama-3.1-70B FP8, H100 (TP2), 128/2048':
        "high",  # +15.5%
    'R9 Llama-3.1-70B FP8, H100 (TP4), 128/4096':
        "high",  # +16.5%
    'R9 Llama-3.1-70B FP16, A100 (TP4), 128/2048':
        "high",  # +19.9%
    'R9 Llama-3.1-70B FP16, A100 (TP4), 128/4096':
        "high",  # +18.5%
    'R9 Llama-3.1-70B FP16, A100 (TP4), 500/2000':
        "high",  # +21.8%
    'R9 Llama-3.1-70B FP8, H100 (TP8), 128/2048':
        "high",  # +15.0%
    'R9 Llama-3.1-70B FP16, A100 (TP8), 128/4096':
        "high",  # +28.3%
    'R10 MLPerf v5.1 llama2-70b-99 Offline, B200 x8 (Supermicro), FP4, TP1 x 8':
        "low",  # -39.9%
    'R10 MLPerf v5.1 llama2-70b-99 Offline, GB200 x4 (NVIDIA), FP4, TP1 x 4':
        "low",  # -35.3%
    'R10 MLPerf v5.1 llama2-70b-99 Offline, H200 x8 (HPE), FP8, TP1 x 8':
        "low",  # -38.6%
    'R10 MLPerf v5.1 llama3.1-405b Offline, B200 x8 (Dell), FP4, TP4 x 2':
        "low",  # -21.1%
    'R10 MLPerf v5.1 llama3.1-405b Offline, GB300 x4 (NVIDIA), FP4, TP2 x 2':
        "high",  # +20.2%
    'R10 MLPerf v5.1 llama3.1-405b Offline, H200 x8 (Quanta_Cloud_Technology), FP8, TP8 x 1':
        "low",  # -27.0%
    'R10 MLPerf v5.1 llama3.1-8b Offline, B200 x8 (Supermicro), FP4, TP1 x 8':
        "low",  # -17.8%
    'R11 Llama-3.1-405B FP8, H200 (TP8), 128/4096':
        "high",  # +33.3%
    'R11 Llama-3.1-70B FP8, H100 (TP1), 1000/1000':
        "high",  # +119.0%
    'R11 Llama-3.1-70B FP8, H200 (TP2), 1000/1000':
        "high",  # +15.3%
    'R11 Llama-3.1-70B FP16, H100 (TP4), 1000/1000':
        "high",  # +17.9%
    'R11 Llama-3.1-70B FP16, A100 (TP4), 1000/1000':
        "high",  # +15.9%
    'R11 Llama-3.1-70B FP16, H100 (TP8), 1000/1000':
        "high",  # +30.1%
    'R11 Llama-3.1-70B FP8, H100 (TP1), 128/128':
        "high",  # +49.6%
    'R11 Llama-3.1-70B FP8, H200 (TP2), 128/128':
        "high",  # +28.4%
    'R11 Llama-3.1-70B FP8, H100 (TP2), 128/128':
        "high",  # +29.3%
    'R11 Llama-3.1-70B FP16, H100 (TP2), 128/128':
        "high",  # +22.8%
    'R11 Llama-3.1-70B FP8, H200 (TP4), 128/128':
        "high",  # +24.6%
    'R11 Llama-3.1-70B FP8, H100 (TP4), 128/128':
        "high",  # +27.3%
    'R11 Llama-3.1-70B FP16, H100 (TP4), 128/128':
        "high",  # +23.4%
    'R11 Llama-3.1-70B FP8, H200 (TP1), 128/2048':
        "high",  # +32.4%
    'R11 Llama-3.1-70B FP8, H100 (TP1), 128/2048':
        "high",  # +113.0%
    'R11 Llama-3.1-70B FP8, H200 (TP2), 128/2048':
        "high",  # +21.7%
    'R11 Llama-3.1-70B FP8, H100 (TP2), 128/2048':
        "high",  # +21.4%
    'R11 Llama-3.1-70B FP16, A100 (TP2), 128/2048':
        "high",  # +23.5%
    'R11 Llama-3.1-70B FP8, H100 (TP4), 128/2048':
        "high",  # +36.6%
    'R11 Llama-3.1-70B FP16, H100 (TP4), 128/2048':
        "high",  # +28.8%
    'R11 Llama-3.1-70B FP16, A100 (TP4), 128/2048':
        "high",  # +35.3%
    'R11 Llama-3.1-70B FP8, H100 (TP8), 128/2048':
        "high",  # +29.2%
    'R11 Llama-3.1-70B FP16, H100 (TP8), 128/2048':
        "high",  # +60.9%
    'R11 Llama-3.1-70B FP16, A100 (TP8), 128/2048':
        "high",  # +44.5%
    'R11 Llama-3.1-70B FP8, H200 (TP2), 128/4096':
        "high",  # +20.2%
    'R11 Llama-3.1-70B FP8, H200 (TP4), 128/4096':
        "high",  # +24.9%
    'R11 Llama-3.1-70B FP8, H100 (TP4), 128/4096':
        "high",  # +34.8%
    'R11 Llama-3.1-70B FP16, A100 (TP4), 128/4096':
        "high",  # +38.9%
    'R11 Llama-3.1-70B FP8, H200 (TP8), 128/4096':
        "high",  # +20.8%
    'R11 Llama-3.1-70B FP8, H100 (TP8), 128/4096':
        "high",  # +66.8%
    'R11 Llama-3.1-70B FP16, H100 (TP8), 128/4096':
        "high",  # +70.6%
    'R11 Llama-3.1-70B FP16, A100 (TP8), 128/4096':
        "high",  # +55.7%
    'R11 Llama-3.1-70B FP16, A100 (TP4), 20000/2000':
        "high",  # +16.7%
    'R11 Llama-3.1-70B FP16, A100 (TP8), 20000/2000':
        "high",  # +25.0%
    'R11 Llama-3.1-70B FP8, H100 (TP1), 2048/128':
        "high",  # +31.0%
    'R11 Llama-3.1-70B FP8, H200 (TP4), 2048/128':
        "high",  # +24.3%
    'R11 Llama-3.1-70B FP8, H100 (TP4), 2048/128':
        "high",  # +25.4%
    'R11 Llama-3.1-70B FP16, H100 (TP4), 2048/128':
        "high",  # +18.2%
    'R11 Llama-3.1-70B FP8, H100 (TP1), 2048/2048':
        "high",  # +126.8%
    'R11 Llama-3.1-70B FP8, H200 (TP2), 2048/2048':
        "high",  # +18.9%
    'R11 Llama-3.1-70B FP16, H100 (TP2), 2048/2048':
        "high",  # +172.5%
    'R11 Llama-3.1-70B FP16, A100 (TP2), 2048/2048':
        "high",  # +121.4%
    'R11 Llama-3.1-70B FP8, H100 (TP4), 2048/2048':
        "high",  # +16.8%
    'R11 Llama-3.1-70B FP16, A100 (TP4), 2048/2048':
        "high",  # +22.2%
    'R11 Llama-3.1-70B FP8, H100 (TP8), 2048/2048':
        "high",  # +25.5%
    'R11 Llama-3.1-70B FP16, H100 (TP8), 2048/2048':
        "high",  # +41.5%
    'R11 Llama-3.1-70B FP16, A100 (TP8), 2048/2048':
        "high",  # +34.7%
    'R11 Llama-3.1-70B FP8, H200 (TP1), 500/2000':
        "high",  # +35.4%
    'R11 Llama-3.1-70B FP8, H200 (TP2), 500/2000':
        "high",  # +19.4%
    'R11 Llama-3.1-70B FP8, H100 (TP2), 500/2000':
        "high",  # +20.3%
    'R11 Llama-3.1-70B FP16, A100 (TP2), 500/2000':
        "high",  # +15.6%
    'R11 Llama-3.1-70B FP16, H100 (TP4), 500/2000':
        "high",  # +34.2%
    'R11 Llama-3.1-70B FP16, A100 (TP4), 500/2000':
        "high",  # +32.3%
    'R11 Llama-3.1-70B FP8, H100 (TP8), 500/2000':
        "high",  # +21.7%
    'R11 Llama-3.1-70B FP16, H100 (TP8), 500/2000':
        "high",  # +60.0%
    'R11 Llama-3.1-70B FP16, A100 (TP8), 500/2000':
        "high",  # +43.7%
    'R11 Llama-3.1-70B FP8, H100 (TP1), 5000/500':
        "high",  # +89.4%
    'R11 Llama-3.1-70B FP8, H200 (TP4), 5000/500':
        "high",  # +24.8%
    'R11 Llama-3.1-70B FP8, H100 (TP4), 5000/500':
        "high",  # +21.2%
    'R11 Llama-3.1-8B FP16, H100 (TP1), 128/4096':
        "low",  # -19.1%
    'R11 Llama-3.1-8B FP8, H100 (TP1), 20000/2000':
        "low",  # -19.5%
    'R11 Llama-3.1-8B FP8, H100 (TP1), 2048/2048':
        "low",  # -15.2%
    'R11 Llama-3.1-8B FP16, H100 (TP1), 2048/2048':
        "low",  # -19.5%
    'R11 Mixtral-8x7B (MoE) FP16, A100 (TP2), 1000/1000':
        "low",  # -22.4%
    'R11 Mixtral-8x7B (MoE) FP8, H200 (TP2), 128/128':
        "high",  # +19.9%
    'R11 Mixtral-8x7B (MoE) FP8, H100 (TP2), 128/128':
        "high",  # +20.1%
    'R11 Mixtral-8x7B (MoE) FP8, H100 (TP4), 128/128':
        "high",  # +15.0%
    'R11 Mixtral-8x7B (MoE) FP8, H100 (TP8), 128/128':
        "high",  # +20.6%
    'R11 Mixtral-8x7B (MoE) FP16, H100 (TP8), 128/128':
        "high",  # +18.4%
    'R11 Mixtral-8x7B (MoE) FP8, H200 (TP4), 128/4096':
        "high",  # +16.4%
    'R11 Mixtral-8x7B (MoE) FP8, H200 (TP8), 128/4096':
        "high",  # +45.2%
    'R11 Mixtral-8x7B (MoE) FP8, H100 (TP8), 128/4096':
        "high",  # +39.0%
    'R11 Mixtral-8x7B (MoE) FP16, H100 (TP8), 128/4096':
        "high",  # +27.7%
    'R11 Mixtral-8x7B (MoE) FP8, H100 (TP2), 20000/2000':
        "low",  # -19.2%
    'R11 Mixtral-8x7B (MoE) FP16, H100 (TP2), 20000/2000':
        "low",  # -27.1%
    'R11 Mixtral-8x7B (MoE) FP16, A100 (TP2), 20000/2000':
        "low",  # -27.1%
    'R11 Mixtral-8x7B (MoE) FP8, H200 (TP2), 2048/128':
        "high",  # +29.7%
    'R11 Mixtral-8x7B (MoE) FP8, H100 (TP2), 2048/128':
        "high",  # +22.6%
    'R11 Mixtral-8x7B (MoE) FP8, H200 (TP4), 2048/128':
        "high",  # +20.4%
    'R11 Mixtral-8x7B (MoE) FP8, H100 (TP4), 2048/128':
        "high",  # +21.7%
    'R11 Mixtral-8x7B (MoE) FP8, H200 (TP8), 2048/128':
        "high",  # +28.9%
    'R11 Mixtral-8x7B (MoE) FP8, H100 (TP8), 2048/128':
        "high",  # +35.7%
    'R11 Mixtral-8x7B (MoE) FP16, H100 (TP8), 2048/128':
        "high",  # +27.0%
    'R11 Mixtral-8x7B (MoE) FP16, H100 (TP2), 2048/2048':
        "low",  # -18.4%
    'R11 Mixtral-8x7B (MoE) FP16, A100 (TP2), 2048/2048':
        "low",  # -20.8%
    'R11 Mixtral-8x7B (MoE) FP8, H200 (TP8), 2048/2048':
        "high",  # +30.5%
    'R11 Mixtral-8x7B (MoE) FP8, H100 (TP8), 2048/2048':
        "high",  # +21.7%
    'R11 Mixtral-8x7B (MoE) FP8, H100 (TP8), 500/2000':
        "high",  # +21.1%
    'R11 Mixtral-8x7B (MoE) FP16, H100 (TP2), 5000/500':
        "low",  # -20.8%
    'R11 Mixtral-8x7B (MoE) FP16, A100 (TP2), 5000/500':
        "low",  # -20.0%
    'R11 Mixtral-8x7B (MoE) FP8, H200 (TP8), 5000/500':
        "high",  # +31.0%
    'R11 Mixtral-8x7B (MoE) FP8, H100 (TP8), 5000/500':
        "high",  # +28.0%
    'R12 Llama-3.3-70B FP4, B200 (TP1), 128/2048':
        "high",  # +19.5%
    'R12 Llama-3.3-70B FP4, B200 (TP1), 128/4096':
        "high",  # +25.6%
    'R12 Llama-3.3-70B FP4, B200 (TP1), 500/2000':
        "high",  # +28.1%
    'R12 Llama-3.3-70B FP4, B200 (TP2), 128/2048':
        "high",  # +30.2%
    'R12 Llama-3.3-70B FP4, B200 (TP2), 128/4096':
        "high",  # +38.2%
    'R12 Llama-3.3-70B FP4, B200 (TP2), 500/2000':
        "high",  # +41.1%
    'R12 Llama-3.3-70B FP4, B200 (TP2), 1000/1000':
        "high",  # +20.1%
    'R12 Llama-3.3-70B FP4, B200 (TP2), 1000/2000':
        "high",  # +31.9%
    'R12 Llama-3.3-70B FP4, B200 (TP2), 1024/2048':
        "high",  # +35.9%
    'R12 Llama-3.3-70B FP4, B200 (TP2), 20000/2000':
        "high",  # +16.4%
    'R12 Llama-3.3-70B FP4, B200 (TP4), 128/4096':
        "high",  # +27.9%
    'R12 Llama-3.3-70B FP4, B200 (TP4), 500/2000':
        "high",  # +19.2%
    'R12 Llama-3.3-70B FP4, B200 (TP4), 1000/1000':
        "high",  # +18.6%
    'R12 Llama-3.3-70B FP4, B200 (TP4), 1000/2000':
        "high",  # +27.7%
    'R12 Llama-3.3-70B FP4, B200 (TP4), 1024/2048':
        "high",  # +39.4%
    'R12 Llama-3.3-70B FP4, B200 (TP8), 1024/2048':
        "high",  # +37.4%
    'R12 Llama-3.1-405B FP4, B200 (TP4), 128/2048':
        "high",  # +30.5%
    'R12 Llama-3.1-405B FP4, B200 (TP4), 128/4096':
        "high",  # +21.7%
    'R12 Llama-3.1-405B FP4, B200 (TP4), 500/2000':
        "high",  # +33.5%
    'R12 Llama-3.1-405B FP4, B200 (TP4), 1024/2048':
        "high",  # +20.3%
    'R12 Llama-3.1-405B FP4, B200 (TP8), 128/2048':
        "high",  # +36.8%
    'R12 Llama-3.1-405B FP4, B200 (TP8), 128/4096':
        "high",  # +37.7%
    'R12 Llama-3.1-405B FP4, B200 (TP8), 500/2000':
        "high",  # +30.0%
    'R12 Llama-3.1-405B FP4, B200 (TP8), 1000/2000':
        "high",  # +27.0%
    'R12 Llama-3.1-405B FP4, B200 (TP8), 1024/2048':
        "high",  # +33.2%
    'R12 Llama-3.1-8B FP8, H200 (TP1), 128/4096':
        "low",  # -18.9%
    'R12 Llama-3.1-8B FP8, H200 (TP1), 1000/2000':
        "low",  # -15.3%
    'R12 Llama-3.1-8B FP8, H100 (TP1), 128/2048':
        "low",  # -18.6%
    'R12 Llama-3.1-8B FP8, H100 (TP1), 128/4096':
        "low",  # -22.7%
    'R12 Llama-3.1-8B FP8, H100 (TP1), 500/2000':
        "low",  # -20.3%
    'R12 Llama-3.1-8B FP8, H100 (TP1), 1000/1000':
        "low",  # -18.3%
    'R12 Llama-3.1-8B FP8, H100 (TP1), 1000/2000':
        "low",  # -23.4%
    'R12 Llama-3.1-8B FP8, H100 (TP1), 1024/2048':
        "low",  # -18.3%
    'R12 Llama-3.1-8B FP8, H100 (TP1), 20000/2000':
        "low",  # -21.4%
    'R12 Llama-3.3-70B FP8, H200 (TP2), 128/4096':
        "high",  # +22.5%
    'R12 Llama-3.3-70B FP8, H200 (TP8), 1024/2048':
        "high",  # +17.5%
    'R12 Llama-3.3-70B FP8, H100 (TP1), 128/128':
        "high",  # +17.5%
    'R12 Llama-3.3-70B FP8, H100 (TP1), 128/2048':
        "high",  # +33.0%
    'R12 Llama-3.3-70B FP8, H100 (TP1), 1000/1000':
        "high",  # +27.8%
    'R12 Llama-3.3-70B FP8, H100 (TP1), 1000/2000':
        "high",  # +27.1%
    'R12 Llama-3.3-70B FP8, H100 (TP1), 1024/2048':
        "high",  # +28.6%
    'R12 Llama-3.3-70B FP8, H100 (TP1), 5000/500':
        "high",  # +21.3%
    'R12 Llama-3.3-70B FP8, H100 (TP2), 128/2048':
        "high",  # +20.8%
    'R12 Llama-3.3-70B FP8, H100 (TP2), 500/2000':
        "high",  # +23.1%
    'R12 Llama-3.3-70B FP8, H100 (TP8), 128/4096':
        "high",  # +21.5%
    'R12 Llama-3.3-70B FP8, H100 (TP8), 1024/2048':
        "high",  # +21.5%
    'R12 Llama-3.1-405B FP8, H100 (TP8), 500/2000':
        "high",  # +16.3%
    'R12 Llama-3.1-405B FP8, H100 (TP8), 1024/2048':
        "high",  # +15.2%
    'R12 Llama-4-Maverick (MoE) FP8, H200 (TP8), 128/4096':
        "high",  # +33.2%
    'R12 Llama-4-Maverick (MoE) FP8, H200 (TP8), 1024/2048':
        "high",  # +37.2%
    'R12 Llama-4-Maverick (MoE) FP8, H200 (TP8), 2048/128':
        "high",  # +17.7%
    'R12 Llama-4-Maverick (MoE) FP8, H200 (TP8), 20000/2000':
        "high",  # +131.7%
    'R12 Llama-4-Maverick (MoE) FP8, H100 (TP8), 128/4096':
        "high",  # +17.9%
    'R12 Llama-4-Maverick (MoE) FP8, H100 (TP8), 1000/2000':
        "high",  # +16.0%
    'R12 Llama-4-Maverick (MoE) FP8, H100 (TP8), 1024/2048':
        "high",  # +17.2%
    'R12 Llama-4-Maverick (MoE) FP8, H100 (TP8), 2048/128':
        "high",  # +18.2%
    'R12 Llama-4-Maverick (MoE) FP8, H100 (TP8), 20000/2000':
        "high",  # +79.6%
    'R13 Llama-3.1-70B BF16, H100 (TP4), 467/256, 8/s, ttft':
        "low",  # -16.0%
    'R13 Llama-3.1-70B BF16, H100 (TP4), 467/256, 16/s, ttft':
        "low",  # -36.5%
    'R13 Llama-3.1-70B BF16, H100 (TP4), 467/256, 16/s, itl':
        "low",  # -29.2%
    'R13 Llama-3.1-70B BF16, H100 (TP4), 467/256, 32/s, ttft':
        "low",  # -17.8%
    'R13 Llama-3.1-70B BF16, H100 (TP4), 467/16, 2/s, itl':
        "high",  # +20.3%
    'R13 Llama-3.1-70B BF16, H100 (TP4), 467/16, 4/s, itl':
        "high",  # +15.8%
    'R13 Llama-3.1-70B BF16, H100 (TP4), 467/16, 32/s, ttft':
        "low",  # -18.4%
    'R13 Llama-3.1-70B BF16, H100 (TP4), 467/16, 32/s, itl':
        "low",  # -19.2%
    'R13 Llama-3.1-70B BF16, H100 (TP4), 467/16, all at once, itl':
        "low",  # -28.8%
    'R13 Llama-3.1-70B BF16, H100 (TP4), 202/214, 16/s, ttft':
        "low",  # -23.8%
    'R13 Llama-3.1-70B BF16, H100 (TP4), 202/214, 32/s, ttft':
        "low",  # -32.0%
    'R13 Llama-3.1-70B BF16, H100 (TP4), 202/214, all at once, throughput':
        "high",  # +88.2%
    'R13 Llama-3.1-8B BF16, H100 (TP1), 467/256, 2/s, ttft':
        "high",  # +23.2%
    'R13 Llama-3.1-8B BF16, H100 (TP1), 467/256, 2/s, itl':
        "high",  # +44.9%
    'R13 Llama-3.1-8B BF16, H100 (TP1), 467/256, 4/s, ttft':
        "high",  # +21.5%
    'R13 Llama-3.1-8B BF16, H100 (TP1), 467/256, 4/s, itl':
        "high",  # +34.2%
    'R13 Llama-3.1-8B BF16, H100 (TP1), 467/256, 8/s, ttft':
        "high",  # +18.4%
    'R13 Llama-3.1-8B BF16, H100 (TP1), 467/256, 8/s, itl':
        "high",  # +46.4%
    'R13 Llama-3.1-8B BF16, H100 (TP1), 467/256, 16/s, itl':
        "high",  # +45.5%
    'R13 Llama-3.1-8B BF16, H100 (TP1), 467/256, 32/s, itl':
        "high",  # +30.2%
    'R13 Llama-3.1-8B BF16, H100 (TP1), 467/16, 2/s, itl':
        "high",  # +62.8%
    'R13 Llama-3.1-8B BF16, H100 (TP1), 467/16, 4/s, itl':
        "high",  # +66.7%
    'R13 Llama-3.1-8B BF16, H100 (TP1), 467/16, 8/s, ttft':
        "high",  # +21.0%
    'R13 Llama-3.1-8B BF16, H100 (TP1), 467/16, 8/s, itl':
        "high",  # +74.6%
    'R13 Llama-3.1-8B BF16, H100 (TP1), 467/16, 16/s, ttft':
        "high",  # +29.3%
    'R13 Llama-3.1-8B BF16, H100 (TP1), 467/16, 16/s, itl':
        "high",  # +70.2%
    'R13 Llama-3.1-8B BF16, H100 (TP1), 467/16, 32/s, ttft':
        "high",  # +28.1%
    'R13 Llama-3.1-8B BF16, H100 (TP1), 467/16, 32/s, itl':
        "high",  # +75.5%
    'R13 Llama-3.1-8B BF16, H100 (TP1), 467/16, all at once, itl':
        "low",  # -24.1%
    'R13 Llama-3.1-8B BF16, H100 (TP1), 202/214, 2/s, itl':
        "high",  # +61.7%
    'R13 Llama-3.1-8B BF16, H100 (TP1), 202/214, 4/s, itl':
        "high",  # +43.9%
    'R13 Llama-3.1-8B BF16, H100 (TP1), 202/214, 8/s, itl':
        "high",  # +32.5%
    'R13 Llama-3.1-8B BF16, H100 (TP1), 202/214, 16/s, itl':
        "high",  # +28.4%
    'R13 Llama-3.1-8B BF16, H100 (TP1), 202/214, 32/s, itl':
        "high",  # +35.4%
    'R13 Llama-3.1-8B BF16, H100 (TP1), 202/214, all at once, itl':
        "high",  # +38.3%
    'R13 Llama-3.1-8B BF16, H100 (TP1), 202/214, all at once, throughput':
        "high",  # +65.2%
    'R13 Llama-3.1-70B BF16, H200 (TP4), 467/256, 8/s, ttft':
        "low",  # -20.1%
    'R13 Llama-3.1-70B BF16, H200 (TP4), 467/256, 8/s, itl':
        "low",  # -17.7%
    'R13 Llama-3.1-70B BF16, H200 (TP4), 467/256, 16/s, ttft':
        "low",  # -43.2%
    'R13 Llama-3.1-70B BF16, H200 (TP4), 467/256, 16/s, itl':
        "low",  # -40.3%
    'R13 Llama-3.1-70B BF16, H200 (TP4), 467/256, 32/s, ttft':
        "low",  # -26.7%
    'R13 Llama-3.1-70B BF16, H200 (TP4), 467/256, 32/s, itl':
        "low",  # -15.7%
    'R13 Llama-3.1-70B BF16, H200 (TP4), 467/256, all at once, itl':
        "low",  # -15.7%
    'R13 Llama-3.1-70B BF16, H200 (TP4), 467/16, 16/s, ttft':
        "low",  # -18.7%
    'R13 Llama-3.1-70B BF16, H200 (TP4), 467/16, 32/s, ttft':
        "low",  # -28.2%
    'R13 Llama-3.1-70B BF16, H200 (TP4), 467/16, 32/s, itl':
        "low",  # -20.6%
    'R13 Llama-3.1-70B BF16, H200 (TP4), 467/16, all at once, itl':
        "low",  # -29.4%
    'R13 Llama-3.1-70B BF16, H200 (TP4), 202/214, 4/s, ttft':
        "low",  # -15.1%
    'R13 Llama-3.1-70B BF16, H200 (TP4), 202/214, 8/s, ttft':
        "low",  # -19.2%
    'R13 Llama-3.1-70B BF16, H200 (TP4), 202/214, 16/s, ttft':
        "low",  # -30.3%
    'R13 Llama-3.1-70B BF16, H200 (TP4), 202/214, 16/s, itl':
        "low",  # -22.0%
    'R13 Llama-3.1-70B BF16, H200 (TP4), 202/214, 32/s, ttft':
        "low",  # -40.6%
    'R13 Llama-3.1-70B BF16, H200 (TP4), 202/214, all at once, throughput':
        "high",  # +82.1%
    'R13 Llama-3.1-8B BF16, H200 (TP1), 467/256, 2/s, ttft':
        "high",  # +18.8%
    'R13 Llama-3.1-8B BF16, H200 (TP1), 467/256, 2/s, itl':
        "high",  # +55.0%
    'R13 Llama-3.1-8B BF16, H200 (TP1), 467/256, 4/s, itl':
        "high",  # +37.7%
    'R13 Llama-3.1-8B BF16, H200 (TP1), 467/256, 8/s, itl':
        "high",  # +48.4%
    'R13 Llama-3.1-8B BF16, H200 (TP1), 467/256, 16/s, itl':
        "high",  # +36.2%
    'R13 Llama-3.1-8B BF16, H200 (TP1), 467/16, 2/s, itl':
        "high",  # +83.8%
    'R13 Llama-3.1-8B BF16, H200 (TP1), 467/16, 4/s, itl':
        "high",  # +57.0%
    'R13 Llama-3.1-8B BF16, H200 (TP1), 467/16, 8/s, itl':
        "high",  # +64.5%
    'R13 Llama-3.1-8B BF16, H200 (TP1), 467/16, 16/s, ttft':
        "high",  # +23.1%
    'R13 Llama-3.1-8B BF16, H200 (TP1), 467/16, 16/s, itl':
        "high",  # +56.8%
    'R13 Llama-3.1-8B BF16, H200 (TP1), 467/16, 32/s, ttft':
        "high",  # +19.9%
    'R13 Llama-3.1-8B BF16, H200 (TP1), 467/16, 32/s, itl':
        "high",  # +56.4%
    'R13 Llama-3.1-8B BF16, H200 (TP1), 467/16, all at once, itl':
        "low",  # -24.6%
    'R13 Llama-3.1-8B BF16, H200 (TP1), 202/214, 2/s, itl':
        "high",  # +51.9%
    'R13 Llama-3.1-8B BF16, H200 (TP1), 202/214, 4/s, itl':
        "high",  # +54.1%
    'R13 Llama-3.1-8B BF16, H200 (TP1), 202/214, 8/s, itl':
        "high",  # +36.1%
    'R13 Llama-3.1-8B BF16, H200 (TP1), 202/214, 16/s, itl':
        "high",  # +27.0%
    'R13 Llama-3.1-8B BF16, H200 (TP1), 202/214, 32/s, itl':
        "high",  # +28.4%
    'R13 Llama-3.1-8B BF16, H200 (TP1), 202/214, all at once, ttft':
        "low",  # -15.9%
    'R13 Llama-3.1-8B BF16, H200 (TP1), 202/214, all at once, itl':
        "high",  # +38.2%
    'R13 Llama-3.1-8B BF16, H200 (TP1), 202/214, all at once, throughput':
        "high",  # +62.6%
    'R3 Qwen3-235B-A22B (MoE) FP4, B200 (TP8), 128/128':
        "low",  # -19.5% (-12.7% before the all-reduce bus bandwidth)
    'R10 MLPerf v5.1 llama3.1-405b Offline, GB200 x4 (Azure), FP4, TP4 x 1':
        "low",  # -17.8% (-14.7% before the all-reduce bus bandwidth)
    'R11 Llama-3.1-70B FP16, H100 (TP8), 5000/500':
        "high",  # +16.7% (+14.9% before the all-reduce bus bandwidth)
    'R11 Mixtral-8x7B (MoE) FP16, H100 (TP4), 128/128':
        "high",  # +16.2% (+13.3% before the all-reduce bus bandwidth)
    'R11 Mixtral-8x7B (MoE) FP16, H100 (TP4), 2048/128':
        "high",  # +15.7% (+13.0% before the all-reduce bus bandwidth)
    'R13 Llama-3.1-70B BF16, H100 (TP4), 467/256, 32/s, itl':
        "low",  # -15.7% (-13.9% before the all-reduce bus bandwidth)
    'R13 Llama-3.1-8B BF16, H100 (TP1), 202/214, all at once, ttft':
        "low",  # -17.1% (-14.2% before the all-reduce bus bandwidth)
    'R13 Llama-3.1-70B BF16, H200 (TP4), 467/256, all at once, throughput':
        "high",  # +16.4% (+13.8% before the all-reduce bus bandwidth)
    'R13 Llama-3.1-70B BF16, H200 (TP4), 202/214, 32/s, itl':
        "low",  # -18.3% (-14.6% before the all-reduce bus bandwidth)
}
"""Held-out rows outside ±15% with the side they miss on ("high"/"low"), as documented."""


def _model(name: str) -> ModelSpec:
    if name in _GPT:
        layers, hidden, heads, params = _GPT[name]
        return model_from_dict(name, {"layers": layers, "hidden": hidden, "heads": heads,
                                      "kv_heads": heads, "params": params,
                                      "ffn_hidden": 4 * hidden, "vocab": 51200})
    return get_model(name)


def _col(values: Sequence[float]) -> np.ndarray:
    return np.asarray(values, dtype=float)


# -- training ------------------------------------------------------------------------------
def _slow_bw(sysm: SystemSpec, group_gpus: int) -> float:
    """Per-GPU bandwidth of a group: NVLink if it fits one NVLink domain, else the NIC."""
    return sysm.gpu.nvlink_bw if group_gpus <= sysm.nvlink_domain_gpus else sysm.gpu.nic_bw


def train_predictions(rows: Sequence[TrainRow] = TRAIN_ROWS) -> np.ndarray:
    """Tokens/s per GPU predicted for every row (one kernel call)."""
    models = [_model(r.model) for r in rows]
    systems = [CATALOG[r.system] for r in rows]
    n = len(rows)
    n_gpus = [r.tp * r.pp * r.dp * r.cp for r in rows]
    batch = TrainingBatch(
        params=_col([m.params for m in models]),
        active_params=_col([m.active_params for m in models]),
        layers=_col([m.layers for m in models]),
        hidden=_col([m.hidden for m in models]),
        tokens_per_step=_col([r.global_batch * r.seq_len for r in rows]),
        seq_len=_col([r.seq_len for r in rows]),
        n_gpus=_col(n_gpus),
        tp=_col([r.tp for r in rows]),
        pp=_col([r.pp for r in rows]),
        dp=_col([r.dp for r in rows]),
        peak_flops=_col([s.gpu.peak(r.precision) for r, s in zip(rows, systems, strict=True)]),
        mfu=np.full(n, math.nan),
        precision_code=np.asarray([PRECISION_CODES[r.precision] for r in rows]),
        nvlink_bw=_col([s.gpu.nvlink_bw for s in systems]),
        dp_bw=_col([_slow_bw(s, g) for s, g in zip(systems, n_gpus, strict=True)]),
        dp_alpha=np.full(n, IB_ALPHA),
        tp_alpha=np.full(n, TP_ALPHA),
        grad_bytes=np.full(n, 2.0),
        dp_overlap=np.full(n, DP_OVERLAP),
        virtual_stages=None if any(r.vp is None for r in rows) else _col([r.vp for r in rows]),
        cp=_col([r.cp for r in rows]),
        ep=_col([r.ep for r in rows]),
        micro_batch=_col([r.micro_batch for r in rows]),
        recompute_code=_col([RECOMPUTE_CODES[r.recompute] for r in rows]),
        attn_width=_col([m.attention_width for m in models]),
        expert_params=_col([m.expert_params for m in models]),
        active_experts=_col([m.active_experts for m in models]),
        moe_layers=_col([(m.moe_layers or m.layers) if m.is_moe else 0 for m in models]),
        ep_bw=_col([_slow_bw(s, r.ep * r.tp) for r, s in zip(rows, systems, strict=True)]),
        ep_alpha=_col([TP_ALPHA if r.ep * r.tp <= s.nvlink_domain_gpus else IB_ALPHA
                       for r, s in zip(rows, systems, strict=True)]),
        attn_peak_flops=_col([s.gpu.peak(ATTN_TRAIN_PRECISION) for s in systems]),
        attn_precision_code=np.full(n, PRECISION_CODES[ATTN_TRAIN_PRECISION]),
        experts=_col([m.experts for m in models]),
        ffn_hidden=_col([m.ffn_hidden for m in models]),
        hbm_bw=_col([s.gpu.hbm_bw for s in systems]),
        stream_eff=np.full(n, trn.STREAM_EFF),
    )
    if batch.virtual_stages is None:  # rows without a stated VP: the kernel's default
        vp = _col([math.nan if r.vp is None else r.vp for r in rows])
        batch = TrainingBatch(**{**batch.__dict__, "virtual_stages": vp})
    return trn.training_step_time(np, batch).tokens_per_gpu_s


# -- inference -----------------------------------------------------------------------------
def infer_batch(rows: Sequence[InferRow], batch: np.ndarray | None = None) -> InferenceBatch:
    """Kernel inputs for ``rows`` at ``batch`` sequences per replica (default 1)."""
    models = [get_model(r.model) for r in rows]
    systems = [CATALOG[r.system] for r in rows]
    n = len(rows)
    # attention data parallelism: the benchmark's MoE options turn it on, as the emulator
    # assumes for MoE services, unless the row says its runtime had none
    attention_dp = [m.is_moe if r.attention_dp is None else r.attention_dp
                    for r, m in zip(rows, models, strict=True)]
    return InferenceBatch(
        params=_col([m.params for m in models]),
        active_params=_col([m.active_params for m in models]),
        layers=_col([m.layers for m in models]),
        kv_heads=_col([m.kv_heads for m in models]),
        head_dim=_col([m.head_dim for m in models]),
        weight_bytes_per_param=_col([BYTES_PER_ELEMENT[r.precision] for r in rows]),
        kv_bytes_per_elem=_col([BYTES_PER_ELEMENT[r.kv_precision] for r in rows]),
        gpus_per_replica=_col([r.tp for r in rows]),
        peak_flops=_col([s.gpu.peak(r.precision) for r, s in zip(rows, systems, strict=True)]),
        hbm_bw=_col([s.gpu.hbm_bw for s in systems]),
        hbm_bytes=_col([s.gpu.hbm_bytes for s in systems]),
        prefill_eff=_col([inf.PREFILL_EFF[r.precision] for r in rows]),
        decode_bw_eff=np.full(n, inf.DEFAULT_DECODE_BW_EFF),
        mean_prompt=_col([r.prompt for r in rows]),
        mean_output=_col([r.output for r in rows]),
        batch=np.ones(n) if batch is None else batch,
        allreduce_bw=_col([s.gpu.allreduce_bw() for s in systems]),
        tp_alpha=np.full(n, TP_ALPHA),
        hidden=_col([m.hidden for m in models]),
        attn_width=_col([m.attention_width for m in models]),
        step_overhead_s=np.full(n, inf.STEP_OVERHEAD_S),
        expert_params=_col([m.expert_params for m in models]),
        experts=_col([m.experts for m in models]),
        active_experts=_col([m.active_experts for m in models]),
        attn_peak_flops=_col([s.gpu.peak(r.kv_precision)
                              for r, s in zip(rows, systems, strict=True)]),
        # with attention data parallelism one scheduler per rank (``serving_schedulers``);
        # the host's own speed by its CPU family (``HOST_FACTOR``)
        seq_overhead_s=inf.seq_overhead_s(
            _col([r.tp for r in rows]), attention_dp,
            [s.host_cpu for s in systems], [r.runtime for r in rows]),
        local_layers=_col([m.local_layers for m in models]),
        attn_window=_col([m.attention_window for m in models]),
        # the runtime's KV share of free memory where the row's configuration states it
        kv_free_fraction=_col([inf.DEFAULT_KV_FREE_FRACTION if r.kv_free_fraction is None
                               else r.kv_free_fraction for r in rows]),
        decode_attn_width=_col([m.decode_attention_width for m in models]),
        # with attention data parallelism every GPU holds the non-expert weights whole
        replicated_params=_col([m.non_expert_params if dp else 0.0
                                for m, dp in zip(models, attention_dp, strict=True)]),
    )


def _kv_bound_batch(rows: Sequence[InferRow], one: InferenceBatch) -> np.ndarray:
    """Sequences per replica at an offline (infinite-rate) run: as many as KV memory holds,
    at most ``MAX_BATCH_CAP`` and the row's configured ``batch_cap`` (0: none)."""
    caps = _col([r.batch_cap if r.batch_cap > 0 else MAX_BATCH_CAP for r in rows])
    return np.minimum(np.minimum(max_batch(np, one), MAX_BATCH_CAP), caps)


def offline_run_prediction(row: InferRow, batch: int) -> float:
    """Output tokens/s of the row's benchmark run: its ``requests`` queued at once on a
    replica holding at most ``batch`` of them, iteration by iteration
    (:func:`cupy_kernels.offline_run.offline_run_throughput`) on the kernels' step times
    (decode at every batch size up to ``batch``, the steady state's prefill seconds per
    prompt token, the host's seconds per running sequence) and trtllm-bench's token
    budget (:func:`trtllm_token_budget`)."""
    batch = max(int(batch), 1)
    sizes = infer_batch([row] * batch, np.arange(1, batch + 1, dtype=np.float64))
    gpu, host_s, _compute = inf.decode_split(np, sizes)
    decode = np.concatenate([[0.0], gpu])
    full = infer_batch([row], np.array([float(batch)]))
    prompt_tokens = batch * row.prompt / max(row.output - 1, inf.MIN_DECODE_STEPS)  # per step
    per_token = float(inf.chunked_prefill_time(np, full)[0]) / prompt_tokens
    host = float(host_s[0])  # the host's time for one sequence (batch 1)
    return offline_run_throughput(
        row.prompt, row.output, row.requests, batch,
        trtllm_token_budget(batch, row.prompt, row.output), decode.tolist(), per_token,
        host, idle_s=float(decode[1]))


def infer_predictions(rows: Sequence[InferRow] = INFER_ROWS) -> np.ndarray:
    """Predicted value of every inference row, in the row's own unit: a throughput row
    whose benchmark states its request count is predicted for that finite run
    (:func:`offline_run_prediction`), the others at the steady state."""
    one = infer_batch(rows)
    fits = _kv_bound_batch(rows, one)
    batch = np.where(_col([r.batch for r in rows]) > 0, _col([r.batch for r in rows]), fits)
    b = infer_batch(rows, np.maximum(batch, 1.0))
    tput = inf.replica_throughput(np, b)
    for i, row in enumerate(rows):
        if row.kind == "throughput" and row.requests > 0 and OFFLINE_RUNS:
            tput[i] = offline_run_prediction(row, int(batch[i]))
    ttft = prefill_time(np, one, one.mean_prompt)
    itl = decode_step_time(np, one)
    kind = np.asarray([r.kind for r in rows])
    return np.where(kind == "throughput", tput, np.where(kind == "ttft", ttft, itl))


# -- power ---------------------------------------------------------------------------------
def serving_power_util(rows: Sequence[InferRow], caps: Sequence[int]) -> np.ndarray:
    """The GPU duty cycle the emulator gives each saturated serving workload (the power
    model's utilisation, 0..1), as :class:`emulator.serving.ServingModel` sets a replica's:
    the prefill share at 1, the rest at the decode step's power utilisation (its compute
    fraction at 1, memory-bound streaming at ``MEMORY_BOUND_UTIL``, host waits idle:
    ``decode_power_util``).
    Each replica holds as many sequences as KV memory allows, up to ``caps``."""
    one = infer_batch(rows)
    fits = _kv_bound_batch(rows, one)
    b = infer_batch(rows, np.maximum(np.minimum(fits, _col(list(caps))), 1.0))
    gpu, host, compute = inf.decode_split(np, b)
    decode_util = decode_power_util(np, np.maximum(gpu, host), gpu, compute)
    prefill = inf.chunked_prefill_time(np, b)
    share = prefill / np.maximum(gpu + prefill, host)
    return np.clip(share + (1.0 - share) * decode_util, 0.0, 1.0)


def power_predictions(rows: Sequence[PowerRow] = POWER_ROWS) -> np.ndarray:
    """Node or rack power (W) of every power row: its GPUs at ``util`` (a serving row's
    from :func:`serving_power_util`) plus their share of the non-GPU power the engine
    draws (the catalog's nameplate overheads times ``NODE_OVERHEAD_DRAW``), interpolated
    between idle and full load by ``util``."""
    served = [r for r in rows if r.serving is not None]
    utils = dict(zip([r.name for r in served], serving_power_util(
        [r.serving for r in served], [r.serving_batch_cap for r in served]).tolist(),
        strict=True)) if served else {}
    out = []
    for r in rows:
        util = utils.get(r.name, r.util)
        sysm = CATALOG[r.system]
        gpus_w = gpu_power(np, np.full(r.gpus, util), sysm.gpu.idle_w, sysm.gpu.tdp_w)
        draw = NODE_OVERHEAD_DRAW * r.gpus / sysm.gpus_per_rack  # the engine's overheads
        node = rack_power(np, gpus_w, np.zeros(r.gpus, dtype=np.int64), 1,
                          sysm.rack_overhead_idle_w * draw, sysm.rack_overhead_full_w * draw,
                          util)
        out.append(float(node[0]))
    return _col(out)


def nvl72_full_load_w() -> float:
    """GB200 NVL72 rack power with every GPU at util 1 and the catalog's nameplate
    overheads (the provisioned figure that halls are sized by), W."""
    sysm = GB200_NVL72
    n = sysm.gpus_per_rack
    w = gpu_power(np, np.ones(n), sysm.gpu.idle_w, sysm.gpu.tdp_w)
    rack = rack_power(np, w, np.zeros(n, dtype=np.int64), 1, sysm.rack_overhead_idle_w,
                      sysm.rack_overhead_full_w, np.ones(1))
    return float(rack[0])


def _err(pred: float, pub: float) -> float:
    return pred / pub - 1.0


Row = TrainRow | InferRow | PowerRow | OnlineRow


def round_of(row: Row) -> int:
    """Validation round of a row: 2 ("R2 ") or 3 ("R3 ") for the rows added before that
    round's model terms, 4 and 5 ("R4 ", "R5 ") for the blind checks of the third round's
    model, 6 ("R6 ") for the power rows added before the node-power term, 7 ("R7 ") for the
    Llama 4 rows added before the local-attention and host-CPU terms, 8 ("R8 ") for the
    Mixtral rows checking the model after round 7, 9 ("R9 ") for the Llama 3.1 rows added
    before the runtime term, 10 ("R10 ") for the MLPerf rows added before the KV-pool term,
    11 and 12 for the TensorRT-LLM v0.14 and v0.20 rows across TP sizes, 13 for the serving
    runs under load, 1 for the first pass."""
    for n in (10, 11, 12, 13, 2, 3, 4, 5, 6, 7, 8, 9):
        if row.name.startswith(f"R{n} "):
            return n
    return 1


def all_rows() -> list[tuple[Row, float]]:
    """(row, prediction) for every row: rounds 1 to 13, training, serving, serving under
    load and power."""
    train = (*TRAIN_ROWS, *TRAIN_ROWS_R2, *TRAIN_ROWS_R3)
    infer = (*INFER_ROWS, *INFER_ROWS_R2, *INFER_ROWS_R3, *INFER_ROWS_R4, *INFER_ROWS_R5,
             *INFER_ROWS_R7, *INFER_ROWS_R8, *INFER_ROWS_R9, *INFER_ROWS_R10,
             *INFER_ROWS_R11, *INFER_ROWS_R12)
    return [*zip(train, train_predictions(train), strict=True),
            *zip(infer, infer_predictions(infer), strict=True),
            *zip(POWER_ROWS, power_predictions(), strict=True),
            *zip(ONLINE_ROWS_R13, online_predictions(ONLINE_ROWS_R13), strict=True)]


_ROWS = all_rows()


@pytest.mark.parametrize("i", range(len(_ROWS)), ids=[r.name for r, _ in _ROWS])
def test_row_within_tolerance(i: int) -> None:
    row, pred = _ROWS[i]
    err = _err(float(pred), row.published)
    if row.name in KNOWN_MISSES:
        assert abs(err) > TOLERANCE  # if it now fits, update docs/validation.md
        assert (err > 0) == (KNOWN_MISSES[row.name] == "high")
    else:
        assert abs(err) <= TOLERANCE, f"{row.name}: {err:+.1%}"


def test_split_has_enough_held_out_rows() -> None:
    roles = [r.role for r, _ in _ROWS]
    assert len(roles) >= 30
    assert sum(r == "held out" for r in roles) >= len(roles) / 2


def test_round_two_rows_are_held_out_except_the_anchors_of_later_terms() -> None:
    second = [r for r, _ in _ROWS if round_of(r) == 2]
    r2_power = [r for r in POWER_ROWS if round_of(r) == 2]
    assert len(second) == len(TRAIN_ROWS_R2) + len(INFER_ROWS_R2) + len(r2_power) > 0
    fitted = {r.name: r.role for r in second if r.role != "held out"}
    assert fitted == R2_FITTED  # every anchor names a real round-2 row
    assert sorted(fitted.values()) == ["fitted: MOE_EXPERT_HOST_S", "fitted: NODE_OVERHEAD_DRAW",
                                       "fitted: SEQ_STEP_OVERHEAD_S"]
    assert hasattr(trn, "MOE_EXPERT_HOST_S") and hasattr(inf, "SEQ_STEP_OVERHEAD_S")
    assert NODE_OVERHEAD_DRAW > 0


def test_round_three_rows_are_held_out_and_never_fitted() -> None:
    third = [r for r, _ in _ROWS if round_of(r) == 3]
    assert len(third) == len(TRAIN_ROWS_R3) + len(INFER_ROWS_R3) == 83
    assert all(r.role == "held out" for r in third)


def test_rounds_four_and_five_are_held_out_except_the_anchor_of_a_later_term() -> None:
    fourth = [r for r, _ in _ROWS if round_of(r) == 4]
    fifth = [r for r, _ in _ROWS if round_of(r) == 5]
    assert len(fourth) == len(INFER_ROWS_R4) == 62
    assert len(fifth) == len(INFER_ROWS_R5) == 45
    assert {r.name for r in fourth if r.role != "held out"} == set(R4_FITTED)
    assert all(r.role == R4_FITTED[r.name] for r in fourth if r.name in R4_FITTED)
    assert all(r.role == "held out" for r in fifth)


def test_round_six_power_rows_are_held_out_and_never_fitted() -> None:
    sixth = [r for r, _ in _ROWS if round_of(r) == 6]
    assert len(sixth) == 10 and all(isinstance(r, PowerRow) for r in sixth)
    assert all(r.role == "held out" for r in sixth)
    served = [r for r in sixth if r.serving is not None]
    assert len(served) == 7 and all(r.serving_batch_cap > 0 for r in served)


def test_round_seven_rows_are_held_out_and_never_fitted() -> None:
    seventh = [r for r, _ in _ROWS if round_of(r) == 7]
    assert len(seventh) == len(INFER_ROWS_R7) == 80
    assert all(r.role == "held out" for r in seventh)
    assert {r.model for r in seventh} == {"llama4-scout", "llama4-maverick"}


def test_round_eight_rows_are_held_out_except_the_anchor_of_a_later_term() -> None:
    eighth = [r for r, _ in _ROWS if round_of(r) == 8]
    assert len(eighth) == len(INFER_ROWS_R8) == 99
    assert all(r.model == "mixtral-8x7b" for r in eighth)
    assert {r.name for r in eighth if r.role != "held out"} == set(R8_FITTED)
    assert all(r.attention_dp is False and r.runtime == "cpp" for r in eighth)  # v0.17


def test_round_nine_rows_are_held_out_except_the_anchor_of_round_elevens_term() -> None:
    ninth = [r for r, _ in _ROWS if round_of(r) == 9]
    assert len(ninth) == len(INFER_ROWS_R9) == 131
    assert all(r.runtime == "cpp" for r in ninth)
    assert {r.name for r in ninth if r.role != "held out"} == set(R9_FITTED)
    assert {r.model for r in ninth} == {"llama3-8b", "llama3-70b", "llama3-405b"}


def test_round_ten_rows_are_held_out_and_never_fitted() -> None:
    tenth = [r for r, _ in _ROWS if round_of(r) == 10]
    assert len(tenth) == len(INFER_ROWS_R10) == 8
    assert all(r.role == "held out" and r.runtime == "cpp" for r in tenth)
    assert all(r.batch_cap > 0 and r.kv_free_fraction in (0.9, 0.95) for r in tenth)
    assert {r.model for r in tenth} == {"llama2-70b", "llama3-8b", "llama3-405b"}


def test_round_eleven_rows_are_chosen_by_their_rule() -> None:
    """Round 11 (TensorRT-LLM v0.14 across TP sizes) is held out, on the compiled runtime,
    one row per non-empty cell of the rule's four columns, and in the table."""
    rows = INFER_ROWS_R11
    assert [r for r, _ in _ROWS if round_of(r) == 11] == list(rows)
    assert len(rows) == len({r.name for r in rows}) == 273
    assert all(r.role == "held out" and r.runtime == "cpp" and r.attention_dp is False
               and r.batch == 0 and r.name.startswith("R11 ") for r in rows)
    counts = {m: sum(r.model == m for r in rows)
              for m in ("llama3-8b", "llama3-70b", "llama3-405b", "mixtral-8x7b")}
    assert counts == {"llama3-8b": 36, "llama3-70b": 120, "llama3-405b": 9,
                      "mixtral-8x7b": 108}
    assert {(r.system, r.precision, r.kv_precision) for r in rows} == {
        ("h200-hgx", "fp8", "fp8"), ("h100-hgx", "fp8", "fp8"),
        ("h100-hgx", "bf16", "bf16"), ("dgx-a100", "bf16", "bf16")}
    assert {r.tp for r in rows} == {1, 2, 4, 8}


def test_round_twelve_rows_are_chosen_by_their_rule() -> None:
    """Round 12 (TensorRT-LLM v0.20, PyTorch backend, across TP sizes) is held out, one row
    per non-empty cell of the page's throughput tables, with the page's request counts."""
    rows = INFER_ROWS_R12
    assert [r for r, _ in _ROWS if round_of(r) == 12] == list(rows)
    assert len(rows) == len({r.name for r in rows}) == 180
    assert all(r.role == "held out" and r.runtime == "python" and r.attention_dp is False
               and r.batch == 0 and r.kv_precision == "fp8" and r.kv_free_fraction == 0.95
               and r.name.startswith("R12 ") for r in rows)
    assert all(r.requests == TRT_REQUESTS.get((r.prompt, r.output), 0) for r in rows)
    assert sum(r.requests == 0 for r in rows) == 20  # 1024/2048: no count on the page
    counts = {(m, p): sum(r.model == m and r.precision == p for r in rows)
              for m in ("llama3-8b", "llama3-70b", "llama3-405b", "llama4-maverick")
              for p in ("fp4", "fp8")}
    assert counts == {("llama3-8b", "fp4"): 0, ("llama3-8b", "fp8"): 20,
                      ("llama3-70b", "fp4"): 40, ("llama3-70b", "fp8"): 73,
                      ("llama3-405b", "fp4"): 20, ("llama3-405b", "fp8"): 14,
                      ("llama4-maverick", "fp4"): 0, ("llama4-maverick", "fp8"): 13}
    assert {r.system for r in rows} == {"b200-hgx", "h200-hgx", "h100-hgx"}
    assert {r.tp for r in rows} == {1, 2, 4, 8}


def test_round_thirteen_rows_are_chosen_by_their_rule() -> None:
    """Round 13 (the v0.14 page's serving runs under load) is held out: TTFT and ITL at
    every request rate, output throughput at the infinite one, for four model-GPU pairs
    at three length pairs."""
    rows = ONLINE_ROWS_R13
    assert [r for r, _ in _ROWS if round_of(r) == 13] == list(rows)
    assert len(rows) == len({r.name for r in rows}) == 4 * 3 * (6 * 2 + 1)
    assert all(r.role == "held out" and r.runtime == "cpp" and not r.chunked_prefill
               and r.precision == "bf16" and r.requests == 500
               and r.name.startswith("R13 ") for r in rows)
    assert {(r.model, r.system, r.tp) for r in rows} == {
        ("llama3-70b", "h100-hgx", 4), ("llama3-8b", "h100-hgx", 1),
        ("llama3-70b", "h200-hgx", 4), ("llama3-8b", "h200-hgx", 1)}
    assert {(r.prompt, r.output) for r in rows} == {(467, 256), (467, 16), (202, 214)}
    assert sorted({r.qps for r in rows if r.kind == "ttft"}) == [2, 4, 8, 16, 32, math.inf]
    assert all(math.isinf(r.qps) for r in rows if r.kind == "throughput")


def test_round_fourteen_rows_record_their_pages_request_counts() -> None:
    """Round 14 gives every trtllm-bench row of rounds 1 to 9 its page's ``$num_requests``
    (so round 12's finite-run term applies to it): the v1.0 and v0.17 pages' table, or the
    five lengths of the 585c756 and release/1.2 pages; static batches and other sources
    keep none."""
    earlier = (*INFER_ROWS, *INFER_ROWS_R2, *INFER_ROWS_R3, *INFER_ROWS_R4, *INFER_ROWS_R5,
               *INFER_ROWS_R7, *INFER_ROWS_R8, *INFER_ROWS_R9)
    tables = {TRT10: TRT_REQUESTS, TRT017: TRT_REQUESTS, TRT12: TRT12_REQUESTS,
              TRT12B: TRT12_REQUESTS}
    for r in earlier:
        table = tables.get(r.source)
        want = (table.get((r.prompt, r.output), 0)
                if table is not None and r.kind == "throughput" and r.batch == 0 else 0)
        assert r.requests == want, r.name
    # the pages' tables, as printed on them
    assert TRT12_REQUESTS == {(1024, 1024): 3000, (8192, 1024): 1500, (1024, 8192): 1500,
                              (32768, 1024): 1000, (1024, 32768): 1000}
    assert TRT_REQUESTS == {(128, 128): 30000, (128, 2048): 3000, (128, 4096): 1500,
                            (1000, 2000): 1500, (2048, 128): 3000, (2048, 2048): 1500,
                            (5000, 500): 1500, (1000, 1000): 3000, (500, 2000): 3000,
                            (20000, 2000): 1000}
    counted = [r for r in earlier if r.requests > 0]
    assert len(counted) == 505
    # the 585c756 pages list no 1000/1000 count: those cells keep the steady state
    assert sum(r.requests == 0 and r.source == TRT12 and r.kind == "throughput"
               for r in earlier) == 16
    assert {r.requests for r in counted} == {1000, 1500, 3000, 30000}


def test_round_fourteens_terms_leave_the_blind_rounds_rows_alone() -> None:
    """Neither of round 14's terms reaches rounds 10 and 12 (dense models, or MoE without
    attention data parallelism), so those rounds moved only through the refit."""
    rows = (*INFER_ROWS_R10, *INFER_ROWS_R12)
    b = infer_batch(rows)
    assert np.all(b.replicated_params == 0.0)
    np.testing.assert_array_equal(b.decode_attn_width, b.attn_width)


def test_families_cover_every_held_out_row_once() -> None:
    """The planner's table (``--families``) partitions the held-out rows, and its
    figures are those of the rows it groups."""
    table = families(_ROWS)
    held = [(r, p) for r, p in _ROWS if r.role == "held out"]
    assert sum(n for n, *_ in table.values()) == len(held)
    for name, (n, ok, med, lo, hi) in table.items():
        e = np.array([_err(float(p), r.published) for r, p in held if family(r) == name])
        assert n == len(e) and ok == int((np.abs(e) <= TOLERANCE).sum())
        assert med == float(np.median(e)) and lo <= med <= hi
    assert "serving throughput, dense, Hopper, TP8" in table


def test_packaged_serving_bias_is_the_validation_table() -> None:
    """``emulator.validation_bias`` (what ``gpuemu validate`` prints) holds the table's
    serving-throughput families; after a model term or a new round, paste the lines the
    failure prints."""
    expected = {k: FamilyError(n, ok, round(med, 4), round(lo, 4), round(hi, 4))
                for k, (n, ok, med, lo, hi) in families(_ROWS).items()
                if k.startswith("serving throughput")}
    paste = "\n".join(f'    "{k}": FamilyError({e.rows}, {e.within}, {e.median:.4f}, '
                      f"{e.p10:.4f}, {e.p90:.4f})," for k, e in expected.items())
    assert expected == SERVING_THROUGHPUT, "emulator/validation_bias.py is stale:\n" + paste


def test_blackwell_training_misses_sit_on_the_fp4_side() -> None:
    """What ``docs/kernels.md`` says of fp4 training on Blackwell (the fp4 floor in
    ``emulator/compute.py``): the held-out fp8 rows there are unbiased, every held-out
    NVFP4 row is predicted low, and the model has NVFP4 no faster than MXFP8 on the same
    GB200 configuration where the published runs are 1.3x to 1.46x. If a change moves any
    of this, update that paragraph (and the floor's docstring)."""
    blackwell = {"gb200-nvl72", "b200-hgx", "gb300-nvl72"}
    held = [(r, _err(float(p), r.published)) for r, p in _ROWS
            if isinstance(r, TrainRow) and r.role == "held out" and r.system in blackwell]
    fp8 = [e for r, e in held if r.precision == "fp8"]
    fp4 = [e for r, e in held if r.precision == "fp4"]
    assert len(fp8) == 31 and abs(float(np.median(fp8))) < 0.02
    assert len(fp4) == 4 and max(fp4) < 0.0
    pred = {r.name: float(p) for r, p in _ROWS}
    pub = {r.name: r.published for r, _ in _ROWS}
    for mx, nv in (("R3 Llama3-70B FP8-MX, 64 GB200, TP2 PP4 VP5, GBS 256",
                    "R3 Llama3-70B NVFP4, 64 GB200, TP2 PP4 VP5, GBS 256"),
                   ("R3 Llama3.1-405B FP8-MX, 256 GB200, TP4 PP16 VP8, GBS 1536",
                    "R3 Llama3.1-405B NVFP4, 256 GB200, TP4 PP16 VP8, GBS 1536")):
        assert pub[nv] / pub[mx] > 1.25
        assert pred[nv] / pred[mx] < 1.0


def test_nvl72_rack_full_load_is_about_120_kw() -> None:
    assert abs(_err(nvl72_full_load_w(), 120e3)) <= TOLERANCE


# -- fitting and the table -----------------------------------------------------------------
def _bisect(f: object, lo: float, hi: float) -> float:
    """Root of the monotone ``f`` on ``[lo, hi]`` (60 halvings)."""
    flo = f(lo)  # type: ignore[operator]
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        fm = f(mid)  # type: ignore[operator]
        if (fm > 0) == (flo > 0):
            lo, flo = mid, fm
        else:
            hi = mid
    return 0.5 * (lo + hi)


def fit() -> dict[str, float]:
    """Refit every constant to its *fitted* row only; held-out rows are not looked at."""
    fitted = [r for r in (*TRAIN_ROWS, *TRAIN_ROWS_R2, *INFER_ROWS, *INFER_ROWS_R2,
                          *INFER_ROWS_R4, *INFER_ROWS_R8, *INFER_ROWS_R9)
              if r.role.startswith("fitted")]

    def row_err(row: TrainRow | InferRow) -> float:
        pred = (train_predictions([row]) if isinstance(row, TrainRow)
                else infer_predictions([row]))[0]
        return _err(float(pred), row.published)

    def setter(name: str):  # type: ignore[no-untyped-def]
        if name.startswith("EFF_MAX["):
            code = PRECISION_CODES[name[8:-1]]

            def set_eff(x: float) -> None:
                eff = list(trn.EFF_MAX)
                eff[code] = x
                trn.EFF_MAX = tuple(eff)  # type: ignore[assignment]
            return set_eff, 0.05, 1.0
        if name.startswith("PREFILL_EFF["):
            key = name[12:-1]
            return (lambda x: inf.PREFILL_EFF.__setitem__(key, x)), 0.05, 1.0
        if name == "DECODE_BW_EFF":
            return (lambda x: setattr(inf, "DEFAULT_DECODE_BW_EFF", x)), 0.3, 1.0
        if name == "STEP_OVERHEAD_S":
            return (lambda x: setattr(inf, "STEP_OVERHEAD_S", x)), 0.0, 0.02
        if name == "SEQ_STEP_OVERHEAD_S":
            return (lambda x: setattr(inf, "SEQ_STEP_OVERHEAD_S", x)), 0.0, 500e-6
        if name.startswith("HOST_FACTOR["):
            cpu = name[12:-1]
            return (lambda x: inf.HOST_FACTOR.__setitem__(cpu, x)), 0.5, 3.0
        if name.startswith("RUNTIME_HOST_FACTOR["):
            runtime = name[20:-1]
            return (lambda x: inf.RUNTIME_HOST_FACTOR.__setitem__(runtime, x)), 0.01, 2.0
        if name == "TP_COMM_BW_EFF":
            return (lambda x: setattr(inf, "TP_COMM_BW_EFF", x)), 0.05, 1.0
        if name == "MOE_EXPERT_HOST_S":
            return (lambda x: setattr(trn, "MOE_EXPERT_HOST_S", x)), 0.0, 0.01
        if name == "MICRO_BATCH_HALF_TOKENS":
            return (lambda x: setattr(trn, "MICRO_BATCH_HALF_TOKENS", x)), 0.0, 20000.0
        raise KeyError(name)

    out: dict[str, float] = {}
    for _ in range(12):  # the constants interact a little: iterate to a fixed point
        for row in fitted:
            name = row.role.split(": ", 1)[1]
            set_x, lo, hi = setter(name)

            def f(x: float, set_x=set_x, row=row) -> float:  # type: ignore[no-untyped-def]
                set_x(x)
                return row_err(row)
            out[name] = _bisect(f, lo, hi)
            set_x(out[name])
    return out


def _fmt(row: Row, v: float) -> str:
    if isinstance(row, TrainRow):
        return f"{v:,.0f} tok/s/GPU"
    if isinstance(row, PowerRow):
        return f"{v / 1e3:,.2f} kW"
    if isinstance(row, OnlineRow) and row.kind != "throughput":
        return f"{v * 1e3:,.0f} ms"
    if row.kind == "throughput":
        return f"{v:,.0f} tok/s"
    return f"{v * 1e3:,.1f} ms"


def _config(row: Row) -> str:
    if isinstance(row, TrainRow):
        return (f"{row.precision}, TP{row.tp} PP{row.pp} DP{row.dp} CP{row.cp} EP{row.ep}, "
                f"MBS {row.micro_batch}, seq {row.seq_len}, GBS {row.global_batch}, "
                f"recompute {row.recompute}")
    if isinstance(row, PowerRow) and row.serving is not None:
        w = row.serving
        return (f"{row.system}, {row.gpus} GPUs serving {w.model} {w.precision} weights, "
                f"{w.kv_precision} KV, TP{w.tp}, batch up to {row.serving_batch_cap} "
                f"(KV-bound), {w.prompt} in / {w.output} out, {row.statistic}")
    if isinstance(row, PowerRow):
        return f"{row.system}, {row.gpus} GPUs at util {row.util:g}, {row.statistic}"
    if isinstance(row, OnlineRow):
        rate = "all at once" if math.isinf(row.qps) else f"Poisson at {row.qps:g}/s"
        return (f"{row.precision} weights, TP{row.tp}, {row.prompt} in / {row.output} out, "
                f"{row.requests} requests, {rate}, runtime {row.runtime}, "
                f"{'chunked prefill' if row.chunked_prefill else 'whole prompts with the decode'}, "
                "serving simulation")
    b = "max (KV-bound)" if row.batch == 0 else str(row.batch)
    run = f", {row.requests:,} requests queued at once" if row.requests else ""
    return (f"{row.precision} weights, {row.kv_precision} KV, TP{row.tp}, batch {b}, "
            f"{row.prompt} in / {row.output} out{run}")


def summary(rows: Sequence[tuple[Row, float]]) -> dict[str, tuple[int, int, float]]:
    """(rows, rows within ±15%, median |error|) for every group the docs report."""
    groups: dict[str, list[float]] = {
        "all rows": [], "held out, round 1 (seen)": [], "held out, round 2 (seen)": [],
        "held out, round 3 (seen)": [], "round 3 training (seen)": [],
        "round 3 serving (seen)": [], "held out, round 4 (seen)": [],
        "held out, round 5 (seen)": [], "held out, round 6 (blind, power)": [],
        "held out, round 7 (seen)": [], "held out, round 8 (seen)": [],
        "held out, round 9 (seen)": [], "held out, round 10 (blind)": [],
        "held out, round 11 (seen)": [], "held out, round 12 (blind)": [],
        "held out, round 13 (seen, under load)": [], "power rows": []}
    for row, pred in rows:
        e = abs(_err(float(pred), row.published))
        groups["all rows"].append(e)
        if isinstance(row, PowerRow):
            groups["power rows"].append(e)
        if row.role == "held out":
            n = round_of(row)
            # rounds 1-5, 7, 8, 9, 11 and 13 have been seen by later terms (7 by round 14's
            # attention data parallelism, 13 by the decode at the load each request runs
            # under); 6, 10 and 12 are blind
            label = {6: "(blind, power)", 10: "(blind)", 12: "(blind)",
                     13: "(seen, under load)"}.get(n, "(seen)")
            groups[f"held out, round {n} {label}"].append(e)
            if n == 3:
                kind = "training" if isinstance(row, TrainRow) else "serving"
                groups[f"round 3 {kind} (seen)"].append(e)
    return {k: (len(v), sum(x <= TOLERANCE for x in v), float(np.median(v)) if v else 0.0)
            for k, v in groups.items()}


def family(row: Row) -> str:
    """The configuration family of ``row`` for the planner's table: what is predicted
    (training, serving throughput, serving latency, serving under load, power), dense or
    MoE, the GPU generation, and for serving throughput the tensor-parallel size."""
    if isinstance(row, PowerRow):
        return "power (node or rack)"
    gen = GENERATION[CATALOG[row.system].gpu.name]
    if isinstance(row, TrainRow):
        moe = "MoE" if _model(row.model).is_moe else "dense"
        return f"training, {moe}, {gen}"
    if isinstance(row, OnlineRow):
        moe = "MoE" if get_model(row.model).is_moe else "dense"
        what = "throughput" if row.kind == "throughput" else row.kind.upper()
        arrivals = "all at once" if math.isinf(row.qps) else "Poisson arrivals"
        return f"serving under load ({what}, {arrivals}), {moe}, {gen}"
    if row.kind != "throughput":
        moe = "MoE" if get_model(row.model).is_moe else "dense"
        return f"serving latency ({row.kind.upper()}), {moe}, {gen}"
    return serving_family(get_model(row.model).is_moe, gen, row.tp)


def families(rows: Sequence[tuple[Row, float]]) -> dict[str, tuple[int, int, float, float,
                                                                      float]]:
    """Per :func:`family`, over the held-out rows: (rows, rows within ±15%, median signed
    error, 10th and 90th percentile of the signed error). A positive error means the model
    predicts more than was published (throughput too high, latency or power too high)."""
    errs: dict[str, list[float]] = {}
    for row, pred in rows:
        if row.role == "held out":
            errs.setdefault(family(row), []).append(_err(float(pred), row.published))
    out = {}
    for k in sorted(errs):
        e = np.array(errs[k])
        out[k] = (len(e), int((np.abs(e) <= TOLERANCE).sum()), float(np.median(e)),
                  float(np.percentile(e, 10)), float(np.percentile(e, 90)))
    return out


def _report(label: str, rows: Sequence[InferRow],
            groups: Sequence[tuple[str, np.ndarray]]) -> None:
    """One line: rows within ±15% and the median |error| of ``rows``, per group mask."""
    pred = infer_predictions(rows)
    err = np.array([abs(_err(float(p), r.published)) for p, r in zip(pred, rows, strict=True)])
    print(f"{label}: " + "; ".join(
        f"{name} {int((err[m] <= TOLERANCE).sum())}/{int(m.sum())} within, median "
        f"{np.median(err[m]):.1%}" for name, m in groups))


_MARKETED_HBM = {"H100 SXM": 80e9, "A100 SXM 80GB": 80e9, "H200 SXM": 141e9,
                 "B200 (HGX)": 180e9, "B200 (GB200)": 186e9, "H800 SXM": 80e9,
                 "B300 (GB300)": 288e9}  # the catalog's memory before round 10
_SAVED: dict[str, Any] = {}


def _without_kv_pool_term() -> None:
    """Switch round 10's term off: the marketed memory, ``0.9·tp·hbm - weights`` as the KV
    pool, and the decode constants as fitted before it (module state; see ``ablate``)."""
    import topologies.catalog as catalog

    _SAVED.update(catalog=dict(catalog.CATALOG), max_batch=globals()["max_batch"],
                  consts=(inf.DEFAULT_DECODE_BW_EFF, inf.PREFILL_EFF["fp8"],
                          inf.STEP_OVERHEAD_S))
    for k, sysm in list(catalog.CATALOG.items()):
        if sysm.gpu.name in _MARKETED_HBM:
            catalog.CATALOG[k] = replace(sysm, gpu=replace(
                sysm.gpu, hbm_bytes=_MARKETED_HBM[sysm.gpu.name]))

    def old_rule(xp: Any, b: InferenceBatch) -> Any:
        tp = b.gpus_per_replica
        free = 0.9 * tp * b.hbm_bytes - inf.replica_weight_bytes(xp, b)
        length = b.mean_prompt + b.mean_output
        per_seq = length * inf._kv_per_token(xp, b) * inf._kv_layer_fraction(xp, b, length)
        return xp.floor(xp.maximum(free, 0.0) / per_seq)

    globals()["max_batch"] = old_rule
    inf.DEFAULT_DECODE_BW_EFF, inf.PREFILL_EFF["fp8"], inf.STEP_OVERHEAD_S = 0.70, 0.582, 0.0041


def _with_kv_pool_term() -> None:
    """Undo :func:`_without_kv_pool_term`."""
    import topologies.catalog as catalog

    catalog.CATALOG.clear()
    catalog.CATALOG.update(_SAVED["catalog"])
    globals()["max_batch"] = _SAVED["max_batch"]
    inf.DEFAULT_DECODE_BW_EFF, inf.PREFILL_EFF["fp8"], inf.STEP_OVERHEAD_S = _SAVED["consts"]


def ablate() -> None:
    """Print the rows of rounds 7 to 12 with each of their terms switched off in turn
    (round 12: steady-state throughput instead of the finite offline run; round 11: the
    all-reduces at the full NVLink rate, with ``PREFILL_EFF[bf16]`` as
    fitted before; round 7: the Grace host factor set to 1, the Llama 4 models without local layers;
    round 9: the compiled runtime's host factor set to 1; round 10 and the rounds that
    motivated it: the KV pool of before round 10, 0.9 of the marketed memory less the
    weights, with the constants fitted then), and round 8 with and without round 9's
    term: the evidence for each term. Changes module state; run it in its own process."""
    import workloads.models as models

    global OFFLINE_RUNS
    r12 = INFER_ROWS_R12
    groups12 = (("all", np.ones(len(r12), dtype=bool)),
                *((f"TP{tp}", np.array([r.tp == tp for r in r12])) for tp in (1, 2, 4, 8)),
                ("request count stated", np.array([r.requests > 0 for r in r12])))
    every11 = (("all", np.ones(len(INFER_ROWS_R11), dtype=bool)),)
    _report("round 12 (blind), with the offline-run term", r12, groups12)
    _report("round 11 (seen), with it", INFER_ROWS_R11, every11)
    OFFLINE_RUNS = False
    _report("round 12, without it (steady state)", r12, groups12)
    _report("round 11, without it", INFER_ROWS_R11, every11)
    OFFLINE_RUNS = True
    r11 = INFER_ROWS_R11
    groups11 = (("all", np.ones(len(r11), dtype=bool)),
                *((f"TP{tp}", np.array([r.tp == tp for r in r11])) for tp in (1, 2, 4, 8)))
    every9_ = (("all", np.ones(len(INFER_ROWS_R9), dtype=bool)),)
    _report("round 11 (blind), with the all-reduce term", r11, groups11)
    _report("round 9 (seen, one row fitted), with it", INFER_ROWS_R9, every9_)
    comm, bf16 = inf.TP_COMM_BW_EFF, inf.PREFILL_EFF["bf16"]
    # the model before the term (full rate: the bus bandwidth since after round 14, the link
    # rate before)
    inf.TP_COMM_BW_EFF, inf.PREFILL_EFF["bf16"] = 1.0, 0.673
    _report("round 11, without it", r11, groups11)
    _report("round 9, without it", INFER_ROWS_R9, every9_)
    inf.TP_COMM_BW_EFF, inf.PREFILL_EFF["bf16"] = comm, bf16
    r7 = INFER_ROWS_R7
    groups7 = (("all", np.ones(len(r7), dtype=bool)),
               ("GB200", np.array(["GB200" in r.name for r in r7])),
               ("longer than 8,192", np.array([r.prompt + r.output > 8192 for r in r7])))
    every9 = (("all", np.ones(len(INFER_ROWS_R9), dtype=bool)),)
    every8 = (("all", np.ones(len(INFER_ROWS_R8), dtype=bool)),)
    _report("round 7, both terms", r7, groups7)
    every10 = (("all", np.ones(len(INFER_ROWS_R10), dtype=bool)),)
    _report("round 10 (blind), with the KV-pool term", INFER_ROWS_R10, every10)
    _report("round 9 (seen), with the KV-pool term", INFER_ROWS_R9, every9)
    _without_kv_pool_term()
    _report("round 10 (blind), without it", INFER_ROWS_R10, every10)
    _report("round 9, without it", INFER_ROWS_R9, every9)
    _report("round 7, without it", r7, groups7)
    _with_kv_pool_term()
    _report("round 9 (seen), with the runtime term", INFER_ROWS_R9, every9)
    _report("round 8 (seen, one row fitted), with the runtime term", INFER_ROWS_R8, every8)
    cpp = inf.RUNTIME_HOST_FACTOR["cpp"]
    inf.RUNTIME_HOST_FACTOR["cpp"] = 1.0
    _report("round 9, without the runtime term", INFER_ROWS_R9, every9)
    _report("round 8, without it", INFER_ROWS_R8, every8)
    inf.RUNTIME_HOST_FACTOR["cpp"] = cpp
    grace = inf.HOST_FACTOR["grace"]
    inf.HOST_FACTOR["grace"] = 1.0
    _report("round 7, without the Grace host factor", r7, groups7)
    inf.HOST_FACTOR["grace"] = grace
    for name in ("llama4-scout", "llama4-maverick"):
        models.MODELS[name] = replace(models.MODELS[name], local_layers=0,
                                      attention_window=0)
    _report("round 7, without local attention", r7, groups7)


def main() -> None:
    """Print the validation table (markdown) for ``docs/validation.md``."""
    if "--fit" in sys.argv:
        for k, v in fit().items():
            print(f"{k} = {v:.4g}")
        return
    if "--ablate" in sys.argv:
        ablate()
        return
    if "--families" in sys.argv:
        print("| configuration (held-out rows) | rows | within ±15% | median error "
              "| 10th–90th percentile |")
        print("|---|---:|---:|---:|---|")
        for k, (n, ok, med, lo, hi) in families(_ROWS).items():
            print(f"| {k} | {n} | {ok} | {med:+.1%} | {lo:+.0%} to {hi:+.0%} |")
        return
    print("| # | case | configuration | published | model | error | role | round | source |")
    print("|---|---|---|---:|---:|---:|---|---:|---|")
    for i, (row, pred) in enumerate(_ROWS, 1):
        e = _err(float(pred), row.published)
        print(f"| {i} | {row.name} | {_config(row)} | {_fmt(row, row.published)} "
              f"| {_fmt(row, float(pred))} | {e:+.1%} | {row.role} | {round_of(row)} "
              f"| {row.source} |")
    w = nvl72_full_load_w()
    print(f"| {len(_ROWS) + 1} | GB200 NVL72 rack at full load, provisioned (nameplate) "
          "| 72 GPUs at util 1, nameplate overheads | 120 kW "
          f"| {w / 1e3:.1f} kW | {_err(w, 120e3):+.1%} | by construction | 1 | "
          "NVIDIA/Schneider GB200 NVL72 reference designs |")
    print()
    print("| | rows | within ±15% | median abs. error |")
    print("|---|---:|---:|---:|")
    for k, (n, ok, med) in summary(_ROWS).items():
        print(f"| {k} | {n} | {ok} | {med:.1%} |")


if __name__ == "__main__":
    main()
