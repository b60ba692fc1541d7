"""A hardware profile may override memory size and NVLink bandwidth (issue 10, term 13)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from cupy_kernels.profile import HardwareProfile, override_gpu
from topologies.catalog import H100_SXM


def test_profile_overrides_memory_and_nvlink() -> None:
    prof = HardwareProfile.model_validate({"gpu": "H100 SXM", "hbm_bytes": "96GB",
                                           "nvlink_bw": "200GB/s"})
    gpu = override_gpu(H100_SXM, prof)
    assert gpu.hbm_bytes == 96e9 and gpu.nvlink_bw == 200e9
    assert gpu.hbm_bw == H100_SXM.hbm_bw  # what the profile omits stays


def test_bad_memory_size_is_rejected() -> None:
    with pytest.raises(ValidationError, match="hbm_bytes"):
        HardwareProfile.model_validate({"gpu": "H100 SXM", "hbm_bytes": -1})
