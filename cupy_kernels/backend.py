"""The one place where the array module (numpy or cupy) is chosen.

Kernels are written against ``xp`` (the module returned here) and never import cupy
themselves, so the numpy path is the reference and the cupy path runs the same code
(DESIGN principle 4). Selection happens once, at build time; nothing here reads a clock,
creates files or touches global random state.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

__all__ = ["Backend", "BackendUnavailable", "select_backend"]

_CHOICES = ("auto", "numpy", "cupy")


class BackendUnavailable(RuntimeError):  # noqa: N818 — name fixed by the engine API
    """Raised when ``compute.backend: cupy`` is requested but cupy or a CUDA device is absent.

    The message is one line, names the setting, the reason and the way out.
    """


@dataclass(frozen=True)
class Backend:
    """An array module plus where its arrays live.

    ``name`` is ``"numpy"`` or ``"cupy"``; ``xp`` is the module the kernels call;
    ``device`` is ``"cpu"`` or the CUDA device name (e.g. ``"NVIDIA H100 80GB HBM3"``).
    """

    name: str
    xp: ModuleType
    device: str

    def asarray(self, a: Any, dtype: Any = None) -> Any:
        """``a`` as an array on this backend's device.

        Floating inputs (Python floats, float32 arrays …) become float64 unless ``dtype`` is
        given, so the numpy and cupy paths compute in the same precision; integer and bool
        inputs keep their dtype (they are used as indices, e.g. GPU → rack).
        """
        if dtype is not None:
            return self.xp.asarray(a, dtype=dtype)
        arr = self.xp.asarray(a)
        if arr.dtype.kind == "f" and arr.dtype != np.float64:
            arr = arr.astype(np.float64)
        return arr

    def to_host(self, a: Any) -> np.ndarray:
        """``a`` copied to host memory as a numpy array (a no-op view for numpy input)."""
        if isinstance(a, np.ndarray):
            return a
        get = getattr(a, "get", None)  # cupy.ndarray.get() copies device → host
        if callable(get):
            return np.asarray(get())
        return np.asarray(a)


def _probe_cupy() -> tuple[ModuleType | None, str]:
    """Import cupy and look for a CUDA device: ``(cupy, device name)`` or ``(None, reason)``."""
    try:
        import cupy  # optional dependency, imported only when probed
    except Exception as exc:  # ImportError, or a CUDA library load error
        return None, f"cupy import failed: {type(exc).__name__}: {exc}".replace("\n", " ")
    try:
        count = int(cupy.cuda.runtime.getDeviceCount())
    except Exception as exc:  # cudaErrorNoDevice, driver missing …
        return None, f"no CUDA device: {type(exc).__name__}: {exc}".replace("\n", " ")
    if count < 1:
        return None, "cupy imported but getDeviceCount() is 0"
    props = cupy.cuda.runtime.getDeviceProperties(0)
    name = props.get("name", b"CUDA device")
    return cupy, name.decode() if isinstance(name, bytes) else str(name)


def select_backend(requested: str = "auto") -> Backend:
    """The backend for ``compute.backend``: ``"auto"``, ``"numpy"`` or ``"cupy"``.

    ``"auto"`` picks cupy when it imports *and* a CUDA device is visible, else numpy.
    ``"cupy"`` without both raises :class:`BackendUnavailable`; any other value raises
    ``ValueError``.
    """
    if requested not in _CHOICES:
        expected = ", ".join(_CHOICES)
        raise ValueError(f"compute.backend: {requested!r} is not one of {expected}")
    if requested == "numpy":
        return Backend(name="numpy", xp=np, device="cpu")
    cupy, info = _probe_cupy()
    if cupy is not None:
        return Backend(name="cupy", xp=cupy, device=info)
    if requested == "cupy":
        raise BackendUnavailable(
            f"compute.backend: 'cupy' requested but no CUDA device is visible ({info}); "
            "use 'auto' or 'numpy'"
        )
    return Backend(name="numpy", xp=np, device="cpu")
