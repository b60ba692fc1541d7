"""Hardware profiles: measured (or hand-written) GPU figures that override the catalog's.

A profile is a small YAML file, written by ``gpuemu calibrate`` or by hand, and named in a
scenario as ``compute.profile: path/to/profile.yaml`` (a relative path is resolved against
the scenario file's folder). Example::

    gpu: "B200 (GB200)"          # catalog GPU name, or a system name such as gb200-nvl72
    peak_flops: {bf16: 2.2e15, fp8: 4.4e15}   # dense FLOP/s per GPU
    hbm_bw: 7.2TB/s              # bytes/s (a number, or "7.2TB/s")
    hbm_bytes: 180GB             # memory size per GPU (KV-cache room)
    nvlink_bw: 900GB/s           # NVLink bytes/s per GPU per direction (all NVLink traffic)
    idle_w: 180W
    tdp_w: 1150W                 # power at full utilisation (the power model's top point)

Every figure is optional; the ones given replace the catalog's for every system whose GPU
(or system name) matches ``gpu``. ``efficiencies`` (measured/catalog) and ``measured``
(raw calibration details) are recorded for the reader and not applied: the training and
inference efficiencies of :mod:`cupy_kernels.training` and :mod:`cupy_kernels.inference`
stay as calibrated in ``docs/validation.md``. Note that those efficiencies were fitted
against *datasheet* peaks; a profile that puts a *measured* GEMM rate in ``peak_flops``
therefore also lowers the predicted throughput by measured/datasheet (see
``docs/kernels.md``).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from emulator.errors import UserError, describe_validation_error
from emulator.units import Bytes, UnitError, Watts, parse_bandwidth_bps
from topologies.catalog import GpuSpec, SystemSpec
from topologies.index import TopologyIndex

__all__ = [
    "UNSUPPORTED",
    "HardwareProfile",
    "ProfileError",
    "apply_profile",
    "load_profile",
    "override_gpu",
    "profile_matches",
]

UNSUPPORTED = "unsupported"
"""Marker for a precision the calibration could not measure (kept out of the override)."""

Precision = Literal["fp4", "fp8", "bf16", "tf32"]


def _peak(value: object) -> float | str:
    """A ``peak_flops`` entry: a positive FLOP/s number or ``"unsupported"``."""
    if value == UNSUPPORTED:
        return UNSUPPORTED
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        number = float("nan")
    if isinstance(value, bool) or not number > 0 or number == float("inf"):
        raise ValueError(f"a positive dense FLOP/s figure such as 2.5e15, or {UNSUPPORTED!r}")
    return number


PeakFlops = Annotated[float | str, BeforeValidator(_peak)]


def _bytes_per_s(value: object) -> float:
    """Bytes/s: a plain number is bytes/s (``7.2e12``); a string with a unit is read by
    :func:`~emulator.units.parse_bandwidth_bps` (``"7.2TB/s"`` bytes, ``"800Gbps"`` bits)."""
    if isinstance(value, bool):
        raise UnitError(f"{value!r} is not a bandwidth; expected bytes/s such as 7.2e12")
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(value)  # type: ignore[arg-type]  # PyYAML reads 7.2e12 as a string
    except (TypeError, ValueError):
        return parse_bandwidth_bps(value) / 8.0  # type: ignore[arg-type]


BytesPerSecond = Annotated[float, BeforeValidator(_bytes_per_s)]


class ProfileError(UserError):
    """A hardware profile that cannot be read, validated or applied (one-line message)."""


class HardwareProfile(BaseModel):
    """One GPU type's figures, in SI units (FLOP/s, bytes/s, W).

    ``gpu`` selects the systems to override: a catalog GPU name (``"B200 (GB200)"``,
    ``"H100 SXM"``) or a system name (``"gb200-nvl72"``; hall variants such as
    ``"h100-hgx/1-per-rack"`` match their base name). ``peak_flops`` values are dense peaks
    per GPU; the string ``"unsupported"`` records a precision that could not be measured
    and leaves the catalog figure in place.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    gpu: str = Field(min_length=1, description="catalog GPU name or system name to override")
    device: str | None = Field(default=None, description="measured device name (calibrate)")
    date: str | None = Field(default=None, description="ISO date of the measurement")
    peak_flops: dict[Precision, PeakFlops] = Field(
        default_factory=dict, description="dense FLOP/s per GPU by precision")
    hbm_bw: BytesPerSecond | None = Field(default=None, gt=0,
                                          description="memory bandwidth, B/s")
    hbm_bytes: Bytes | None = Field(default=None, gt=0, description="memory size, bytes")
    nvlink_bw: BytesPerSecond | None = Field(default=None, gt=0,
                                             description="NVLink B/s per GPU per direction")
    idle_w: Watts | None = Field(default=None, ge=0, description="GPU power at idle, W")
    tdp_w: Watts | None = Field(default=None, gt=0,
                                description="GPU power at full utilisation, W")
    efficiencies: dict[str, float] = Field(
        default_factory=dict, description="measured/catalog ratios (informational)")
    measured: dict[str, Any] = Field(
        default_factory=dict, description="raw calibration details (informational)")

    def measured_peaks(self) -> dict[str, float]:
        """The ``peak_flops`` entries that are numbers (FLOP/s), without ``unsupported``."""
        return {p: v for p, v in self.peak_flops.items() if isinstance(v, float)}


