"""numpy ↔ cupy equivalence (DESIGN principle 4). Needs cupy and a CUDA device.

Every test here carries ``@pytest.mark.gpu`` and skips, with the reason, when
``select_backend("cupy")`` raises :class:`BackendUnavailable`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from cupy_kernels import (
    Backend,
    BackendUnavailable,
    InferenceBatch,
    TrainingBatch,
    cap_throughput_factor,
    decode_step_time,
    gpu_power,
    max_batch,
    prefill_time,
    rack_power,
    replica_throughput,
    select_backend,
    training_step_time,
)

pytestmark = pytest.mark.gpu
RTOL = 1e-12  # same float64 formulas; only operation order/FMA may differ


@pytest.fixture(scope="module")
def gpu() -> Backend:
    try:
        return select_backend("cupy")
    except BackendUnavailable as exc:
        pytest.skip(f"needs cupy and a visible CUDA device: {exc}")


def _rng() -> np.random.Generator:
    return np.random.default_rng(20240607)  # owned generator, no global state


def _training(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    tp = rng.choice([1, 2, 4, 8], n).astype(float)
    pp = rng.choice([1, 2, 4, 16], n).astype(float)
    dp = rng.integers(1, 256, n).astype(float)
    mfu = np.where(rng.random(n) < 0.5, np.nan, rng.uniform(0.2, 0.6, n))
    return {
        "params": rng.uniform(1e9, 4e11, n),
        "active_params": rng.uniform(1e9, 4e11, n),
        "layers": rng.integers(16, 128, n).astype(float),
        "hidden": rng.choice([2048, 4096, 8192, 16384], n).astype(float),
        "tokens_per_step": rng.uniform(1e5, 2e7, n),
        "seq_len": rng.choice([2048, 4096, 8192], n).astype(float),
        "n_gpus": tp * pp * dp,
        "tp": tp,
        "pp": pp,
        "dp": dp,
        "peak_flops": rng.choice([989e12, 2.5e15, 5e15], n),
        "mfu": mfu,
        "precision_code": rng.integers(0, 3, n),
        "nvlink_bw": rng.choice([450e9, 900e9], n),
        "dp_bw": rng.choice([50e9, 100e9, 900e9], n),
        "dp_alpha": rng.uniform(2e-6, 2e-5, n),
        "tp_alpha": rng.uniform(1e-6, 5e-6, n),
        "grad_bytes": np.full(n, 2.0),
        "dp_overlap": rng.uniform(0, 1, n),
    }


def _inference(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    params = rng.uniform(7e9, 4e11, n)
    return {
        "params": params,
        "active_params": params * rng.uniform(0.1, 1.0, n),
        "layers": rng.integers(32, 128, n).astype(float),
        "kv_heads": rng.choice([8, 16], n).astype(float),
        "head_dim": np.full(n, 128.0),
        "weight_bytes_per_param": rng.choice([0.5, 1.0, 2.0], n),
        "kv_bytes_per_elem": rng.choice([1.0, 2.0], n),
        "gpus_per_replica": rng.choice([1, 2, 4, 8], n).astype(float),
        "peak_flops": rng.choice([1979e12, 5e15], n),
        "hbm_bw": rng.choice([3.35e12, 8e12], n),
        "hbm_bytes": rng.choice([80e9, 186e9], n),
        "prefill_eff": np.full(n, 0.46),
        "decode_bw_eff": np.full(n, 0.8),
        "mean_prompt": rng.uniform(10, 8000, n),
        "mean_output": rng.uniform(10, 1000, n),
        "batch": rng.integers(1, 512, n).astype(float),
        "seq_overhead_s": rng.choice([0.0, 36e-6, 400e-6], n),  # some rows host-bound
        # latent attention's wider decode core and data-parallel attention's copies
        "decode_attn_width": rng.choice([4096.0, 8192.0, 69_632.0], n),
        "replicated_params": params * rng.choice([0.0, 0.03], n),
    }


def _close(gpu: Backend, dev: Any, ref: np.ndarray) -> None:
    host = gpu.to_host(dev)
    assert isinstance(host, np.ndarray)
    np.testing.assert_allclose(host, ref, rtol=RTOL, atol=0.0)


def test_training_equivalence(gpu: Backend) -> None:
    cols = _training(_rng(), 10_000)
    ref = training_step_time(np, TrainingBatch(**cols))
    dev = training_step_time(gpu.xp, TrainingBatch(**{k: gpu.asarray(v) for k, v in cols.items()}))
    for name in ("step_s", "compute_s", "tp_comm_s", "pp_comm_s", "dp_comm_s", "util"):
        _close(gpu, getattr(dev, name), getattr(ref, name))


def test_inference_equivalence(gpu: Backend) -> None:
    cols = _inference(_rng(), 10_000)
    ref_b = InferenceBatch(**cols)
    dev_b = InferenceBatch(**{k: gpu.asarray(v) for k, v in cols.items()})
    _close(gpu, decode_step_time(gpu.xp, dev_b), decode_step_time(np, ref_b))
    _close(gpu, replica_throughput(gpu.xp, dev_b), replica_throughput(np, ref_b))
    _close(gpu, max_batch(gpu.xp, dev_b), max_batch(np, ref_b))
    prompts = cols["mean_prompt"]
    _close(gpu, prefill_time(gpu.xp, dev_b, gpu.asarray(prompts)), prefill_time(np, ref_b, prompts))


def test_power_equivalence(gpu: Backend) -> None:
    rng = _rng()
    n, racks = 72 * 50, 50
    util = rng.random(n)
    cap = rng.uniform(600, 1300, n)
    gpu_rack = np.repeat(np.arange(racks), 72)
    ref_w = gpu_power(np, util, 200.0, 1200.0, cap)
    dev_w = gpu_power(gpu.xp, gpu.asarray(util), 200.0, 1200.0, gpu.asarray(cap))
    _close(gpu, dev_w, ref_w)
    _close(
        gpu,
        cap_throughput_factor(gpu.xp, gpu.asarray(cap), 200.0, 1200.0),
        cap_throughput_factor(np, cap, 200.0, 1200.0),
    )
    rack_u = rng.random(racks)
    ref_r = rack_power(np, ref_w, gpu_rack, racks, 16.8e3, 33.6e3, rack_u)
    dev_r = rack_power(
        gpu.xp, dev_w, gpu.asarray(gpu_rack), racks, 16.8e3, 33.6e3, gpu.asarray(rack_u)
    )
    np.testing.assert_allclose(gpu.to_host(dev_r), ref_r, rtol=1e-9)  # summation order


def test_fused_kernels_match_reference(gpu: Backend) -> None:
    from cupy_kernels.fused import decode_step_time_fused, gpu_power_fused

    cols = _inference(_rng(), 10_000)
    dev_b = InferenceBatch(**{k: gpu.asarray(v) for k, v in cols.items()})
    _close(gpu, decode_step_time_fused(gpu.xp, dev_b), decode_step_time(np, InferenceBatch(**cols)))
    util = np.linspace(-0.2, 1.2, 1001)
    _close(
        gpu,
        gpu_power_fused(gpu.xp, gpu.asarray(util), 200.0, 1200.0),
        gpu_power(np, util, 200, 1200),
    )
    _close(
        gpu,
        gpu_power_fused(gpu.xp, gpu.asarray(util), 200.0, 1200.0, 900.0),
        gpu_power(np, util, 200.0, 1200.0, 900.0),
    )


def test_auto_selects_cupy_when_device_present(gpu: Backend) -> None:
    b = select_backend("auto")
    assert b.name == "cupy" and b.device == gpu.device and b.device
