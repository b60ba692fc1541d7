"""``gpuemu calibrate``: the no-GPU path, the measurement code on numpy, the profile writer.

The measurement on a real GPU cannot run here; what can is tested on its seams: the
timing/power routines run on numpy (tiny sizes), the profile is built from a fake
:class:`Measurement`, and the CLI's no-GPU path exits 2 with one line.
"""

from __future__ import annotations

import itertools
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import cupy_kernels.calibrate as cal
from cupy_kernels.backend import BackendUnavailable, select_backend
from cupy_kernels.calibrate import (
    MatmulResult,
    Measurement,
    PowerSampler,
    PowerStats,
    catalog_gpu_for,
    measure,
    profile_from_measurement,
    write_profile,
)
from cupy_kernels.profile import load_profile, override_gpu
from emulator.cli import app
from topologies.catalog import B200_GB200, H100_SXM

ROOT = Path(__file__).resolve().parent.parent


def _gpu_present() -> bool:
    try:
        select_backend("cupy")
    except BackendUnavailable:
        return False
    return True


def _one_error_line(text: str) -> str:
    lines = [ln for ln in text.splitlines() if ln.strip()]
    assert len(lines) == 1, text
    assert "Traceback" not in text
    return lines[0]


def test_cli_without_gpu_exits_2_with_one_line(monkeypatch: pytest.MonkeyPatch,
                                               tmp_path: Path) -> None:
    monkeypatch.setattr(cal, "_probe_cupy", lambda: (None, "no CUDA device: test reason"))
    out = tmp_path / "profile.yaml"
    result = CliRunner().invoke(app, ["calibrate", "--out", str(out), "--seconds", "1"])
    assert result.exit_code == 2
    line = _one_error_line(result.output)
    assert line == "error: calibrate needs a CUDA GPU: no CUDA device: test reason"
    assert not out.exists()


@pytest.mark.skipif(_gpu_present(), reason="a CUDA GPU is visible: calibrate would run")
def test_real_cli_without_gpu_subprocess(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "emulator", "calibrate", "--out",
                           str(tmp_path / "p.yaml")], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stdout == ""
    assert _one_error_line(proc.stderr).startswith("error: calibrate needs a CUDA GPU: ")
    assert not (tmp_path / "p.yaml").exists()


@pytest.mark.parametrize("args", [["--seconds", "0"], ["--seconds", "-2"],
                                  ["--seconds", "nan"], ["--seconds", "601"]])
def test_cli_rejects_bad_seconds(args: list[str]) -> None:
    result = CliRunner().invoke(app, ["calibrate", *args])
    assert result.exit_code == 2
    assert _one_error_line(result.output).startswith("error: --seconds: got ")


