"""The fused decode kernel's C body, compiled for the CPU, against the numpy reference.

``cupy_kernels.fused`` sends the body to the GPU compiler; no GPU is needed to check its
arithmetic: the same text is valid C, so it is compiled here with the system C compiler
into a shared library and called row by row through ``ctypes``. This does not replace
the GPU test (``tests/test_kernels_gpu.py``: cupy's compilation and launch), but it fails
whenever the body and :func:`cupy_kernels.inference.decode_step_time` disagree.
"""

from __future__ import annotations

import ctypes
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

import cupy_kernels.training as training
from cupy_kernels import fused, inference
from cupy_kernels.inference import InferenceBatch, decode_step_time

COMPILER = shutil.which("cc") or shutil.which("gcc")

pytestmark = pytest.mark.skipif(COMPILER is None, reason="no C compiler on this machine")


def _compiled(tmp_path: Path) -> ctypes.CDLL:
    names = [a.split()[1] for a in fused._DECODE_IN.split(",")]
    src = ("#include <math.h>\ndouble decode(" + ", ".join(f"double {n}" for n in names)
           + ") {\n    double t;\n" + fused._DECODE_BODY + "\n    return t;\n}\n")
    (tmp_path / "decode.c").write_text(src)
    lib = tmp_path / "decode.so"
    subprocess.run([str(COMPILER), "-O2", "-shared", "-fPIC", "-o", str(lib),
                    str(tmp_path / "decode.c"), "-lm"], check=True)
    dll = ctypes.CDLL(str(lib))
    dll.decode.restype = ctypes.c_double
    dll.decode.argtypes = [ctypes.c_double] * len(names)
    return dll


def _rows(n: int) -> dict[str, np.ndarray]:
    """Random services, dense and MoE, every optional input set."""
    r = np.random.default_rng(20261129)
    params = r.uniform(1e9, 700e9, n)
    experts = np.where(r.random(n) < 0.5, 1.0, r.integers(8, 257, n).astype(float))
    return {
        "params": params, "active_params": params * r.uniform(0.05, 1.0, n),
        "layers": r.integers(16, 128, n).astype(float),
        "kv_heads": r.integers(1, 16, n).astype(float), "head_dim": np.full(n, 128.0),
        "weight_bytes_per_param": r.choice([0.5, 1.0, 2.0], n),
        "kv_bytes_per_elem": r.choice([1.0, 2.0], n),
        "gpus_per_replica": r.choice([1.0, 2.0, 4.0, 8.0], n),
        "peak_flops": r.uniform(300e12, 10e15, n), "hbm_bw": r.uniform(2e12, 8e12, n),
        "hbm_bytes": np.full(n, 141e9), "prefill_eff": r.uniform(0.2, 0.8, n),
        "decode_bw_eff": r.uniform(0.5, 0.9, n), "mean_prompt": r.uniform(10, 8000, n),
        "mean_output": r.uniform(10, 2000, n), "batch": r.integers(1, 2048, n).astype(float),
        "allreduce_bw": r.uniform(100e9, 900e9, n), "tp_alpha": r.uniform(1e-6, 1e-5, n),
        "hidden": r.uniform(2048, 16384, n), "attn_width": r.uniform(2048, 16384, n),
        "step_overhead_s": r.uniform(0.0, 0.01, n),
        "expert_params": np.where(experts > 1, params * r.uniform(0.5, 0.95, n), 0.0),
        "experts": experts, "active_experts": np.minimum(r.integers(1, 9, n), experts),
        "attn_peak_flops": r.uniform(300e12, 5e15, n),
        "seq_overhead_s": r.uniform(0.0, 50e-6, n),
        # local attention on some rows (a window shorter or longer than the context, or 0)
        "local_layers": np.floor(r.uniform(0.0, 0.9, n) * r.integers(16, 128, n)),
        "attn_window": r.choice([0.0, 128.0, 2048.0, 8192.0], n),
        # a decode attention wider than the prefill one (latent attention) on some rows
        "decode_attn_width": np.where(r.random(n) < 0.5, 70000.0, r.uniform(2048, 16384, n)),
        # weights held whole by every GPU (attention data parallelism) on the MoE rows
        "replicated_params": np.where(experts > 1, params * r.uniform(0.01, 0.1, n), 0.0),
    }


def test_fused_decode_body_matches_numpy_reference(tmp_path: Path) -> None:
    cols = _rows(500)
    b = InferenceBatch(**cols)
    ref = decode_step_time(np, b)
    dll = _compiled(tmp_path)
    order = (b.params, b.active_params, b.layers, b.kv_heads, b.head_dim,
             b.weight_bytes_per_param, b.kv_bytes_per_elem, b.gpus_per_replica, b.peak_flops,
             b.hbm_bw, b.prefill_eff, b.decode_bw_eff, b.mean_prompt, b.mean_output, b.batch,
             b.allreduce_bw * inference.TP_COMM_BW_EFF,  # the rate the all-reduces achieve
             b.tp_alpha, b.hidden, b.decode_attn_width, b.step_overhead_s,
             b.expert_params, b.experts, b.active_experts, b.attn_peak_flops,
             np.full(len(ref), training.MICRO_BATCH_HALF_TOKENS),
             b.seq_overhead_s, b.local_layers, b.attn_window, b.replicated_params)  # fmt: skip
    got = np.array([dll.decode(*(float(col[i]) for col in order)) for i in range(len(ref))])
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=0.0)


OPTIONAL = ("allreduce_bw", "tp_alpha", "hidden", "attn_width", "step_overhead_s",
            "expert_params", "experts", "active_experts", "attn_peak_flops", "seq_overhead_s",
            "local_layers", "attn_window", "decode_attn_width", "replicated_params")


def test_fused_call_assembles_its_arguments_as_the_reference_reads_them(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``decode_step_time_fused`` itself (argument order, defaults for missing optional
    inputs), with the compiled body standing in for the CUDA kernel."""
    dll = _compiled(tmp_path)

    def stand_in(*args: np.ndarray) -> np.ndarray:
        cols = np.broadcast_arrays(*args)
        return np.array([dll.decode(*(float(c[i]) for c in cols)) for i in range(cols[0].size)])

    monkeypatch.setattr(fused, "_kernels", lambda: (stand_in, None))
    rows = _rows(40)
    for drop in [(), *((name,) for name in OPTIONAL), ("experts", "active_experts"),
                 ("allreduce_bw", "tp_alpha", "hidden")]:
        b = InferenceBatch(**{k: v for k, v in rows.items() if k not in drop})
        np.testing.assert_allclose(fused.decode_step_time_fused(np, b), decode_step_time(np, b),
                                   rtol=1e-12, atol=0.0, err_msg=f"without {drop}")
