"""Model terms of validation round 3: decode phases and host time, MoE training host time."""

from __future__ import annotations

import numpy as np
import pytest

import cupy_kernels.training as trn
from cupy_kernels.inference import (
    decode_compute_fraction,
    decode_split,
    decode_step_time,
    replica_throughput,
    serving_schedulers,
)
from cupy_kernels.training import training_step_time
from emulator.serving_runtime import time_per_token
from tests.test_kernels_inference import svc
from tests.test_kernels_training import batch

MIXTRAL = {"params": np.array([46.7e9]), "active_params": np.array([12.9e9]),
           "expert_params": np.array([45.1e9]), "active_experts": np.array([2.0]),
           "experts": np.array([8.0]), "moe_layers": np.array([32.0]),
           "dp": np.array([8.0]), "n_gpus": np.array([8.0])}


def test_moe_host_time_is_per_local_expert_layer_and_micro_batch(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """``MOE_EXPERT_HOST_S·E/ep`` per MoE layer and micro-batch, exposed, not compute."""
    monkeypatch.setattr(trn, "MOE_EXPERT_HOST_S", 0.0)
    without = {ep: training_step_time(np, batch(**MIXTRAL, ep=np.array([ep])))
               for ep in (1.0, 8.0)}
    monkeypatch.setattr(trn, "MOE_EXPERT_HOST_S", 1e-3)
    for ep, base in without.items():
        t = training_step_time(np, batch(**MIXTRAL, ep=np.array([ep])))
        micro = 4 * 8192 / (8 * 1 * 8192)  # tokens_per_step / (dp·micro_batch·seq), >= 1
        want = 32 * max(micro, 1.0) * 1e-3 * 8 / ep
        assert t.ep_comm_s[0] - base.ep_comm_s[0] == pytest.approx(want, rel=1e-9)
        assert t.compute_s[0] == base.compute_s[0]
        assert t.util[0] < base.util[0]  # idle time, not compute
    dense = training_step_time(np, batch())
    monkeypatch.setattr(trn, "MOE_EXPERT_HOST_S", 0.0)
    assert training_step_time(np, batch()).step_s[0] == dense.step_s[0]  # dense: no term


BIG = {"batch": 2048.0, "gpus_per_replica": 1.0, "mean_prompt": 100.0, "mean_output": 100.0,
       "params": 8e9, "active_params": 8e9}


def test_host_bound_step_and_its_compute_fraction() -> None:
    """A large batch of a small model waits for the host: the step is the host time, and
    the tensor cores are busy only for the FLOPs' share of it."""
    gpu_bound = svc(**BIG, seq_overhead_s=1e-9)
    host_bound = svc(**BIG, seq_overhead_s=50e-6)
    gpu, host, compute = (float(x[0]) for x in decode_split(np, host_bound))
    assert host == pytest.approx(2048 * 50e-6) and host > gpu >= compute > 0
    assert decode_step_time(np, host_bound)[0] == pytest.approx(host)
    assert decode_step_time(np, gpu_bound)[0] == pytest.approx(gpu)
    assert decode_compute_fraction(np, host_bound)[0] == pytest.approx(compute / host)
    assert decode_compute_fraction(np, gpu_bound)[0] == pytest.approx(compute / gpu)
    # far host-bound: one token per sequence per host step (and the first token of each
    # request, 1 per 99 decode steps, from its prefill), prefill chunks hidden under it
    slow_host = svc(**BIG, seq_overhead_s=200e-6)
    assert replica_throughput(np, slow_host)[0] == pytest.approx(1 / 200e-6 * 100 / 99)
    assert replica_throughput(np, gpu_bound)[0] < 2048 / gpu  # GPU-bound: prefill adds


def test_time_per_token_stretches_the_gpu_part_only() -> None:
    assert time_per_token(0.02, 0.001, 0.5) == pytest.approx(0.04)  # GPU-bound: stretched
    assert time_per_token(0.02, 0.05, 0.5) == 0.05  # host-bound: not stretched further
    assert time_per_token(0.02, 0.0, 0.0) == 0.02


def test_moe_services_have_one_scheduler_per_rank() -> None:
    got = serving_schedulers(np.array([8.0, 8.0, 1.0]), [True, False, True])
    assert got.tolist() == [8.0, 1.0, 1.0]


@pytest.mark.parametrize("seq_overhead_s", [None, 1e-9, 50e-6, 200e-6])
def test_decode_step_is_exactly_the_larger_of_its_split(seq_overhead_s: float | None) -> None:
    """The serving windows take the step as ``max(GPU, host)`` of :func:`decode_split`
    instead of a second kernel pass: the same figure bit for bit, GPU- or host-bound."""
    batches = np.array([1.0, 7.0, 64.0, 512.0, 2048.0])
    for model in ({**BIG}, {**BIG, **{k: float(v[0]) for k, v in MIXTRAL.items()
                                      if k in ("params", "active_params")}}):
        model = {**model, "batch": batches}
        b = svc(batches.size, **model) if seq_overhead_s is None else svc(
            batches.size, **model, seq_overhead_s=seq_overhead_s)
        gpu, host, _ = decode_split(np, b)
        assert np.maximum(gpu, host).tobytes() == np.asarray(
            decode_step_time(np, b), dtype=np.float64).tobytes()