def _resolve(path: str | Path, relative_to: str | Path | None) -> Path:
    p = Path(path)
    if p.is_absolute() or relative_to is None:
        return p
    base = Path(relative_to)
    return base.parent / p if base.is_file() else p


def load_profile(path: str | Path, relative_to: str | Path | None = None) -> HardwareProfile:
    """Read and validate the profile at ``path``.

    A relative ``path`` is taken from the folder of ``relative_to`` when that names an
    existing file (the scenario), else from the working directory. Raises
    :class:`ProfileError` naming the file, the field and the bad value.
    """
    p = _resolve(path, relative_to)
    if not p.is_file():
        found = "is a folder" if p.is_dir() else "file not found"
        raise ProfileError(f"compute.profile: {p}: {found}; expected a hardware "
                           "profile YAML (gpuemu calibrate writes one)")
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ProfileError(f"compute.profile: {p}: not valid YAML: {first}") from None
    if not isinstance(data, dict):
        raise ProfileError(f"compute.profile: {p}: top level is {type(data).__name__}; "
                           "expected a mapping with gpu, peak_flops, hbm_bw, idle_w, tdp_w")
    try:
        return HardwareProfile.model_validate(data)
    except ValidationError as exc:
        raise ProfileError(f"compute.profile: {p}: {describe_validation_error(exc)}") from None


def profile_matches(system: SystemSpec, gpu: str) -> bool:
    """Whether a profile for ``gpu`` applies to ``system`` (GPU name or system name)."""
    return gpu in (system.gpu.name, system.name, system.name.split("/")[0])


def override_gpu(gpu: GpuSpec, profile: HardwareProfile) -> GpuSpec:
    """``gpu`` with the figures ``profile`` gives replaced (a new frozen :class:`GpuSpec`)."""
    peaks = {**gpu.peak_flops, **profile.measured_peaks()}
    idle = profile.idle_w if profile.idle_w is not None else gpu.idle_w
    tdp = profile.tdp_w if profile.tdp_w is not None else gpu.tdp_w
    if idle >= tdp:
        raise ProfileError(f"compute.profile: idle_w {idle:g} W is not below tdp_w {tdp:g} W "
                           f"for {gpu.name} (catalog fills the field the profile omits)")
    label = "profile: " + " ".join(x for x in (profile.device or profile.gpu, profile.date) if x)
    return replace(gpu, peak_flops=peaks,
                   hbm_bw=profile.hbm_bw if profile.hbm_bw is not None else gpu.hbm_bw,
                   hbm_bytes=profile.hbm_bytes if profile.hbm_bytes is not None
                   else gpu.hbm_bytes,
                   nvlink_bw=profile.nvlink_bw if profile.nvlink_bw is not None
                   else gpu.nvlink_bw,
                   # a measured link rate scales the all-reduce bus bandwidth with it
                   allreduce_busbw=gpu.allreduce_busbw * profile.nvlink_bw / gpu.nvlink_bw
                   if profile.nvlink_bw is not None else gpu.allreduce_busbw,
                   idle_w=idle, tdp_w=tdp, sources=(*gpu.sources, label))


def apply_profile(index: TopologyIndex, profile: HardwareProfile) -> TopologyIndex:
    """A new index whose matching ``systems`` carry the profile's GPU figures.

    A profile's ``nvlink_bw`` also replaces the per-GPU NVLink rate of those systems'
    GPUs (``gpu_nvlink_bw``, bytes/s: the link data-parallel, pipeline and expert traffic
    of a job inside one NVLink domain uses), so tensor-parallel and other NVLink traffic
    see the same rate. The other topology arrays are shared with ``index`` (they are not
    modified). Raises :class:`ProfileError` when ``profile.gpu`` matches no system of the
    scenario.
    """
    hits = [i for i, s in enumerate(index.systems) if profile_matches(s, profile.gpu)]
    if not hits:
        known = sorted({s.gpu.name for s in index.systems} | {s.name for s in index.systems})
        raise ProfileError(f"compute.profile: gpu: got {profile.gpu!r}; expected a GPU or "
                           f"system of this scenario: {', '.join(known)}")
    systems = list(index.systems)
    for i in hits:
        systems[i] = replace(systems[i], gpu=override_gpu(systems[i].gpu, profile))
    if profile.nvlink_bw is None:
        return replace(index, systems=tuple(systems))
    matched = np.isin(index.rack_system[index.gpu_rack], hits)
    nvlink = np.where(matched, profile.nvlink_bw, index.gpu_nvlink_bw)
    return replace(index, systems=tuple(systems), gpu_nvlink_bw=nvlink)
