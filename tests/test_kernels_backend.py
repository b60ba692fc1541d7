"""Backend selection: numpy reference, cupy when present, one-line errors otherwise."""

from __future__ import annotations

import sys
import types

import numpy as np
import pytest

from cupy_kernels import backend as backend_mod
from cupy_kernels.backend import Backend, BackendUnavailable, select_backend


def _no_cupy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(backend_mod, "_probe_cupy", lambda: (None, "cupy import failed: test"))


def test_numpy_is_always_available() -> None:
    b = select_backend("numpy")
    assert (b.name, b.xp, b.device) == ("numpy", np, "cpu")


def test_auto_falls_back_to_numpy_without_cupy(monkeypatch: pytest.MonkeyPatch) -> None:
    _no_cupy(monkeypatch)
    b = select_backend("auto")
    assert b.name == "numpy" and b.xp is np


def test_cupy_requested_but_absent_raises_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    _no_cupy(monkeypatch)
    with pytest.raises(BackendUnavailable) as info:
        select_backend("cupy")
    msg = str(info.value)
    assert "\n" not in msg
    assert msg.startswith("compute.backend: 'cupy' requested but no CUDA device is visible")
    assert "cupy import failed: test" in msg and "use 'auto' or 'numpy'" in msg


@pytest.mark.parametrize("bad", ["gpu", "CUPY", "", "torch"])
def test_unknown_backend_is_value_error(bad: str) -> None:
    with pytest.raises(ValueError, match=r"compute\.backend"):
        select_backend(bad)


def test_auto_picks_cupy_when_probe_succeeds(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = types.ModuleType("fake_cupy")
    monkeypatch.setattr(backend_mod, "_probe_cupy", lambda: (fake, "NVIDIA Test GPU"))
    b = select_backend("auto")
    assert (b.name, b.xp, b.device) == ("cupy", fake, "NVIDIA Test GPU")


def _fake_cupy(count: int | Exception) -> types.ModuleType:
    def get_count() -> int:
        if isinstance(count, Exception):
            raise count
        return count

    runtime = types.SimpleNamespace(
        getDeviceCount=get_count,
        getDeviceProperties=lambda i: {"name": b"NVIDIA H100 80GB HBM3"},
    )
    mod = types.ModuleType("cupy")
    mod.cuda = types.SimpleNamespace(runtime=runtime)  # type: ignore[attr-defined]
    return mod


def test_probe_reads_device_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "cupy", _fake_cupy(1))
    mod, name = backend_mod._probe_cupy()
    assert mod is sys.modules["cupy"] and name == "NVIDIA H100 80GB HBM3"


@pytest.mark.parametrize("count", [0, RuntimeError("cudaErrorNoDevice\nline two")])
def test_probe_without_device(monkeypatch: pytest.MonkeyPatch, count: int | Exception) -> None:
    monkeypatch.setitem(sys.modules, "cupy", _fake_cupy(count))
    mod, reason = backend_mod._probe_cupy()
    assert mod is None and "\n" not in reason
    with pytest.raises(BackendUnavailable):
        select_backend("cupy")
    assert select_backend("auto").name == "numpy"


def test_probe_when_import_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "cupy", None)  # makes `import cupy` raise ImportError
    mod, reason = backend_mod._probe_cupy()
    assert mod is None and reason.startswith("cupy import failed: ModuleNotFoundError")


def test_asarray_promotes_floats_only() -> None:
    b = Backend(name="numpy", xp=np, device="cpu")
    assert b.asarray([1.5, 2.0]).dtype == np.float64
    assert b.asarray(np.ones(3, dtype=np.float32)).dtype == np.float64
    assert b.asarray(np.arange(3, dtype=np.int32)).dtype == np.int32
    assert b.asarray([1, 2], dtype=np.float32).dtype == np.float32


def test_to_host_returns_numpy() -> None:
    b = Backend(name="numpy", xp=np, device="cpu")
    a = np.arange(4.0)
    assert b.to_host(a) is a

    class DeviceArray:  # stands in for cupy.ndarray, which exposes .get()
        def get(self) -> np.ndarray:
            return np.array([7.0, 8.0])

    np.testing.assert_array_equal(b.to_host(DeviceArray()), [7.0, 8.0])
    np.testing.assert_array_equal(b.to_host([1, 2]), np.array([1, 2]))
