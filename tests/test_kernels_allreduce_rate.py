"""Serving's tensor-parallel all-reduces run at each GPU generation's measured all-reduce
bus bandwidth (nccl-tests ``busbw``, ``GpuSpec.allreduce_busbw``), not at one share of the
NVLink link rate: an A100 reaches 0.80 of its link rate, Hopper 1.04 (reductions in the
NVSwitch), Blackwell 0.90. So the all-reduce seconds of the same TP8 step differ between
generations by the ratio of their bus bandwidths, not of their link rates."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from cupy_kernels.inference import decode_step_time
from tests.conftest import service_statics
from topologies.catalog import CATALOG, GENERIC

BATCH = 4096.0  # sequences per step: 64 MiB per all-reduce, far past the latency terms


def _allreduce_s(system: str) -> float:
    """Seconds of the two all-reduces per layer in one decode step of Llama-3-70B FP8 at
    TP8 and a batch of :data:`BATCH` on ``system`` (the step's GPU time with them minus
    without; the host's share of the step is left out, so the step is the GPU's)."""
    b = replace(service_statics("llama3-70b", "fp8", system, 8), batch=np.array([BATCH]),
                seq_overhead_s=None)
    bare = replace(b, allreduce_bw=None)
    return float(decode_step_time(np, b)[0] - decode_step_time(np, bare)[0])


def test_every_catalog_gpu_has_a_measured_bus_bandwidth() -> None:
    for name, system in CATALOG.items():
        gpu = system.gpu
        if system is GENERIC:
            assert gpu.allreduce_bw() == gpu.nvlink_bw  # nothing measured: the link rate
            continue
        assert gpu.allreduce_busbw > 0, name
        assert "NCCL" in gpu.sources, name
        assert 0.4 * gpu.nvlink_bw < gpu.allreduce_busbw < 1.2 * gpu.nvlink_bw, name


def test_the_kernel_is_given_the_bus_bandwidth() -> None:
    for system in ("dgx-a100", "h100-hgx", "gb200-nvl72"):
        b = service_statics("llama3-70b", "fp8", system, 8)
        gpu = CATALOG[system].gpu
        assert float(b.allreduce_bw[0]) == gpu.allreduce_busbw != gpu.nvlink_bw


@pytest.mark.parametrize(("slow", "fast"), [("dgx-a100", "h100-hgx"),
                                            ("h100-hgx", "gb200-nvl72")])
def test_generations_differ_by_their_bus_bandwidth(slow: str, fast: str) -> None:
    ratio = _allreduce_s(slow) / _allreduce_s(fast)
    busbw = CATALOG[fast].gpu.allreduce_busbw / CATALOG[slow].gpu.allreduce_busbw
    link = CATALOG[fast].gpu.nvlink_bw / CATALOG[slow].gpu.nvlink_bw
    assert ratio == pytest.approx(busbw, rel=0.03)
    assert abs(ratio - link) > 0.1 * link  # not the link rates' ratio (1.5 and 2.0)


def test_a_profiles_link_rate_scales_the_bus_bandwidth() -> None:
    """A hardware profile that measured a slower NVLink (a degraded link, a cut-down
    part) slows the all-reduces with it: the bus bandwidth scales with the link rate."""
    from cupy_kernels.profile import HardwareProfile, override_gpu
    from topologies.catalog import H100_SXM

    half = override_gpu(H100_SXM, HardwareProfile(gpu=H100_SXM.name,
                                                  nvlink_bw=H100_SXM.nvlink_bw / 2))
    assert half.allreduce_bw() == pytest.approx(H100_SXM.allreduce_busbw / 2)
    same = override_gpu(H100_SXM, HardwareProfile(gpu=H100_SXM.name, idle_w=70.0))
    assert same.allreduce_bw() == H100_SXM.allreduce_busbw
