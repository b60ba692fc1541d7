"""Model terms of validation round 2: attention precision, expert rows, element-wise bytes."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import cupy_kernels.training as trn
from cupy_kernels.inference import (
    decode_step_time,
    expert_gemm_slowdown,
    prefill_time,
)
from cupy_kernels.training import (
    elementwise_bytes_per_token,
    expert_gemm_factor,
    training_step_time,
)
from tests.test_kernels_inference import KV_70B, svc
from tests.test_kernels_training import batch

MOE: dict[str, Any] = {"expert_params": 28e9, "experts": 128.0, "active_experts": 8.0,
                       "params": 30.5e9, "active_params": 3.3e9}


def test_attention_core_runs_at_its_own_peak_in_prefill() -> None:
    """FP4 weights with an fp8 attention core: halving the attention peak slows the
    attention part only, by exactly its FLOPs at the lower rate."""
    base = {"attn_width": 8192.0, "peak_flops": 9e15, "layers": 80}
    fast = prefill_time(np, svc(**base, attn_peak_flops=9e15), 8192.0)[0]
    slow = prefill_time(np, svc(**base, attn_peak_flops=4.5e15), 8192.0)[0]
    attn_flops = 2 * 80 * 8192 * 8192.0**2
    rate = 9e15 * 0.5  # tp 1, prefill_eff 0.5
    assert slow - fast == pytest.approx(attn_flops / (rate / 2) - attn_flops / rate, rel=1e-9)
    assert prefill_time(np, svc(**base), 8192.0)[0] == pytest.approx(fast, rel=1e-12)


def test_expert_gemm_slowdown_is_one_for_dense_and_grows_with_fewer_rows() -> None:
    assert expert_gemm_slowdown(np, svc(), 64.0)[0] == 1.0
    s = [expert_gemm_slowdown(np, svc(**MOE), t)[0] for t in (16.0, 256.0, 4096.0, 65536.0)]
    assert all(x >= 1.0 for x in s) and s == sorted(s, reverse=True)
    # 4,096 tokens, k/E = 1/16: 256 rows per expert; half-rows constant h
    h = trn.MICRO_BATCH_HALF_TOKENS
    assert s[2] == pytest.approx((4096 / (4096 + h)) / (256 / (256 + h)), rel=1e-12)


def test_moe_decode_compute_slows_down_by_the_expert_factor() -> None:
    """Compute-bound MoE decode (large batch): only the expert FLOPs are stretched."""
    short = {"batch": 2048.0, "mean_prompt": 16.0, "mean_output": 16.0, "peak_flops": 500e12}
    dense_like = svc(**{**MOE, "experts": 1.0, "active_experts": 1.0}, **short)
    moe = svc(**MOE, **short)
    gemm = 2 * 2048 * 3.3e9 / (500e12 * 0.5)
    kv = 2048 * (16 + 8) * KV_70B / (3.35e12 * 0.8)  # the attention phase, after the GEMMs
    assert decode_step_time(np, dense_like)[0] == pytest.approx(gemm + kv, rel=1e-9)
    expert = 2 * 2048 * 28e9 * 8 / 128 / (500e12 * 0.5)
    slow = expert_gemm_slowdown(np, moe, 2048.0)[0]
    assert decode_step_time(np, moe)[0] == pytest.approx(gemm + kv + expert * (slow - 1),
                                                         rel=1e-9)


def test_training_expert_factor_follows_rows_per_local_expert() -> None:
    # 4,096-token micro-batch, k=8, E=128, EP 8: 2,048 rows per local expert
    f = expert_gemm_factor(np, 4096.0, 8.0, 128.0, 8.0)
    h = trn.MICRO_BATCH_HALF_TOKENS
    assert f == pytest.approx((4096 / (4096 + h)) / (2048 / (2048 + h)), rel=1e-12)
    assert expert_gemm_factor(np, 4096.0, 1.0, 1.0, 1.0) == 1.0  # dense


def test_elementwise_bytes_match_korthikanti_for_a_gpt_layer() -> None:
    """Dense SwiGLU layer ``18h + 6f`` bytes; MoE layer adds k experts and the copies."""
    h = 4096.0
    assert elementwise_bytes_per_token(np, h, 14336.0, 32.0, 0.0, 1.0) == 18 * h + 6 * 14336
    moe = elementwise_bytes_per_token(np, h, 768.0, 48.0, 48.0, 8.0)
    assert moe == 18 * h + 6 * 8 * 768 + 4 * 8 * h


def test_elementwise_traffic_adds_streaming_time_to_the_step() -> None:
    plain = training_step_time(np, batch())
    extra = {"ffn_hidden": 14336.0, "hbm_bw": 3.35e12, "stream_eff": 0.7}
    with_ew = training_step_time(np, batch(**extra))
    per_token = 18 * 4096 + 6 * 14336
    want = trn.ELEMENTWISE_PASSES * per_token * 32 * 4 * 8192 / (3.35e12 * 0.7)
    assert with_ew.compute_s[0] - plain.compute_s[0] == pytest.approx(want, rel=1e-9)
    faster_hbm = training_step_time(np, batch(**{**extra, "hbm_bw": 8e12}))
    assert faster_hbm.step_s[0] < with_ew.step_s[0]


def test_training_attention_at_bf16_slows_fp8_jobs_only_by_the_attention_share() -> None:
    over = {"attn_width": 4096.0, "peak_flops": 1979e12}
    same = training_step_time(np, batch(**over))
    half = training_step_time(np, batch(**over, attn_peak_flops=989e12))
    attn = 3 * 2 * 32 * 4096 * 8192 * 4 * 8192.0  # fwd+bwd attention FLOP of the step
    assert half.compute_s[0] - same.compute_s[0] == pytest.approx(
        attn / (989e12 * 0.4) - attn / (1979e12 * 0.4), rel=1e-9)


def test_training_attention_core_runs_at_the_efficiency_of_its_own_precision() -> None:
    """An fp4 job's attention core is kept in bf16: at the bf16 peak *and* the bf16
    efficiency, not the (lower) fitted fp4 one; the weight GEMMs keep the fp4 efficiency."""
    over = {"attn_width": 4096.0, "peak_flops": 10e15, "attn_peak_flops": 2.5e15,
            "mfu": float("nan"), "precision_code": 2.0}
    own = training_step_time(np, batch(**over))
    bf16_attn = training_step_time(np, batch(**over, attn_precision_code=0.0))
    attn = 3 * 2 * 32 * 4096 * 8192 * 4 * 8192.0  # fwd+bwd attention FLOP of the step
    f = 8192 / (8192 + trn.MICRO_BATCH_HALF_TOKENS)
    assert own.compute_s[0] - bf16_attn.compute_s[0] == pytest.approx(
        attn / (2.5e15 * trn.EFF_MAX[2] * f) - attn / (2.5e15 * trn.EFF_MAX[0] * f), rel=1e-9)
