"""A precision a GPU has no tensor cores for runs at the next wider one it has: at that
precision's peak *and* efficiency, so asking for fp8 on an A100 (or fp4 on an H100) is
never slower than the precision the GEMMs actually run at."""

from __future__ import annotations

import numpy as np
import pytest

from cupy_kernels.inference import PREFILL_EFF
from emulator import api
from tests.conftest import SMALL_SITE, service_statics
from topologies.catalog import A100_SXM, B200_GB200, H100_SXM


def test_compute_precision_falls_back_to_the_next_wider() -> None:
    assert A100_SXM.compute_precision("fp8") == "bf16"
    assert A100_SXM.compute_precision("fp4") == "bf16"
    assert H100_SXM.compute_precision("fp4") == "fp8"
    assert B200_GB200.compute_precision("fp4") == "fp4"
    assert H100_SXM.peak("fp4") == H100_SXM.peak_flops["fp8"]


def _job_s(system: str, precision: str) -> float:
    """Run time (s) of one 8-GPU llama3-8b job at ``precision`` on a rack of ``system``."""
    data = {"name": "p", "seed": 1, "duration": "30d",
            "sites": [dict(SMALL_SITE, halls=[{"name": "h", "system": system, "racks": 1}])],
            "tenants": {"lab": {"jobs": [{"name": "j", "model": "llama3-8b", "gpus": 8,
                                          "tokens": 1e8, "precision": precision,
                                          "checkpoint_cost": 0}]}},
            "compute": {"backend": "numpy"}}
    jobs = api.run(data).jobs
    assert list(jobs["state"]) == ["finished"]
    return float(jobs["jct_s"].iloc[0])


@pytest.mark.parametrize(("system", "asked", "runs_at"), [
    ("dgx-a100", "fp8", "bf16"), ("dgx-a100", "fp4", "bf16"), ("h100-hgx", "fp4", "fp8")])
def test_training_at_a_missing_precision_runs_as_the_wider_one(system: str, asked: str,
                                                                runs_at: str) -> None:
    assert _job_s(system, asked) == pytest.approx(_job_s(system, runs_at), rel=1e-12)


def test_prefill_efficiency_follows_the_precision_computed_in() -> None:
    a100_fp8 = service_statics("llama3-8b", "fp8", "dgx-a100", 1)
    h100_fp4 = service_statics("llama3-8b", "fp4", "h100-hgx", 1)
    b200_fp4 = service_statics("llama3-8b", "fp4", "gb200-nvl72", 1)
    assert np.allclose(a100_fp8.prefill_eff, PREFILL_EFF["bf16"])
    assert np.allclose(h100_fp4.prefill_eff, PREFILL_EFF["fp8"])
    assert np.allclose(b200_fp4.prefill_eff, PREFILL_EFF["fp4"])


@pytest.mark.parametrize("system", ["gb200-nvl72", "b200-hgx", "gb300-nvl72", "h100-hgx"])
def test_a_narrower_training_precision_never_slows_the_same_job(system: str) -> None:
    """8 GPUs of llama3-8b at 8k: fp4 no slower than fp8, fp8 no slower than bf16 (on a
    GB200, fp4 took 8 % longer than fp8 when its attention core ran at the fp4
    efficiency)."""
    bf16, fp8, fp4 = (_job_s(system, p) for p in ("bf16", "fp8", "fp4"))
    assert fp4 <= fp8 * (1 + 1e-12)
    assert fp8 < bf16


def test_a_nan_mfu_is_no_imposed_mfu_for_the_precision_choice() -> None:
    """The kernel reads a NaN ``mfu`` as 'use the efficiency model'; the choice of GEMM
    precision once read it as imposed and kept fp4 on a B200, where fp8 is faster."""
    import math
    from dataclasses import replace

    from emulator.compute import ComputeModel, _train_gemm_precision
    from topologies.catalog import B200_HGX, CATALOG
    from workloads.spec import TrainingJobSpec

    assert _train_gemm_precision(B200_HGX, "fp4", None) == "fp8"
    assert _train_gemm_precision(B200_HGX, "fp4", math.nan) == "fp8"
    assert _train_gemm_precision(B200_HGX, "fp4", 0.3) == "fp4"  # imposed: as asked
    spec = TrainingJobSpec(
        job_id=0, tenant="lab", name="j", model="llama3-8b", submit_s=0.0, n_gpus=8, tp=8,
        pp=1, dp=1, tokens=1e9, tokens_per_step=1e6, seq_len=8192, precision="fp4",
        checkpoint_interval_s=None, checkpoint_cost_s=0.0)
    from cupy_kernels.backend import select_backend
    from tests.test_core_api import _index

    compute = ComputeModel(select_backend("numpy"), _index())
    system = CATALOG["b200-hgx"]
    tier, first = np.array([0]), np.array([0])
    none = compute.training([spec], [system], tier, first).step_s[0]
    nan = compute.training([replace(spec, mfu=math.nan)], [system], tier, first).step_s[0]
    assert nan == none
