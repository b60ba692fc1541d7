"""Inference kernels: KV sizing, roofline prefill/decode and steady-state throughput."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cupy_kernels.inference import (
    MIN_DECODE_STEPS,
    InferenceBatch,
    decode_compute_fraction,
    decode_step_time,
    expert_read_fraction,
    kv_bytes_per_token,
    max_batch,
    prefill_parts,
    prefill_time,
    replica_throughput,
)

# Llama-3-70B-like service on one H100 in fp8 (local constants: the model catalog is built
# elsewhere).
BASE: dict[str, float] = {
    "params": 70.6e9,
    "active_params": 70.6e9,
    "layers": 80,
    "kv_heads": 8,
    "head_dim": 128,
    "weight_bytes_per_param": 1.0,
    "kv_bytes_per_elem": 2.0,
    "gpus_per_replica": 1,
    "peak_flops": 1979e12,
    "hbm_bw": 3.35e12,
    "hbm_bytes": 80e9,
    "prefill_eff": 0.5,
    "decode_bw_eff": 0.8,
    "mean_prompt": 1000,
    "mean_output": 200,
    "batch": 8,
}
KV_70B = 2 * 80 * 8 * 128 * 2  # bytes per token, bf16 KV


def svc(rows: int = 1, **over: Any) -> InferenceBatch:
    vals = BASE | over
    return InferenceBatch(
        **{k: np.broadcast_to(np.asarray(v, dtype=float), (rows,)) for k, v in vals.items()}
    )


def test_kv_bytes_per_token() -> None:
    assert kv_bytes_per_token(np, 80, 8, 128, 2) == KV_70B == 327_680
    assert kv_bytes_per_token(np, 80, 8, 128, 1) == KV_70B / 2


def test_max_batch() -> None:
    # the runtime's KV pool is 0.9 of what the weights leave free (TensorRT-LLM's rule)
    # one 80 GB GPU: 0.9·(80 - 70.6) GB = 8.46 GB → 8.46e9 / (1200·327,680) = 21.5 → 21
    assert max_batch(np, svc())[0] == 21.0
    # TP4: 0.9·(320 - 70.6) GB = 224.5 GB → 570.8 → 570
    assert max_batch(np, svc(gpus_per_replica=4))[0] == 570.0
    # bf16 weights (141 GB) do not fit on one 80 GB GPU
    assert max_batch(np, svc(weight_bytes_per_param=2.0))[0] == 0.0
    # a stated share: 0.5·249.4 GB → 317.1 → 317, by argument or by the row's field
    assert max_batch(np, svc(gpus_per_replica=4), 0.5)[0] == 317.0
    assert max_batch(np, svc(gpus_per_replica=4, kv_free_fraction=0.5))[0] == 317.0


def test_catalog_memory_is_what_the_driver_reports() -> None:
    """KV room is sized from the memory nvidia-smi reports (MiB), not the marketed GB: the
    "80 GB" H100 is 80 GiB, 5.5 GB more than 80e9 bytes."""
    from topologies.catalog import CATALOG, MIB

    assert CATALOG["h100-hgx"].gpu.hbm_bytes == 81_559 * MIB > 85.5e9
    assert CATALOG["h200-hgx"].gpu.hbm_bytes == 143_771 * MIB
    assert CATALOG["b200-hgx"].gpu.hbm_bytes == 183_359 * MIB
    assert CATALOG["gb200-nvl72"].gpu.hbm_bytes == 189_471 * MIB
    assert all("SMI" in s.gpu.sources for s in CATALOG.values() if s.name != "generic")


def test_prefill_compute_bound_and_weight_floor() -> None:
    t = prefill_time(np, svc(), np.array([4096.0]))
    assert t[0] == pytest.approx(2 * 70.6e9 * 4096 / (1979e12 * 0.5), rel=1e-12)
    one = prefill_time(np, svc(), 1.0)
    assert one[0] == pytest.approx(70.6e9 / (3.35e12 * 0.8), rel=1e-12)
    # broadcast: many prompt lengths against one service row
    many = prefill_time(np, svc(), np.array([1.0, 1e3, 1e4]))
    assert many.shape == (3,) and np.all(np.diff(many) >= 0)


def test_decode_memory_bound_at_small_batch() -> None:
    t = decode_step_time(np, svc(batch=1))
    want = (70.6e9 + 1 * (1000 + 100) * KV_70B) / (3.35e12 * 0.8)
    assert t[0] == pytest.approx(want, rel=1e-12)


def test_decode_compute_bound_at_large_batch() -> None:
    b = svc(batch=4096, gpus_per_replica=8, mean_prompt=10, mean_output=10)
    t = decode_step_time(np, b)
    gemm = 2 * 70.6e9 * 4096 / (8 * 1979e12 * 0.5)  # GEMMs compute-bound
    kv = 4096 * (10 + 5) * KV_70B / (8 * 3.35e12 * 0.8)  # then attention streams the KV
    assert gemm > 70.6e9 / (8 * 3.35e12 * 0.8)
    assert t[0] == pytest.approx(gemm + kv, rel=1e-12)


def test_decode_phases_add_and_host_time_grows_with_batch() -> None:
    """GEMM and attention phases run one after the other; host time is per sequence."""
    b = svc(batch=512, gpus_per_replica=8, mean_prompt=2000, mean_output=2000)
    gemm = 2 * 70.6e9 * 512 / (8 * 1979e12 * 0.5)
    weights = 70.6e9 / (8 * 3.35e12 * 0.8)
    kv = 512 * 3000 * KV_70B / (8 * 3.35e12 * 0.8)
    t = decode_step_time(np, b)
    assert t[0] == pytest.approx(max(gemm, weights) + kv, rel=1e-12)
    assert t[0] > 1.1 * max(gemm, weights + kv)  # no overlap of GEMM compute and KV reads
    host = decode_step_time(np, svc(batch=512, gpus_per_replica=8, mean_prompt=2000,
                                    mean_output=2000, seq_overhead_s=20e-6))
    assert host[0] == t[0]  # 10 ms of host time hides under the GPU's step
    slow_host = decode_step_time(np, svc(batch=512, gpus_per_replica=8, mean_prompt=2000,
                                         mean_output=2000, seq_overhead_s=100e-6))
    assert slow_host[0] == pytest.approx(512 * 100e-6, rel=1e-12)  # host-bound


def test_tensor_parallel_splits_the_work() -> None:
    t1 = decode_step_time(np, svc(batch=1))
    t4 = decode_step_time(np, svc(batch=1, gpus_per_replica=4))
    assert t4[0] == pytest.approx(t1[0] / 4, rel=1e-12)


def test_throughput_equals_static_batch_formula() -> None:
    b = svc(batch=64, gpus_per_replica=2)
    prefill = prefill_time(np, b, 64 * 1000)  # compute-bound here
    # the prefill emits each request's first token, 199 decode steps the other 199
    static = 64 * 200 / (prefill + 199 * decode_step_time(np, b))
    assert replica_throughput(np, b)[0] == pytest.approx(static[0], rel=1e-12)


def test_moe_reads_all_weights_but_computes_active_only() -> None:
    kw = {"batch": 2048, "gpus_per_replica": 8, "mean_prompt": 10, "mean_output": 10}
    dense = svc(**kw)  # compute-bound
    moe = svc(**kw, active_params=7e9)  # 10x fewer FLOPs: becomes memory-bound
    assert decode_step_time(np, moe)[0] < decode_step_time(np, dense)[0]
    assert max_batch(np, moe)[0] == max_batch(np, dense)[0]  # same stored weights


def test_unequal_rows_rejected() -> None:
    vals = {k: np.full(2, v, dtype=float) for k, v in BASE.items()}
    vals["batch"] = np.ones(3)
    with pytest.raises(ValueError, match="equal shapes"):
        InferenceBatch(**vals)


@settings(max_examples=60, deadline=None)
@given(
    batch=st.integers(1, 2048),
    tp=st.sampled_from([1, 2, 4, 8]),
    prompt=st.floats(1, 32_000),
    output=st.floats(1, 4_000),
)
def test_properties(batch: int, tp: int, prompt: float, output: float) -> None:
    kw = {"batch": batch, "gpus_per_replica": tp, "mean_prompt": prompt, "mean_output": output}
    b, b2 = svc(**kw), svc(**(kw | {"batch": batch + 1}))
    step = decode_step_time(np, b)[0]
    assert step >= 70.6e9 / (tp * 3.35e12 * 0.8)  # never faster than reading the weights
    assert decode_step_time(np, b2)[0] >= step
    thr = replica_throughput(np, b)[0]
    # each decode step emits a token per sequence, each prefill the first of its request
    assert 0 < thr <= batch * output / max(output - 1.0, MIN_DECODE_STEPS) / step
    assert replica_throughput(np, b2)[0] >= thr * (1 - 1e-12)  # batching never hurts


# -- terms added for issue 10: TP all-reduce, step overhead, attention, MoE reads --------
TERMS: dict[str, float] = {"allreduce_bw": 450e9, "tp_alpha": 3e-6, "hidden": 8192.0,
                           "attn_width": 8192.0, "step_overhead_s": 0.004}


def test_tp_allreduce_and_overhead_add_to_decode() -> None:
    bare = float(decode_step_time(np, svc(gpus_per_replica=4))[0])
    full = float(decode_step_time(np, svc(gpus_per_replica=4, **TERMS))[0])
    # 2 all-reduces per layer (latency-bound at batch 8: tree, 2·log2(4)·3 µs each) + 4 ms
    assert full - bare == pytest.approx(0.004 + 160 * 2 * 2 * 3e-6, rel=0.05)
    one = svc(gpus_per_replica=1, **(TERMS | {"attn_width": 0.0}))
    # tp = 1: no all-reduce, only the overhead
    assert float(decode_step_time(np, one)[0]) == pytest.approx(
        float(decode_step_time(np, svc(gpus_per_replica=1))[0]) + 0.004, rel=1e-12)


def test_attention_makes_long_prompts_superlinear() -> None:
    b = svc(**TERMS)
    t1, t8 = (float(prefill_time(np, b, np.array([p]))[0]) for p in (4096.0, 32768.0))
    assert t8 > 8.5 * (t1 - 0.004)  # causal attention grows with P²
    no_attn = svc(**(TERMS | {"attn_width": 0.0}))
    assert float(prefill_time(np, no_attn, np.array([32768.0]))[0]) < t8


def test_prefill_parts_sum_to_prefill_alone() -> None:
    b = svc(gpus_per_replica=2, **TERMS)
    prompts = np.array([1.0, 50.0, 2000.0, 9000.0])
    work, fixed = prefill_parts(np, b, prompts)
    np.testing.assert_allclose(work + fixed, prefill_time(np, b, prompts), rtol=1e-12)
    assert np.all(fixed >= 0.004)
    # batched: 100 short prompts cost far less than 100 prefills alone
    assert work[1] < 0.3 * float(prefill_time(np, b, prompts[1:2])[0])


def test_moe_decode_reads_only_touched_experts() -> None:
    moe = dict(params=46.7e9, active_params=12.9e9, expert_params=45.1e9, experts=8.0,
               active_experts=2.0)
    b1, b64 = svc(batch=1, **moe), svc(batch=64, **moe)
    frac1 = float(expert_read_fraction(np, b1, 1.0)[0])
    assert frac1 == pytest.approx(2 / 8)
    assert float(expert_read_fraction(np, b64, 64.0)[0]) == pytest.approx(1 - 0.75**64)
    dense = svc(batch=1, params=46.7e9, active_params=12.9e9)
    assert float(decode_step_time(np, b1)[0]) < 0.5 * float(decode_step_time(np, dense)[0])


def test_decode_compute_fraction_small_at_small_batch() -> None:
    small = float(decode_compute_fraction(np, svc(batch=1, **TERMS))[0])
    big = float(decode_compute_fraction(np, svc(batch=512, gpus_per_replica=8, **TERMS))[0])
    assert 0.0 <= small < 0.05 < big <= 1.0
