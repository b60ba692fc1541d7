"""Hardware profiles: reading, validation errors, applying them to the index and a run."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from cupy_kernels.profile import (
    HardwareProfile,
    ProfileError,
    apply_profile,
    load_profile,
    override_gpu,
)
from emulator import api
from emulator.build import build
from emulator.cli import app
from emulator.errors import UserError
from emulator.loader import load_scenario, validate_scenario
from tests.conftest import small_scenario
from topologies.catalog import B200_GB200, H100_SXM
from topologies.index import derive_index

B200 = B200_GB200.name


def _write(path: Path, data: object) -> Path:
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def _half_bf16() -> dict[str, object]:
    return {"gpu": B200, "peak_flops": {"bf16": B200_GB200.peak_flops["bf16"] / 2}}


def test_hand_written_profile_reads_units(tmp_path: Path) -> None:
    p = tmp_path / "p.yaml"
    p.write_text('gpu: "B200 (GB200)"\npeak_flops: {bf16: 2.2e15, fp8: unsupported}\n'
                 "hbm_bw: 7.2TB/s\nidle_w: 180W\ntdp_w: 1.15kW\n", encoding="utf-8")
    prof = load_profile(p)
    # PyYAML reads "2.2e15" (no exponent sign) as a string; the model takes it as FLOP/s.
    assert prof.peak_flops == {"bf16": 2.2e15, "fp8": "unsupported"}
    assert prof.measured_peaks() == {"bf16": 2.2e15}
    assert prof.hbm_bw == pytest.approx(7.2e12)
    assert (prof.idle_w, prof.tdp_w) == (180.0, 1150.0)


@pytest.mark.parametrize(("given", "bytes_per_s"), [
    (7.2e12, 7.2e12), ("7.2e12", 7.2e12), ("7.2TB/s", 7.2e12), ("800Gbps", 1e11)])
def test_hbm_bw_plain_numbers_are_bytes_per_second(given: object, bytes_per_s: float) -> None:
    assert HardwareProfile(gpu=B200, hbm_bw=given).hbm_bw == pytest.approx(bytes_per_s)


@pytest.mark.parametrize(("data", "needles"), [
    ({"gpu": B200, "peak_flops": {"bf16": -1}}, ("peak_flops.bf16", "-1", "positive")),
    ({"gpu": B200, "peak_flops": {"bf16": "fast"}}, ("peak_flops.bf16", "'fast'")),
    ({"gpu": B200, "peak_flops": {"fp16": 1e15}}, ("peak_flops.fp16", "'fp16'")),
    ({"gpu": B200, "hbm_bw": "8 furlongs"}, ("hbm_bw", "furlongs")),
    ({"gpu": B200, "tdp_w": 0}, ("tdp_w", "got 0")),
    ({"gpu": B200, "idle_w": -5}, ("idle_w", "-5")),
    ({"gpu": B200, "tdp": 700}, ("tdp", "unknown field")),
    ({"peak_flops": {}}, ("gpu", "missing")),
])
def test_bad_profile_names_field_and_value(tmp_path: Path, data: dict[str, object],
                                           needles: tuple[str, ...]) -> None:
    path = _write(tmp_path / "bad.yaml", data)
    with pytest.raises(ProfileError) as err:
        load_profile(path)
    message = str(err.value)
    assert "\n" not in message
    assert isinstance(err.value, UserError)
    for needle in ("compute.profile", "bad.yaml", *needles):
        assert needle in message, message


def test_unreadable_profiles(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match="file not found"):
        load_profile(tmp_path / "absent.yaml")
    with pytest.raises(ProfileError, match="is a folder"):  # once "file not found"
        load_profile(tmp_path)
    (tmp_path / "list.yaml").write_text("- 1\n- 2\n", encoding="utf-8")
    with pytest.raises(ProfileError, match="top level is list"):
        load_profile(tmp_path / "list.yaml")
    (tmp_path / "broken.yaml").write_text("gpu: [unclosed\n", encoding="utf-8")
    with pytest.raises(ProfileError, match="not valid YAML"):
        load_profile(tmp_path / "broken.yaml")


def test_relative_path_is_taken_from_the_scenario_folder(tmp_path: Path) -> None:
    _write(tmp_path / "hw.yaml", _half_bf16())
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text("{}", encoding="utf-8")
    assert load_profile("hw.yaml", relative_to=scenario).gpu == B200
    with pytest.raises(ProfileError, match="file not found"):
        load_profile("hw.yaml", relative_to=tmp_path / "no-such-scenario.yaml")


def test_override_gpu_replaces_only_given_figures() -> None:
    prof = HardwareProfile(gpu=H100_SXM.name, peak_flops={"bf16": 800e12, "fp8": "unsupported"},
                           idle_w=70.0, date="2026-11-21", device="NVIDIA H100 80GB HBM3")
    gpu = override_gpu(H100_SXM, prof)
    assert gpu.peak("bf16") == 800e12
    assert gpu.peak("fp8") == H100_SXM.peak("fp8")  # "unsupported" keeps the catalog figure
    assert (gpu.idle_w, gpu.tdp_w, gpu.hbm_bw) == (70.0, H100_SXM.tdp_w, H100_SXM.hbm_bw)
    assert gpu.sources[-1] == "profile: NVIDIA H100 80GB HBM3 2026-11-21"
    assert H100_SXM.peak("bf16") == 989e12  # the catalog is untouched (frozen, replaced)
    with pytest.raises(ProfileError, match="idle_w 800 W is not below tdp_w 700 W"):
        override_gpu(H100_SXM, HardwareProfile(gpu=H100_SXM.name, idle_w=800.0))


def test_apply_profile_returns_a_new_index() -> None:
    loaded = validate_scenario(small_scenario())
    index = derive_index(list(loaded.sites))
    new = apply_profile(index, HardwareProfile(gpu="gb200-nvl72", tdp_w=1000.0,
                                               hbm_bw=6e12))
    assert new is not index
    assert new.systems[0].gpu.tdp_w == 1000.0 and new.systems[0].gpu.hbm_bw == 6e12
    assert index.systems[0].gpu.tdp_w == B200_GB200.tdp_w
    assert new.n_gpus == index.n_gpus and new.gpu_rack is index.gpu_rack
    with pytest.raises(ProfileError, match=r"gpu: got 'H100 SXM'.*gb200-nvl72"):
        apply_profile(index, HardwareProfile(gpu=H100_SXM.name))


def _training_estimates(data: dict[str, object]) -> np.ndarray:
    sim = build(validate_scenario(data))
    est = np.array([w.est_duration_s for w in sim.works if w.kind == "training"])
    assert est.size > 0 and np.isfinite(est).all()
    return est


def test_halving_bf16_peak_lengthens_training(tmp_path: Path) -> None:
    path = _write(tmp_path / "half.yaml", _half_bf16())
    base = _training_estimates(small_scenario())
    slow = _training_estimates(small_scenario(compute={"backend": "numpy",
                                                       "profile": str(path)}))
    assert slow.shape == base.shape
    assert (slow > base).all()
    # Compute is most of a step, so the duration grows by well over half of the 2x.
    assert float(np.median(slow / base)) > 1.5
    assert float((slow / base).max()) <= 2.0 + 1e-9


def test_profile_power_reaches_the_power_model(tmp_path: Path) -> None:
    path = _write(tmp_path / "p.yaml", {"gpu": B200, "idle_w": 100.0, "tdp_w": 1000.0})
    sim = build(validate_scenario(small_scenario(compute={"backend": "numpy",
                                                          "profile": str(path)})))
    n = sim.index.n_gpus
    _, it_idle, _ = sim.engine.compute.power(np.zeros(n), np.ones(1), np.zeros(1))
    base = build(validate_scenario(small_scenario()))
    _, it_base, _ = base.engine.compute.power(np.zeros(n), np.ones(1), np.zeros(1))
    assert it_base[0] - it_idle[0] == pytest.approx(n * (B200_GB200.idle_w - 100.0))


def test_scenario_file_with_relative_profile(tmp_path: Path) -> None:
    _write(tmp_path / "hw.yaml", _half_bf16())
    scenario = _write(tmp_path / "s.yaml", small_scenario(compute={"backend": "numpy",
                                                                   "profile": "hw.yaml"}))
    sim = build(load_scenario(scenario))
    assert sim.index.systems[0].gpu.peak("bf16") == B200_GB200.peak_flops["bf16"] / 2
    assert math.isclose(sim.index.systems[0].gpu.peak("fp8"), B200_GB200.peak("fp8"))


def test_run_with_bad_profile_exits_2_with_one_line(tmp_path: Path) -> None:
    _write(tmp_path / "hw.yaml", {"gpu": B200, "hbm_bw": -3})
    scenario = _write(tmp_path / "s.yaml", small_scenario(compute={"backend": "numpy",
                                                                   "profile": "hw.yaml"}))
    result = CliRunner().invoke(app, ["run", str(scenario), "--headless",
                                      "--out", str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in result.output
    assert lines[0].startswith(f"error: {scenario}: compute.profile:")
    assert "hbm_bw" in lines[0] and "-3" in lines[0]
    assert not (tmp_path / "out").exists()


def _nvlink_job_s(tmp_path: Path, nvlink_bw: str | None) -> float:
    """Run time (s) of one data-parallel job (tp 1, 8 GPUs in one NVLink domain)."""
    data = small_scenario()
    data["tenants"] = {"lab": {"jobs": [{"name": "dp8", "model": "llama3-8b", "gpus": 8,
                                         "tokens": 2e8, "checkpoint_cost": 0}]}}
    if nvlink_bw is not None:
        path = _write(tmp_path / f"nv{len(list(tmp_path.iterdir()))}.yaml",
                      {"gpu": B200, "nvlink_bw": nvlink_bw})
        data["compute"] = {"backend": "numpy", "profile": str(path)}
    jobs = api.run(data).jobs
    assert list(jobs["state"]) == ["finished"]
    return float(jobs["jct_s"].iloc[0])


def test_profile_nvlink_bw_reaches_data_parallel_traffic(tmp_path: Path) -> None:
    """The gradient all-reduce of a job inside one NVLink domain runs at the profile's
    NVLink rate, as its tensor-parallel all-reduces do: a slower link, a longer job."""
    loaded = validate_scenario(small_scenario())
    index = derive_index(list(loaded.sites))
    new = apply_profile(index, HardwareProfile(gpu=B200, nvlink_bw=45e9))
    assert np.all(new.gpu_nvlink_bw == 45e9) and np.all(index.gpu_nvlink_bw == 0.9e12)
    slow, base = _nvlink_job_s(tmp_path, "45GB/s"), _nvlink_job_s(tmp_path, None)
    assert slow > base > _nvlink_job_s(tmp_path, "9TB/s")
