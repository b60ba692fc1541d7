"""Model predictions against published figures (issue requirement: each within ±15%).

Run ``python tests/test_kernels_validation.py`` to print the table in
``docs/validation.md``. LLM dimensions are local constants here on purpose: the model
catalog (``workloads/models.py``) is built in parallel and must not be a dependency of the
kernels' calibration. Which anchors were *fitted* and which are *held out* is stated per
case; see ``cupy_kernels.training.EFF_MAX`` and ``cupy_kernels.inference.DEFAULT_PREFILL_EFF``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pytest

from cupy_kernels.inference import (
    DEFAULT_DECODE_BW_EFF,
    DEFAULT_PREFILL_EFF,
    InferenceBatch,
    replica_throughput,
)
from cupy_kernels.power import gpu_power, rack_power
from cupy_kernels.training import PRECISION_CODES, TrainingBatch, training_step_time
from topologies.catalog import B200_GB200, GB200_NVL72, H100_SXM, GpuSpec

TOLERANCE = 0.15

# (layers, hidden, attention heads, kv heads, parameters) — Llama 3 paper / model cards.
LLAMA3 = {
    "8b": (32, 4096, 32, 8, 8.03e9),
    "70b": (80, 8192, 64, 8, 70.6e9),
    "405b": (126, 16384, 128, 8, 405.9e9),
}

# H200 SXM is not in the catalog (no rack preset uses it); NVIDIA H200 datasheet figures:
# same dense FP8/BF16 peaks as H100 SXM, 141 GB HBM3e at 4.8 TB/s.
H200_SXM = GpuSpec(
    name="H200 SXM",
    peak_flops={"fp8": 1979e12, "bf16": 989e12},
    hbm_bytes=141e9,
    hbm_bw=4.8e12,
    nvlink_bw=450e9,
    nic_bw=50e9,
    tdp_w=700.0,
    idle_w=90.0,
)

# Assumed fabric latencies (not part of any published figure): NCCL per-hop on NVLink and
# on InfiniBand; 80% of the DP all-reduce hidden under the backward pass.
TP_ALPHA, IB_ALPHA, DP_OVERLAP = 3e-6, 10e-6, 0.8


@dataclass(frozen=True)
class TrainCase:
    name: str
    model: str
    gpu: GpuSpec
    precision: str
    tp: int
    pp: int
    dp: int
    seq_len: int
    tokens_per_step: float
    dp_bw: float
    published: float  # model TFLOP/s per GPU, FLOP/s
    role: str
    source: str


TRAIN_CASES = (
    TrainCase(
        "Llama 3 405B BF16, 16,384 H100 (TP8 PP16 DP128)", "405b", H100_SXM, "bf16",
        8, 16, 128, 8192, 16 * 2**20, H100_SXM.nic_bw, 400e12, "fitted (bf16)",
        "Llama 3 paper (arXiv:2407.21783) Table 4: 400 TFLOP/s/GPU (range 380-430)",
    ),
    TrainCase(
        "Llama 3 405B BF16, 8,192 H100 (TP8 PP16 DP64)", "405b", H100_SXM, "bf16",
        8, 16, 64, 8192, 16 * 2**20, H100_SXM.nic_bw, 430e12, "held out",
        "Llama 3 paper (arXiv:2407.21783) Table 4: 430 TFLOP/s/GPU",
    ),
    TrainCase(
        "Llama3-70B FP8, 64 H100 (TP4 PP8 DP2, GBS 256)", "70b", H100_SXM, "fp8",
        4, 8, 2, 8192, 256 * 8192, H100_SXM.nic_bw, 734e12, "fitted (fp8)",
        "NVIDIA NeMo performance summary: 734 TFLOP/s/GPU; layout from the Megatron-Bridge "
        "recipe llama3_70b_pretrain_64gpu_h100_fp8cs",
    ),
    TrainCase(
        "Llama3-70B NVFP4, 64 GB200 (TP2 PP4 DP8, GBS 256)", "70b", B200_GB200, "fp4",
        2, 4, 8, 8192, 256 * 8192, B200_GB200.nvlink_bw, 2047e12, "fitted (fp4)",
        "Megatron-Bridge performance summary: 2,047 TFLOP/s/GPU; layout from the recipe "
        "llama3_70b_pretrain_64gpu_gb200_nvfp4 (64 GPUs = one NVL72 NVLink domain)",
    ),
)  # fmt: skip


def train_predictions() -> np.ndarray:
    """Achieved FLOP/s per GPU predicted for every ``TRAIN_CASES`` row (one kernel call)."""
    cs = TRAIN_CASES

    def col(values: list[float]) -> np.ndarray:
        return np.asarray(values, dtype=float)

    layers = col([LLAMA3[c.model][0] for c in cs])
    params = col([LLAMA3[c.model][4] for c in cs])
    tp, pp, dp = col([c.tp for c in cs]), col([c.pp for c in cs]), col([c.dp for c in cs])
    n = len(cs)
    batch = TrainingBatch(
        params=params,
        active_params=params,
        layers=layers,
        hidden=col([LLAMA3[c.model][1] for c in cs]),
        tokens_per_step=col([c.tokens_per_step for c in cs]),
        seq_len=col([c.seq_len for c in cs]),
        n_gpus=tp * pp * dp,
        tp=tp,
        pp=pp,
        dp=dp,
        peak_flops=col([c.gpu.peak(c.precision) for c in cs]),
        mfu=np.full(n, math.nan),
        precision_code=np.asarray([PRECISION_CODES[c.precision] for c in cs]),
        nvlink_bw=col([c.gpu.nvlink_bw for c in cs]),
        dp_bw=col([c.dp_bw for c in cs]),
        dp_alpha=np.full(n, IB_ALPHA),
        tp_alpha=np.full(n, TP_ALPHA),
        grad_bytes=np.full(n, 2.0),
        dp_overlap=np.full(n, DP_OVERLAP),
    )
    return training_step_time(np, batch).achieved_flops_per_gpu


@dataclass(frozen=True)
class InferCase:
    name: str
    gpu: GpuSpec
    tp: int
    batch: int
    prompt: int
    output: int
    published: float  # output tokens/s of the whole replica
    role: str
    source: str


TRT_H200 = "NVIDIA TensorRT-LLM v0.5 docs/source/blogs/H200launch.md, H200 FP8 max throughput"
TRT_H100 = "NVIDIA TensorRT-LLM v0.5 docs/source/performance.md, H100 FP8 high throughput"
INFER_CASES = (
    InferCase("Llama-70B FP8, 1 H200, batch 64, 2048 in / 128 out", H200_SXM, 1, 64, 2048,
              128, 341.0, "fitted (prefill_eff)", TRT_H200),
    InferCase("Llama-70B FP8, 1 H200, batch 32, 2048 in / 128 out", H200_SXM, 1, 32, 2048,
              128, 303.0, "held out", TRT_H200),
    InferCase("Llama-70B FP8, 1 H200, batch 512, 128 in / 128 out", H200_SXM, 1, 512, 128,
              128, 3014.0, "held out", TRT_H200),
)  # fmt: skip
# A known weakness, reported but outside the ±15% claim: TP all-reduce and per-step
# overheads are not modelled, so small per-GPU work is predicted too fast.
LIMITATION_CASES = (
    InferCase("LLaMA-70B FP8, 4 H100 (TP4), batch 64, 128 in / 128 out", H100_SXM, 4, 64,
              128, 128, 3317.0, "limitation", TRT_H100),
)  # fmt: skip


def infer_predictions(cases: tuple[InferCase, ...]) -> np.ndarray:
    """Output tokens/s per replica predicted for ``cases`` (fp8 weights, bf16 KV cache)."""
    layers, _, heads, kv_heads, params = LLAMA3["70b"]
    n = len(cases)

    def col(values: list[float]) -> np.ndarray:
        return np.asarray(values, dtype=float)

    batch = InferenceBatch(
        params=np.full(n, params),
        active_params=np.full(n, params),
        layers=np.full(n, float(layers)),
        kv_heads=np.full(n, float(kv_heads)),
        head_dim=np.full(n, 8192.0 / heads),
        weight_bytes_per_param=np.full(n, 1.0),
        kv_bytes_per_elem=np.full(n, 2.0),
        gpus_per_replica=col([c.tp for c in cases]),
        peak_flops=col([c.gpu.peak("fp8") for c in cases]),
        hbm_bw=col([c.gpu.hbm_bw for c in cases]),
        hbm_bytes=col([c.gpu.hbm_bytes for c in cases]),
        prefill_eff=np.full(n, DEFAULT_PREFILL_EFF),
        decode_bw_eff=np.full(n, DEFAULT_DECODE_BW_EFF),
        mean_prompt=col([c.prompt for c in cases]),
        mean_output=col([c.output for c in cases]),
        batch=col([c.batch for c in cases]),
    )
    return replica_throughput(np, batch)


def nvl72_full_load_w() -> float:
    """GB200 NVL72 rack power with every GPU at util 1 (catalog overheads), W."""
    sysm = GB200_NVL72
    n = sysm.gpus_per_rack
    w = gpu_power(np, np.ones(n), sysm.gpu.idle_w, sysm.gpu.tdp_w)
    rack = rack_power(
        np, w, np.zeros(n, dtype=np.int64), 1, sysm.rack_overhead_idle_w,
        sysm.rack_overhead_full_w, np.ones(1),
    )  # fmt: skip
    return float(rack[0])


def _err(pred: float, pub: float) -> float:
    return pred / pub - 1.0


@pytest.mark.parametrize("i", range(len(TRAIN_CASES)), ids=[c.name for c in TRAIN_CASES])
def test_training_throughput_within_tolerance(i: int) -> None:
    pred = train_predictions()[i]
    assert abs(_err(pred, TRAIN_CASES[i].published)) <= TOLERANCE


def test_llama3_405b_stays_in_published_range() -> None:
    pred = train_predictions()
    assert 380e12 * (1 - TOLERANCE) <= pred[0] <= 430e12 * (1 + TOLERANCE)
    # halving DP with the same global batch doubles micro-batches: smaller bubble, faster
    assert pred[1] > pred[0]


@pytest.mark.parametrize("i", range(len(INFER_CASES)), ids=[c.name for c in INFER_CASES])
def test_inference_throughput_within_tolerance(i: int) -> None:
    pred = infer_predictions(INFER_CASES)[i]
    assert abs(_err(pred, INFER_CASES[i].published)) <= TOLERANCE


def test_known_limitation_is_optimistic() -> None:
    # Documented, not hidden: without TP communication the TP4 H100 case is predicted faster
    # than measured. If this starts failing, the model changed: update docs/validation.md.
    pred = infer_predictions(LIMITATION_CASES)[0]
    assert pred > LIMITATION_CASES[0].published * (1 + TOLERANCE)


def test_nvl72_rack_full_load_is_about_120_kw() -> None:
    assert abs(_err(nvl72_full_load_w(), 120e3)) <= TOLERANCE


def main() -> None:
    """Print the validation table (markdown) for ``docs/validation.md``."""
    print("| case | published | model | error | role | source |")
    print("|---|---:|---:|---:|---|---|")
    for c, p in zip(TRAIN_CASES, train_predictions(), strict=True):
        print(f"| {c.name} | {c.published / 1e12:,.0f} TFLOP/s | {p / 1e12:,.0f} TFLOP/s "
              f"| {_err(p, c.published):+.1%} | {c.role} | {c.source} |")  # fmt: skip
    cases = INFER_CASES + LIMITATION_CASES
    for c, p in zip(cases, infer_predictions(cases), strict=True):
        print(f"| {c.name} | {c.published:,.0f} tok/s | {p:,.0f} tok/s "
              f"| {_err(p, c.published):+.1%} | {c.role} | {c.source} |")  # fmt: skip
    w = nvl72_full_load_w()
    print(f"| GB200 NVL72 rack at full load | 120 kW | {w / 1e3:.1f} kW | {_err(w, 120e3):+.1%} "
          "| by construction | NVIDIA/Schneider GB200 NVL72 reference designs |")  # fmt: skip


if __name__ == "__main__":
    main()
