"""numpy and cupy give the same run (DESIGN principle 4), and cupy without a GPU is an error.

The parity test runs the small scenario of ``conftest.py`` on both backends. Every kernel
computes in float64 on both; results may differ only where the GPU contracts a multiply
and add into one FMA or sums in another order (last bits), so summary figures are
compared with ``RTOL`` and the work events (what started, finished, was preempted …, and
when) must be the same events in the same order.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

import cupy_kernels.backend as backend_mod
from cupy_kernels.backend import BackendUnavailable, select_backend
from emulator.build import Simulation
from emulator.cli import app
from emulator.results import collect
from tests.conftest import run_scenario, small_scenario

RTOL = 1e-9
"""Relative tolerance on summary figures: float64 kernels, differing in the last bits per
call (FMA, reduction order), accumulated over a run's many calls."""

_BACKEND_ONLY = ("compute", "event_log_sha256")  # legitimately differ between backends


def _no_cupy_reason() -> str | None:
    """Why the cupy backend cannot be selected here, or ``None`` when it can."""
    try:
        select_backend("cupy")
    except BackendUnavailable as exc:
        return f"needs cupy and a visible CUDA device: {exc}"
    return None


_NO_CUPY = _no_cupy_reason()


def _assert_close(a: Any, b: Any, path: str = "summary") -> None:
    """Recursive comparison: numbers within ``RTOL``, everything else equal."""
    if isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), path
        for k in a:
            _assert_close(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list | tuple):
        assert isinstance(b, list | tuple) and len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _assert_close(x, y, f"{path}[{i}]")
    elif isinstance(a, float) and not isinstance(a, bool):
        assert isinstance(b, float), path
        assert (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=RTOL,
                                                                 abs_tol=1e-12), (path, a, b)
    else:
        assert a == b, (path, a, b)


@pytest.mark.gpu
@pytest.mark.skipif(_NO_CUPY is not None, reason=_NO_CUPY or "")
def test_numpy_and_cupy_runs_agree(small_run: Simulation) -> None:
    gpu_run = run_scenario(small_scenario(compute={"backend": "cupy"}))
    assert small_run.backend.name == "numpy" and gpu_run.backend.name == "cupy"
    ref = collect(small_run).summary
    dev = collect(gpu_run).summary
    assert dev["compute"]["backend"] == "cupy"
    _assert_close({k: v for k, v in ref.items() if k not in _BACKEND_ONLY},
                  {k: v for k, v in dev.items() if k not in _BACKEND_ONLY})
    ref_log, dev_log = small_run.log, gpu_run.log
    assert dev_log.work_kind == ref_log.work_kind
    assert dev_log.work_id == ref_log.work_id
    assert dev_log.work_reason == ref_log.work_reason
    assert dev_log.reasons == ref_log.reasons
    np.testing.assert_allclose(dev_log.work_t, ref_log.work_t, rtol=RTOL, atol=1e-9)
    assert len(dev_log.samples) == len(ref_log.samples)
    np.testing.assert_allclose([s.it_w for s in dev_log.samples],
                               [s.it_w for s in ref_log.samples], rtol=RTOL)


def _no_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(backend_mod, "_probe_cupy",
                        lambda: (None, "cupy import failed: ModuleNotFoundError: test"))


def test_select_cupy_without_gpu_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    _no_gpu(monkeypatch)
    with pytest.raises(BackendUnavailable) as err:
        select_backend("cupy")
    assert "\n" not in str(err.value)
    assert "compute.backend" in str(err.value) and "test" in str(err.value)
    assert select_backend("auto").name == "numpy"  # auto falls back, cupy does not


def test_run_backend_cupy_without_gpu_exits_2(monkeypatch: pytest.MonkeyPatch,
                                              tmp_path: Path) -> None:
    _no_gpu(monkeypatch)
    scenario = tmp_path / "s.yaml"
    scenario.write_text(yaml.safe_dump(small_scenario()), encoding="utf-8")
    result = CliRunner().invoke(app, ["run", str(scenario), "--backend", "cupy", "--headless",
                                      "--out", str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in result.output
    assert lines[0].startswith(f"error: {scenario}: compute.backend: 'cupy' requested but no "
                               "CUDA device")
    assert not (tmp_path / "out").exists()
