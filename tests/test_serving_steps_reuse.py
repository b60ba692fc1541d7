"""A window reuses the last window's decode steps when the services and batches are the
same (emulator/serving.py, ``ServingModel._decode_steps``): the same figures as the
kernel's, without calling it again."""

from __future__ import annotations

import numpy as np
import pytest

from cupy_kernels.power import decode_power_util
from tests.conftest import run_scenario, small_scenario


def test_the_same_batches_reuse_the_steps_and_new_ones_recompute() -> None:
    serving = run_scenario(small_scenario(duration="1h")).engine.serving
    statics = serving._statics
    assert statics is not None
    batches = np.array([1.0])
    first = serving._decode_steps(statics, batches)
    assert serving._decode_steps(statics, batches.copy()) is first  # reused
    second = serving._decode_steps(statics, np.array([3.5]))
    assert second is not first
    # the services' figures built again (a service was added): computed again
    rebuilt = serving.compute.service_statics([s.spec for s in serving.services],
                                              [s.system for s in serving.services])
    assert serving._decode_steps(rebuilt, np.array([3.5])) is not second
    for steps, batch in ((first, 1.0), (second, 3.5)):
        gpu, host, compute = serving.compute.decode_split(statics, np.array([batch]))
        assert steps.gpu_s == pytest.approx(gpu, rel=0, abs=0)
        assert steps.host_s == pytest.approx(host, rel=0, abs=0)
        step = max(float(gpu[0]), float(host[0]))
        assert steps.step_s[0] == step
        assert steps.power_util[0] == float(decode_power_util(
            np, step, float(gpu[0]), float(compute[0])))
