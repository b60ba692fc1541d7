"""Training step-time kernel: hand-computed terms, limits and properties."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cupy_kernels.collectives import allreduce_time, p2p_time
from cupy_kernels.training import (
    EFF_MAX,
    MICRO_BATCH_HALF_TOKENS,
    PRECISION_CODES,
    TrainingBatch,
    default_efficiency,
    default_virtual_stages,
    training_step_time,
)

BASE: dict[str, float] = {
    "params": 8.03e9,
    "active_params": 8.03e9,
    "layers": 32,
    "hidden": 4096,
    "tokens_per_step": 4 * 8192,
    "seq_len": 8192,
    "n_gpus": 1,
    "tp": 1,
    "pp": 1,
    "dp": 1,
    "peak_flops": 989e12,
    "mfu": 0.4,
    "precision_code": 0,
    "nvlink_bw": 450e9,
    "dp_bw": 50e9,
    "dp_alpha": 10e-6,
    "tp_alpha": 3e-6,
    "grad_bytes": 2.0,
    "dp_overlap": 0.0,
}


def batch(rows: int = 1, **over: Any) -> TrainingBatch:
    """A batch of ``rows`` identical jobs from ``BASE``; keyword overrides may be arrays."""
    vals = BASE | over
    return TrainingBatch(
        **{k: np.broadcast_to(np.asarray(v, dtype=float), (rows,)) for k, v in vals.items()}
    )


def test_single_gpu_is_pure_compute() -> None:
    t = training_step_time(np, batch())
    want = 6 * 8.03e9 * 4 * 8192 / (989e12 * 0.4)
    assert t.compute_s[0] == pytest.approx(want, rel=1e-12)
    assert t.step_s[0] == t.compute_s[0]
    assert t.tp_comm_s[0] == t.pp_comm_s[0] == t.dp_comm_s[0] == 0.0
    assert t.util[0] == 1.0
    assert t.achieved_flops_per_gpu[0] == pytest.approx(0.4 * 989e12, rel=1e-12)


def test_nan_mfu_uses_default_efficiency() -> None:
    t = training_step_time(np, batch(mfu=math.nan, precision_code=PRECISION_CODES["fp8"]))
    eff = EFF_MAX[1] * 8192 / (8192 + MICRO_BATCH_HALF_TOKENS)
    assert t.achieved_flops_per_gpu[0] == pytest.approx(eff * 989e12, rel=1e-12)


def test_default_efficiency_shape() -> None:
    codes = np.array([0, 1, 2, 0, 0, 7, -1])
    mb = np.array([8192, 8192, 8192, MICRO_BATCH_HALF_TOKENS, 64, 8192, 8192], dtype=float)
    e = default_efficiency(np, codes, mb)
    assert e[0] > e[1] > e[2] > 0  # lower precision, smaller fraction of its higher peak
    assert e[3] == pytest.approx(EFF_MAX[0] / 2)  # half-saturation point
    assert e[4] < e[3] < e[0] < EFF_MAX[0]
    assert e[5] == e[2] and e[6] == e[0]  # out-of-range codes clip


def test_tensor_parallel_term() -> None:
    t = training_step_time(np, batch(tp=8, n_gpus=8))
    m = 4  # 4 sequences of 8192 tokens, one per micro-batch
    ar = allreduce_time(np, 8192 * 4096 * 2, 8, 450e9, 3e-6)
    assert t.tp_comm_s[0] == pytest.approx(4 * 32 * m * ar, rel=1e-12)
    assert t.step_s[0] == pytest.approx(t.compute_s[0] + t.tp_comm_s[0], rel=1e-12)


def test_pipeline_bubble_and_sends() -> None:
    t = training_step_time(np, batch(pp=4, n_gpus=4, virtual_stages=1.0))
    m, v = 4, 1
    bubble = 3 / (v * m) * t.compute_s[0]
    sends = 2 * m * v * p2p_time(np, 8192 * 4096 * 2, 50e9, 10e-6)
    assert t.pp_comm_s[0] == pytest.approx(bubble + sends, rel=1e-12)
    # interleaving (v = 4: 32 layers / (2·4)) shrinks the bubble
    t4 = training_step_time(np, batch(pp=4, n_gpus=4))
    assert t4.pp_comm_s[0] < t.pp_comm_s[0]


def test_default_virtual_stages() -> None:
    v = default_virtual_stages(np, np.array([80, 126, 32, 80, 4]), np.array([8, 16, 1, 4, 4]))
    np.testing.assert_array_equal(v, [5, 3, 1, 10, 1])


@pytest.mark.parametrize("overlap", [0.0, 0.25, 1.0])
def test_data_parallel_overlap(overlap: float) -> None:
    t = training_step_time(np, batch(dp=4, n_gpus=4, tokens_per_step=16 * 8192, dp_overlap=overlap))
    grad = 2.0 * 8.03e9
    assert t.dp_comm_s[0] == pytest.approx(float(allreduce_time(np, grad, 4, 50e9, 10e-6)))
    assert t.exposed_comm_s[0] == pytest.approx((1 - overlap) * t.dp_comm_s[0], rel=1e-12)


def test_tiny_batch_is_one_short_micro_batch() -> None:
    t = training_step_time(np, batch(tokens_per_step=1024, mfu=math.nan))
    eff = EFF_MAX[0] * 1024 / (1024 + MICRO_BATCH_HALF_TOKENS)
    assert t.achieved_flops_per_gpu[0] == pytest.approx(eff * 989e12, rel=1e-12)


def test_rows_are_independent() -> None:
    over = {
        "tp": np.array([1, 8, 4]),
        "pp": np.array([1, 2, 4]),
        "dp": np.array([2, 4, 1]),
        "n_gpus": np.array([2, 64, 16]),
        "mfu": np.array([0.3, math.nan, math.nan]),
        "precision_code": np.array([0, 1, 2]),
    }
    whole = training_step_time(np, batch(3, **over))
    for i in range(3):
        one = training_step_time(np, batch(1, **{k: v[i : i + 1] for k, v in over.items()}))
        assert whole.step_s[i] == one.step_s[0]
        assert whole.util[i] == one.util[0]


def test_unequal_rows_rejected() -> None:
    vals = {k: np.full(3, v, dtype=float) for k, v in BASE.items()}
    vals["tp"] = np.ones(2)
    with pytest.raises(ValueError, match="equal shapes"):
        TrainingBatch(**vals)


@settings(max_examples=60, deadline=None)
@given(
    tp=st.sampled_from([1, 2, 4, 8]),
    pp=st.sampled_from([1, 2, 4, 16]),
    dp=st.integers(1, 512),
    seqs=st.integers(1, 4096),
    overlap=st.floats(0.0, 1.0),
    code=st.integers(0, 2),
)
def test_properties(tp: int, pp: int, dp: int, seqs: int, overlap: float, code: int) -> None:
    kw = {"tp": tp, "pp": pp, "dp": dp, "n_gpus": tp * pp * dp, "dp_overlap": overlap}
    kw |= {"tokens_per_step": seqs * 8192.0, "mfu": math.nan, "precision_code": code}
    slow, fast = batch(**kw), batch(**(kw | {"dp_bw": 400e9}))
    t = training_step_time(np, slow)
    assert 0.0 < t.util[0] <= 1.0
    assert t.step_s[0] >= t.compute_s[0] > 0.0
    assert t.step_s[0] == pytest.approx(t.compute_s[0] + t.exposed_comm_s[0], rel=1e-12)
    assert training_step_time(np, fast).step_s[0] <= t.step_s[0]


def test_recomputation_costs_a_third_more_compute() -> None:
    none = training_step_time(np, batch(recompute_code=np.array([0.0])))
    full = training_step_time(np, batch(recompute_code=np.array([2.0])))
    sel = training_step_time(np, batch(recompute_code=np.array([1.0]),
                                       attn_width=np.array([4096.0])))
    assert full.compute_s[0] == pytest.approx(4 / 3 * none.compute_s[0], rel=1e-12)
    assert sel.compute_s[0] > none.compute_s[0]
    assert full.achieved_flops_per_gpu[0] < none.achieved_flops_per_gpu[0]


def test_long_context_attention_slows_training() -> None:
    short = training_step_time(np, batch(attn_width=np.array([4096.0])))
    long = training_step_time(np, batch(attn_width=np.array([4096.0]),
                                        seq_len=np.array([131072.0]),
                                        tokens_per_step=np.array([131072.0 * 8])))
    assert long.tokens_per_gpu_s[0] < 0.5 * short.tokens_per_gpu_s[0]


def test_expert_parallel_all_to_all_and_expert_gradients() -> None:
    moe = {"params": np.array([46.7e9]), "active_params": np.array([12.9e9]),
           "expert_params": np.array([45.1e9]), "active_experts": np.array([2.0]),
           "moe_layers": np.array([32.0]), "dp": np.array([8.0]), "n_gpus": np.array([8.0])}
    ep1 = training_step_time(np, batch(**moe, ep=np.array([1.0])))
    ep8 = training_step_time(np, batch(**moe, ep=np.array([8.0])))
    assert ep1.ep_comm_s[0] == 0.0 < ep8.ep_comm_s[0]
    assert ep8.dp_comm_s[0] < ep1.dp_comm_s[0]  # expert gradients reduced over dp/ep only


def test_default_interleaving_is_used_only_where_it_pays() -> None:
    """The default virtual stages never make a step longer than no interleaving.

    pp 2 with 64 micro-batches per rank over a slow link: the default ``v = 8`` (32
    layers) saves less bubble than its ``2·m·v`` sends cost, so the default is 1; with 2
    micro-batches per rank the bubble dominates and the default interleaves."""
    slow = {"pp": 2.0, "dp": 1.0, "n_gpus": 2.0, "dp_bw": 5e9, "dp_alpha": 50e-6}
    for tokens in (64 * 8192.0, 2 * 8192.0):
        auto = training_step_time(np, batch(**slow, tokens_per_step=tokens))
        none = training_step_time(np, batch(**slow, tokens_per_step=tokens,
                                            virtual_stages=1.0))
        v8 = training_step_time(np, batch(**slow, tokens_per_step=tokens,
                                          virtual_stages=8.0))
        assert auto.step_s[0] == pytest.approx(min(none.step_s[0], v8.step_s[0]), rel=1e-12)
    many = {"tokens_per_step": 64 * 8192.0}
    assert (training_step_time(np, batch(**slow, **many, virtual_stages=8.0)).step_s[0]
            > training_step_time(np, batch(**slow, **many, virtual_stages=1.0)).step_s[0])
    few = {"tokens_per_step": 2 * 8192.0}
    nan_row = training_step_time(np, batch(**slow, **few, virtual_stages=math.nan))
    assert nan_row.step_s[0] == pytest.approx(
        training_step_time(np, batch(**slow, **few, virtual_stages=8.0)).step_s[0], rel=1e-12)