def test_cli_rejects_folder_as_out(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["calibrate", "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "is a folder" in _one_error_line(result.output)


def test_power_sampler_collects_readings() -> None:
    readings = itertools.count(100.0, 10.0)  # 100, 110, 120 … W
    deadline = time.monotonic() + 10.0
    with PowerSampler(lambda: next(readings), interval_s=0.001) as sampler:
        while time.monotonic() < deadline:
            current = sampler.stats()
            if current is not None and current.samples >= 5:
                break
            time.sleep(0.002)
    stats = sampler.stats()
    assert stats is not None and stats.samples >= 5
    assert stats.max_w == 100.0 + 10.0 * (stats.samples - 1)
    assert stats.mean_w == pytest.approx((100.0 + stats.max_w) / 2)
    with PowerSampler(None) as idle:
        pass
    assert idle.stats() is None


def test_power_sampler_stops_on_a_failing_reader() -> None:
    calls = iter([300.0])

    def read() -> float:
        return next(calls)  # StopIteration on the second call

    with PowerSampler(read, interval_s=0.001) as sampler:
        pass
    stats = sampler.stats()
    assert stats is None or (stats.samples == 1 and stats.mean_w == 300.0)


def test_measure_runs_on_numpy() -> None:
    readings = itertools.cycle([250.0, 350.0])
    m = measure(np, lambda: None, "cpu", seconds=0.02, today="2026-11-21", n=32,
                copy_bytes=1 << 20, read_w=lambda: next(readings), power_limit_w=700.0,
                power_note="fake reader")
    bf16, fp8 = m.matmul
    assert bf16.precision == "bf16" and bf16.dtype in ("bfloat16", "float16")
    assert bf16.flops_per_s is not None and bf16.flops_per_s > 0 and bf16.n == 32
    assert bf16.power is not None and 250.0 <= bf16.power.mean_w <= 350.0
    assert fp8.precision == "fp8"
    if fp8.dtype is None:  # numpy without ml_dtypes has no fp8
        assert fp8.flops_per_s is None and fp8.note.startswith("unsupported: ")
    assert m.copy_bytes == 1 << 20 and m.copy_bytes_per_s > 0
    assert m.idle_power is not None and m.copy_power is not None
    assert (m.date, m.power_limit_w, m.power_note) == ("2026-11-21", 700.0, "fake reader")


def test_catalog_gpu_for_device_names() -> None:
    assert catalog_gpu_for("NVIDIA H100 80GB HBM3") is H100_SXM
    assert catalog_gpu_for("NVIDIA GB200") is B200_GB200
    assert catalog_gpu_for("NVIDIA H100 PCIe") is None  # other peaks than the SXM part
    assert catalog_gpu_for("NVIDIA H200") is None


def _fake(device: str = "NVIDIA H100 80GB HBM3") -> Measurement:
    load = PowerStats(mean_w=640.0, max_w=690.0, samples=100)
    return Measurement(
        device=device, date="2026-11-21", seconds=5.0,
        matmul=(MatmulResult("bf16", "float16", 742e12, 8192, "measured float16", load),
                MatmulResult("fp8", None, None, 8192, "unsupported: no float8 dtype")),
        copy_bytes_per_s=3.0e12, copy_bytes=1 << 30,
        copy_power=PowerStats(480.0, 500.0, 100), idle_power=PowerStats(72.0, 75.0, 40),
        power_limit_w=700.0, power_note="NVML", software="cupy 14.0.0")


def test_profile_from_fake_measurement_and_round_trip(tmp_path: Path) -> None:
    prof = profile_from_measurement(_fake())
    assert prof.gpu == H100_SXM.name and prof.device == "NVIDIA H100 80GB HBM3"
    assert prof.peak_flops == {"bf16": 742e12, "fp8": "unsupported"}
    assert prof.hbm_bw == 3.0e12
    assert (prof.idle_w, prof.tdp_w) == (72.0, 640.0)
    assert prof.efficiencies == {"bf16": round(742 / 989, 4),
                                 "hbm_bw": round(3.0e12 / 3.35e12, 4)}
    assert prof.measured["matmul"]["bf16"]["dtype"] == "float16"
    assert prof.measured["power_limit_w"] == 700.0
    path = tmp_path / "sub" / "profile.yaml"
    write_profile(prof, path)
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# gpuemu hardware profile")
    assert load_profile(path) == prof  # what calibrate writes, a scenario can read
    gpu = override_gpu(H100_SXM, load_profile(path))
    assert gpu.peak("bf16") == 742e12 and gpu.peak("fp8") == H100_SXM.peak("fp8")
    assert (gpu.idle_w, gpu.tdp_w, gpu.hbm_bw) == (72.0, 640.0, 3.0e12)
    assert not list(path.parent.glob(".*.tmp"))  # atomic write left no temporary


def test_profile_for_unknown_device_says_to_set_gpu() -> None:
    prof = profile_from_measurement(_fake("NVIDIA H200"))
    assert prof.gpu == "NVIDIA H200" and prof.efficiencies == {}
    assert "not in the catalog" in prof.measured["note"]
    explicit = profile_from_measurement(_fake("NVIDIA H200"), catalog=H100_SXM)
    assert explicit.gpu == H100_SXM.name and "bf16" in explicit.efficiencies
