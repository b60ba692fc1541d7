"""Attention data parallelism: every GPU of a MoE replica holds the non-expert weights whole.

With data-parallel attention each GPU runs the attention (and dense and shared MLPs) of its
own requests, so those weights are stored, and read at every step, once per GPU instead of
a ``1/tp`` share on each (``InferenceBatch.replicated_params``).
"""

from __future__ import annotations

import numpy as np
import pytest

from cupy_kernels.inference import (
    DEFAULT_KV_FREE_FRACTION,
    InferenceBatch,
    _decode_parts,
    kv_pool_bytes,
    prefill_time,
)
from tests.conftest import service_statics
from tests.test_kernels_inference import svc
from workloads.models import get_model

MOE = {"params": 235e9, "active_params": 22e9, "expert_params": 227e9, "experts": 128.0,
       "active_experts": 8.0, "weight_bytes_per_param": 1.0, "batch": 256.0}
REPLICATED = 8e9  # non-expert parameters


def _pair(tp: float) -> tuple[InferenceBatch, InferenceBatch]:
    plain = svc(**MOE, gpus_per_replica=tp, hbm_bytes=141e9)
    return plain, InferenceBatch(**{**plain.__dict__, "replicated_params": np.array([REPLICATED])})


def test_every_gpu_stores_and_reads_its_own_copy() -> None:
    plain, dp = _pair(4.0)
    # three extra copies of 8 GB (fp8) leave the KV pool 24 GB (times its share) smaller
    extra = 3 * REPLICATED * 1.0
    assert float(kv_pool_bytes(np, plain)[0] - kv_pool_bytes(np, dp)[0]) == pytest.approx(
        DEFAULT_KV_FREE_FRACTION * extra, rel=1e-12)
    # the step reads them too: at the replica's rate (4 GPUs), 24 GB more
    rate = 4 * float(plain.hbm_bw[0]) * float(plain.decode_bw_eff[0])
    more = float(_decode_parts(np, dp)[0][0] - _decode_parts(np, plain)[0][0])
    assert more == pytest.approx(extra / rate, rel=1e-12)
    # GEMMs, KV bytes and attention are unchanged
    for i in (1, 2, 3):
        assert _decode_parts(np, dp)[i][0] == _decode_parts(np, plain)[i][0]
    # a short prompt's prefill is weight-read bound and pays the copies too
    assert prefill_time(np, dp, np.array([16.0]))[0] > prefill_time(np, plain, np.array([16.0]))[0]


def test_one_gpu_or_no_input_changes_nothing() -> None:
    plain, dp = _pair(1.0)
    assert kv_pool_bytes(np, dp)[0] == kv_pool_bytes(np, plain)[0]
    assert _decode_parts(np, dp)[0][0] == _decode_parts(np, plain)[0][0]


def test_the_emulator_replicates_the_non_expert_weights_of_moe_services_only() -> None:
    moe = service_statics("qwen3-235b-a22b", "fp8", "h200-hgx", 8)
    qwen = get_model("qwen3-235b-a22b")
    assert float(moe.replicated_params[0]) == qwen.non_expert_params
    assert 0 < qwen.non_expert_params < 0.05 * qwen.params
    dense = service_statics("llama3-70b", "fp8", "h200-hgx", 8)
    assert float(dense.replicated_params[0]) == 0.0
