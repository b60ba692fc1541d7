"""GPU calibration: measured matmul rate, copy bandwidth and board power → a hardware profile.

``gpuemu calibrate`` calls :func:`run_calibration` on a CUDA machine. Each test runs for
``seconds`` of wall time (after one warm-up call), synchronising the stream before the
clock is read:

* **dense matmul** — ``C = A @ B`` with ``n × n`` matrices (``n = 8192`` on the GPU):
  ``2·n³`` FLOP per call. bf16 uses cupy's ``bfloat16`` (cupy ≥ 14 with ``ml_dtypes``)
  when a trial product is correct, else float16 — whose dense tensor-core rate is the
  bf16 rate on Hopper and Blackwell — and the profile says which. fp8 is measured only
  when cupy can multiply ``float8_e4m3fn`` matrices; otherwise it is recorded as
  ``"unsupported"`` (cupy has no fp8 GEMM as of v14).
* **memory bandwidth** — a device-to-device copy of a 1 GiB buffer (or a quarter of free
  memory if smaller); bytes moved = read + written = ``2 × size`` per copy, in bytes/s.
* **board power** — NVML ``nvmlDeviceGetPowerUsage`` (``nvidia-ml-py``, optional) sampled
  every 50 ms by a background thread during each test, and for a short idle period
  before the tests; mean and max in W.

The measurement routines take the array module ``xp`` and a ``sync`` callable, so the same
code runs (tiny and slow) on numpy in the tests. Nothing here touches global random
state: inputs are ``sin``/``cos`` of an index ramp, which keeps the tensor cores' data
(and so their power draw) non-trivial.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from cupy_kernels.backend import _probe_cupy
from cupy_kernels.profile import UNSUPPORTED, HardwareProfile
from topologies.catalog import B200_GB200, H100_SXM, GpuSpec

__all__ = [
    "CalibrationUnavailable",
    "MatmulResult",
    "Measurement",
    "PowerSampler",
    "PowerStats",
    "catalog_gpu_for",
    "measure",
    "measure_copy",
    "measure_matmul",
    "profile_from_measurement",
    "profile_yaml",
    "run_calibration",
    "write_profile",
]

MATMUL_N = 8192
"""Matrix side on the GPU: 2·8192³ ≈ 1.1 TFLOP per product, large enough to saturate
tensor cores, 3 × 128 MiB in bf16."""

COPY_BYTES = 1 << 30
"""Copy buffer size on the GPU (B): far beyond any L2 cache (50 MB on H100)."""

POWER_INTERVAL_S = 0.05
"""NVML sampling period (s). NVML itself averages board power over ~25–1000 ms by GPU."""


class CalibrationUnavailable(RuntimeError):  # noqa: N818 — reads as a condition, like BackendUnavailable
    """No cupy or no CUDA device: calibration cannot run. The message is the reason."""


@dataclass(frozen=True)
class PowerStats:
    """Board power over one test: mean and max of the samples (W), and how many."""

    mean_w: float
    max_w: float
    samples: int


@dataclass(frozen=True)
class MatmulResult:
    """One precision's dense matmul rate.

    ``dtype`` is the array dtype actually multiplied (``None`` when unsupported);
    ``flops_per_s`` the achieved FLOP/s (``None`` when unsupported); ``n`` the matrix side.
    """

    precision: str
    dtype: str | None
    flops_per_s: float | None
    n: int
    note: str
    power: PowerStats | None = None


@dataclass(frozen=True)
class Measurement:
    """Everything one calibration measured (SI units: FLOP/s, bytes/s, B, W, s)."""

    device: str
    date: str
    seconds: float
    matmul: tuple[MatmulResult, ...]
    copy_bytes_per_s: float
    copy_bytes: int
    copy_power: PowerStats | None = None
    idle_power: PowerStats | None = None
    power_limit_w: float | None = None
    power_note: str = "power not measured"
    software: str = ""


class PowerSampler:
    """Samples ``read_w()`` (W) every ``interval_s`` in a daemon thread while entered.

    With ``read_w=None`` it records nothing and :meth:`stats` is ``None``. A reading that
    raises ends the sampling for that test (the samples so far are kept).
    """

    def __init__(self, read_w: Callable[[], float] | None,
                 interval_s: float = POWER_INTERVAL_S) -> None:
        self._read = read_w
        self._interval = interval_s
        self._samples: list[float] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _loop(self) -> None:
        assert self._read is not None
        while True:
            try:
                self._samples.append(float(self._read()))
            except Exception:  # NVML hiccup: keep what we have
                return
            if self._stop.wait(self._interval):
                return

    def __enter__(self) -> PowerSampler:
        if self._read is not None:
            self._thread = threading.Thread(target=self._loop, name="gpuemu-power",
                                            daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def stats(self) -> PowerStats | None:
        """Mean/max W of the samples taken, or ``None`` if there are none."""
        if not self._samples:
            return None
        return PowerStats(mean_w=sum(self._samples) / len(self._samples),
                          max_w=max(self._samples), samples=len(self._samples))


def _run_for(fn: Callable[[], Any], sync: Callable[[], None], seconds: float) -> tuple[int, float]:
    """Call ``fn`` (after one warm-up) until ``seconds`` pass: ``(calls, elapsed s)``."""
    fn()
    sync()
    calls, start = 0, time.perf_counter()
    batch = 1
    while True:
        for _ in range(batch):
            fn()
        sync()
        calls += batch
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return calls, elapsed
        batch = min(batch * 2, 64)  # fewer host syncs once the rate is known


def _dtype_candidates(xp: Any, precision: str) -> list[tuple[str, Any]]:
    """(name, dtype) to try for ``precision``, best first."""
    try:
        import ml_dtypes  # optional: cupy's bfloat16/float8 come from it
    except ImportError:
        ml_dtypes = None
    found: list[tuple[str, Any]] = []
    if precision == "bf16":
        bf16 = getattr(xp, "bfloat16", None) or getattr(ml_dtypes, "bfloat16", None)
        if bf16 is not None:
            found.append(("bfloat16", bf16))
        found.append(("float16", xp.float16))
    elif precision == "fp8":
        fp8 = getattr(xp, "float8_e4m3fn", None) or getattr(ml_dtypes, "float8_e4m3fn", None)
        if fp8 is not None:
            found.append(("float8_e4m3fn", fp8))
    return found


def _works(xp: Any, dtype: Any, sync: Callable[[], None]) -> str | None:
    """``None`` if a 64×64 product of ones in ``dtype`` gives 64, else why not."""
    try:
        ones = xp.ones((64, 64), dtype=xp.float32).astype(dtype)
        c = ones @ ones
        sync()
        value = float(c[0, 0].astype(xp.float32))
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}".splitlines()[0]
    return None if value == 64.0 else f"trial product gave {value}, expected 64"


def measure_matmul(xp: Any, sync: Callable[[], None], precision: str, seconds: float,
                   n: int = MATMUL_N, read_w: Callable[[], float] | None = None
                   ) -> MatmulResult:
    """Dense ``n × n`` matmul rate at ``precision`` (``"bf16"`` or ``"fp8"``), FLOP/s."""
    reasons: list[str] = []
    for name, dtype in _dtype_candidates(xp, precision):
        why = _works(xp, dtype, sync)
        if why is not None:
            reasons.append(f"{name}: {why}")
            continue
        ramp = xp.arange(n * n, dtype=xp.float32).reshape(n, n)
        a = xp.sin(ramp).astype(dtype)
        b = xp.cos(ramp).astype(dtype)
        del ramp
        with PowerSampler(read_w) as sampler:
            calls, elapsed = _run_for(lambda: a @ b, sync, seconds)  # noqa: B023 — runs now
        note = f"measured {name}"
        if reasons:
            note += f" ({'; '.join(reasons)})"
        if precision == "bf16" and name == "float16":
            note += "; float16 dense tensor-core rate equals bf16 on Hopper and Blackwell"
        return MatmulResult(precision, name, 2.0 * n**3 * calls / elapsed, n, note,
                            sampler.stats())
    why = "; ".join(reasons) if reasons else f"{xp.__name__} has no {precision} dtype"
    return MatmulResult(precision, None, None, n, f"{UNSUPPORTED}: {why}")


def measure_copy(xp: Any, sync: Callable[[], None], seconds: float, nbytes: int = COPY_BYTES,
                 read_w: Callable[[], float] | None = None
                 ) -> tuple[float, int, PowerStats | None]:
    """Device copy bandwidth: ``(bytes/s read + written, buffer bytes, power)``."""
    count = max(nbytes // 4, 1)
    src = xp.ones(count, dtype=xp.float32)
    dst = xp.empty_like(src)
    with PowerSampler(read_w) as sampler:
        calls, elapsed = _run_for(lambda: xp.copyto(dst, src), sync, seconds)
    return 2.0 * src.nbytes * calls / elapsed, int(src.nbytes), sampler.stats()


def measure(xp: Any, sync: Callable[[], None], device: str, seconds: float, today: str, *,
            n: int = MATMUL_N, copy_bytes: int = COPY_BYTES,
            read_w: Callable[[], float] | None = None, power_limit_w: float | None = None,
            power_note: str = "power not measured", software: str = "") -> Measurement:
    """Run every test on ``xp`` and return the :class:`Measurement`."""
    idle = None
    if read_w is not None:
        with PowerSampler(read_w) as sampler:
            time.sleep(min(seconds, 2.0))
        idle = sampler.stats()
    matmul = tuple(measure_matmul(xp, sync, p, seconds, n, read_w) for p in ("bf16", "fp8"))
    bw, size, copy_power = measure_copy(xp, sync, seconds, copy_bytes, read_w)
    return Measurement(device=device, date=today, seconds=seconds, matmul=matmul,
                       copy_bytes_per_s=bw, copy_bytes=size, copy_power=copy_power,
                       idle_power=idle, power_limit_w=power_limit_w, power_note=power_note,
                       software=software)


@contextmanager
def _nvml(pci_bus_id: str | None) -> Iterator[tuple[Callable[[], float] | None, float | None,
                                                    str]]:
    """``(read_w, enforced power limit W, note)`` for the GPU, via NVML if it can."""
    try:
        import pynvml  # nvidia-ml-py, optional
    except ImportError:
        yield None, None, "power not measured: nvidia-ml-py (pynvml) is not installed"
        return
    try:
        pynvml.nvmlInit()
    except Exception as exc:
        yield None, None, f"power not measured: nvmlInit failed: {exc}"
        return
    read_w: Callable[[], float] | None = None
    limit: float | None = None
    try:
        try:
            handle = pynvml.nvmlDeviceGetHandleByPciBusId(pci_bus_id)
        except Exception:  # older bindings want bytes, or no bus id: device 0
            handle = pynvml.nvmlDeviceGetHandleByIndex(0)

        def reader() -> float:
            return pynvml.nvmlDeviceGetPowerUsage(handle) / 1000.0  # mW → W

        reader()  # fails here, not in the sampler thread, if power is not readable
        read_w = reader
        note = f"NVML nvmlDeviceGetPowerUsage every {POWER_INTERVAL_S * 1e3:.0f} ms"
        limit = pynvml.nvmlDeviceGetEnforcedPowerLimit(handle) / 1000.0
    except Exception as exc:
        note = (f"NVML nvmlDeviceGetPowerUsage every {POWER_INTERVAL_S * 1e3:.0f} ms"
                if read_w is not None else f"power not measured: NVML: {exc}")
    try:  # measurements run inside this yield; their errors must not reach the except above
        yield read_w, limit, note
    finally:
        pynvml.nvmlShutdown()


def run_calibration(seconds: float, today: date | None = None) -> Measurement:
    """Measure the first visible CUDA device with cupy (and NVML when installed).

    Raises :class:`CalibrationUnavailable` (the reason) without cupy or a CUDA device.
    """
    cupy, info = _probe_cupy()
    if cupy is None:
        raise CalibrationUnavailable(info)
    device = cupy.cuda.Device(0)
    sync = device.synchronize
    free, _total = device.mem_info
    try:
        bus: str | None = device.pci_bus_id
    except Exception:
        bus = None
    stamp = (today or date.today()).isoformat()
    software = f"cupy {cupy.__version__}, CUDA runtime {cupy.cuda.runtime.runtimeGetVersion()}"
    with _nvml(bus) as (read_w, limit, note):
        return measure(cupy, sync, info, seconds, stamp, n=MATMUL_N,
                       copy_bytes=min(COPY_BYTES, int(free) // 4), read_w=read_w,
                       power_limit_w=limit, power_note=note, software=software)


def catalog_gpu_for(device: str) -> GpuSpec | None:
    """The catalog GPU a CUDA device name corresponds to, or ``None`` if none does.

    ``"NVIDIA H100 80GB HBM3"`` → H100 SXM (PCIe and NVL parts have other peaks: no match);
    a name with ``GB200`` → B200 (GB200).
    """
    name = device.upper()
    if "GB200" in name:
        return B200_GB200
    if "H100" in name and not any(x in name for x in ("PCIE", "NVL")):
        return H100_SXM
    return None


_AUTO: Any = object()


def _power_dict(p: PowerStats | None) -> dict[str, float] | None:
    if p is None:
        return None
    return {"mean_w": round(p.mean_w, 1), "max_w": round(p.max_w, 1), "samples": p.samples}


def profile_from_measurement(m: Measurement, catalog: GpuSpec | None = _AUTO) -> HardwareProfile:
    """The hardware profile for ``m``; ``catalog`` (default: by device name) sets ``gpu``
    and the suggested efficiencies = measured / catalog figure."""
    gpu = catalog_gpu_for(m.device) if catalog is _AUTO else catalog
    peaks: dict[str, float | str] = {
        r.precision: r.flops_per_s if r.flops_per_s is not None else UNSUPPORTED
        for r in m.matmul}
    eff: dict[str, float] = {}
    if gpu is not None:
        for r in m.matmul:
            if r.flops_per_s is not None and r.precision in gpu.peak_flops:
                eff[r.precision] = round(r.flops_per_s / gpu.peak_flops[r.precision], 4)
        eff["hbm_bw"] = round(m.copy_bytes_per_s / gpu.hbm_bw, 4)
    loads = [r.power.mean_w for r in m.matmul if r.power is not None]
    measured: dict[str, Any] = {
        "seconds_per_test": m.seconds,
        "matmul": {r.precision: {"dtype": r.dtype, "n": r.n, "flops_per_s": r.flops_per_s,
                                 "note": r.note, "power": _power_dict(r.power)}
                   for r in m.matmul},
        "copy": {"buffer_bytes": m.copy_bytes, "bytes_per_s": m.copy_bytes_per_s,
                 "counts": "read + written", "power": _power_dict(m.copy_power)},
        "idle_power": _power_dict(m.idle_power),
        "power_limit_w": m.power_limit_w,
        "power": m.power_note,
        "catalog_gpu": gpu.name if gpu is not None else None,
        "software": m.software,
    }
    if gpu is None:
        measured["note"] = (f"{m.device!r} is not in the catalog: set gpu to a catalog GPU or "
                            "system name before a scenario uses this profile")
    return HardwareProfile(
        gpu=gpu.name if gpu is not None else m.device, device=m.device, date=m.date,
        peak_flops=peaks,  # type: ignore[arg-type]
        hbm_bw=m.copy_bytes_per_s,
        idle_w=m.idle_power.mean_w if m.idle_power is not None else None,
        tdp_w=max(loads) if loads else None,
        efficiencies=eff, measured=measured)


def profile_yaml(profile: HardwareProfile) -> str:
    """The profile as YAML text, with a header saying what the figures are."""
    header = (
        "# gpuemu hardware profile (gpuemu calibrate). Units: FLOP/s, bytes/s, W.\n"
        "# peak_flops/hbm_bw: measured dense matmul rate and copy bandwidth (read + written);\n"
        "# idle_w: board power idle; tdp_w: mean board power under the matmul load.\n"
        "# efficiencies = measured / catalog (informational). Use it from a scenario with\n"
        "#   compute: {profile: this-file.yaml}\n")
    body = yaml.safe_dump(profile.model_dump(exclude_none=True), sort_keys=False,
                          allow_unicode=True)
    return header + body


def write_profile(profile: HardwareProfile, path: Path) -> None:
    """Write ``profile`` to ``path`` atomically (complete or not at all)."""
    from emulator.export import atomic_write  # pulls pyarrow: only when writing

    text = profile_yaml(profile)
    atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
