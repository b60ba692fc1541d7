"""Kernel throughput benchmark: numpy vs cupy per call, and bytes/s vs a copy.

Run ``python bench/kernels.py`` (``--max-rows 1e6`` skips the 10^7-row size, whose inputs
and temporaries take a few GB of memory). For each batch size it times one call of
``training_step_time``, ``decode_step_time`` and ``gpu_power`` and reports the achieved
bandwidth (input + output bytes per call / time — a lower bound on memory traffic) next to
a measured copy bandwidth on the same device. These kernels are element-wise and
memory-bound, so the copy bandwidth is their roofline. Prints ratios only; nothing here is
asserted (DESIGN: benchmarks never gate tests).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

try:
    import cupy_kernels  # noqa: F401 — probe: installed, or run from the repo root
except ModuleNotFoundError:  # `python bench/kernels.py` puts bench/ first on sys.path
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cupy_kernels import (
    Backend,
    BackendUnavailable,
    InferenceBatch,
    TrainingBatch,
    decode_step_time,
    gpu_power,
    select_backend,
    training_step_time,
)

SEED = 12345


def training_columns(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """Random but plausible training jobs, ``n`` rows (host arrays)."""
    tp = rng.choice([1.0, 2.0, 4.0, 8.0], n)
    pp = rng.choice([1.0, 2.0, 4.0, 8.0, 16.0], n)
    dp = rng.integers(1, 512, n).astype(np.float64)
    return {
        "params": rng.uniform(1e9, 4e11, n),
        "active_params": rng.uniform(1e9, 4e11, n),
        "layers": rng.choice([32.0, 80.0, 126.0], n),
        "hidden": rng.choice([4096.0, 8192.0, 16384.0], n),
        "tokens_per_step": rng.uniform(1e6, 1.6e7, n),
        "seq_len": np.full(n, 8192.0),
        "n_gpus": tp * pp * dp,
        "tp": tp,
        "pp": pp,
        "dp": dp,
        "peak_flops": rng.choice([989e12, 2.5e15], n),
        "mfu": np.full(n, np.nan),
        "precision_code": rng.integers(0, 3, n),
        "nvlink_bw": np.full(n, 900e9),
        "dp_bw": np.full(n, 50e9),
        "dp_alpha": np.full(n, 1e-5),
        "tp_alpha": np.full(n, 3e-6),
        "grad_bytes": np.full(n, 2.0),
        "dp_overlap": np.full(n, 0.8),
    }


def inference_columns(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """Random inference services, ``n`` rows (host arrays)."""
    params = rng.uniform(7e9, 4e11, n)
    return {
        "params": params,
        "active_params": params,
        "layers": rng.choice([32.0, 80.0, 126.0], n),
        "kv_heads": np.full(n, 8.0),
        "head_dim": np.full(n, 128.0),
        "weight_bytes_per_param": rng.choice([0.5, 1.0, 2.0], n),
        "kv_bytes_per_elem": np.full(n, 2.0),
        "gpus_per_replica": rng.choice([1.0, 2.0, 4.0, 8.0], n),
        "peak_flops": np.full(n, 5e15),
        "hbm_bw": np.full(n, 8e12),
        "hbm_bytes": np.full(n, 186e9),
        "prefill_eff": np.full(n, 0.46),
        "decode_bw_eff": np.full(n, 0.8),
        "mean_prompt": rng.uniform(100, 4000, n),
        "mean_output": rng.uniform(10, 1000, n),
        "batch": rng.integers(1, 256, n).astype(np.float64),
    }


def _nbytes(cols: dict[str, Any]) -> int:
    return sum(int(v.nbytes) for v in cols.values())


def _timeit(fn: Callable[[], Any], sync: Callable[[], None], budget_s: float = 0.5) -> float:
    """Best wall time of one call in seconds: repeats until ``budget_s`` or 20 calls."""
    fn()
    sync()  # warm-up (cupy compiles its kernels on first use)
    best, spent, calls = float("inf"), 0.0, 0
    while calls < 20 and (spent < budget_s or calls < 3):
        t0 = time.perf_counter()
        fn()
        sync()
        dt = time.perf_counter() - t0
        best, spent, calls = min(best, dt), spent + dt, calls + 1
    return best


def copy_bandwidth(be: Backend, sync: Callable[[], None], n: int) -> float:
    """Measured device copy bandwidth in bytes/s (read + write of ``n`` float64)."""
    src = be.xp.ones(n, dtype=be.xp.float64)
    dst = be.xp.empty_like(src)
    t = _timeit(lambda: be.xp.copyto(dst, src), sync)
    return 2.0 * src.nbytes / t


def kernel_calls(be: Backend, n: int) -> dict[str, tuple[Callable[[], Any], int]]:
    """The kernels bound to ``n``-row inputs on ``be``: name → (call, bytes moved).

    On cupy, ``"<kernel> fused"`` entries add the one-kernel versions of
    :mod:`cupy_kernels.fused` (what the engine calls on cupy) next to the composed ones.
    """
    rng = np.random.default_rng(SEED)
    tr = {k: be.asarray(v) for k, v in training_columns(rng, n).items()}
    inf = {k: be.asarray(v) for k, v in inference_columns(rng, n).items()}
    util = be.asarray(rng.random(n))
    tb, ib, xp = TrainingBatch(**tr), InferenceBatch(**inf), be.xp
    out = 8 * n
    calls: dict[str, tuple[Callable[[], Any], int]] = {
        "training_step_time": (lambda: training_step_time(xp, tb), _nbytes(tr) + 8 * out),
        "decode_step_time": (lambda: decode_step_time(xp, ib), _nbytes(inf) + out),
        "gpu_power": (lambda: gpu_power(xp, util, 200.0, 1200.0, 1100.0), 2 * out),
    }
    if be.name == "cupy":
        from cupy_kernels.fused import decode_step_time_fused, gpu_power_fused

        calls["decode_step_time fused"] = (lambda: decode_step_time_fused(xp, ib),
                                           calls["decode_step_time"][1])
        calls["gpu_power fused"] = (lambda: gpu_power_fused(xp, util, 200.0, 1200.0, 1100.0),
                                    calls["gpu_power"][1])
    return calls


def _sync_for(be: Backend) -> Callable[[], None]:
    if be.name == "cupy":
        stream = be.xp.cuda.get_current_stream()
        return stream.synchronize
    return lambda: None


def main(argv: list[str] | None = None) -> None:
    """Print the benchmark table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--max-rows", type=float, default=1e7, help="largest batch (use 1e6 if tight)")
    args = ap.parse_args(argv)
    sizes = [10**k for k in range(3, 8) if 10**k <= args.max_rows]

    cpu = select_backend("numpy")
    try:
        gpu: Backend | None = select_backend("cupy")
    except BackendUnavailable:
        gpu = None
    cpu_sync = _sync_for(cpu)
    cpu_copy = copy_bandwidth(cpu, cpu_sync, 10_000_000)
    print(f"numpy copy bandwidth: {cpu_copy / 1e9:.1f} GB/s (host)")
    if gpu is not None:
        gpu_sync = _sync_for(gpu)
        gpu_copy = copy_bandwidth(gpu, gpu_sync, 100_000_000)
        print(f"cupy copy bandwidth: {gpu_copy / 1e9:.1f} GB/s ({gpu.device})")
    header = (
        f"{'rows':>10} {'kernel':<24} {'numpy s/call':>13} {'GB/s':>7} {'%copy':>6}"
        f" {'cupy s/call':>12} {'GB/s':>8} {'%copy':>6} {'speed-up':>9}"
    )
    print(header)
    print("-" * len(header))
    speedup: dict[tuple[int, str], float] = {}
    of_copy: dict[tuple[int, str], float] = {}
    for n in sizes:
        cpu_calls = kernel_calls(cpu, n)
        gpu_calls = kernel_calls(gpu, n) if gpu is not None else {}
        cpu_t = {name: _timeit(fn, cpu_sync) for name, (fn, _) in cpu_calls.items()}
        for name, (fn, nbytes) in (gpu_calls or cpu_calls).items():
            t = cpu_t[name.removesuffix(" fused")]  # numpy reference of a fused kernel
            bw = nbytes / t
            row = f"{n:>10,} {name:<24} {t:>13.3e} {bw / 1e9:>7.2f} {bw / cpu_copy:>6.0%}"
            if gpu is None:
                row += f" {'n/a (no GPU)':>12}"
            else:
                g = _timeit(fn, gpu_sync)
                gbw = nbytes / g
                speedup[n, name], of_copy[n, name] = t / g, gbw / gpu_copy
                row += f" {g:>12.3e} {gbw / 1e9:>8.1f} {gbw / gpu_copy:>6.0%} {t / g:>8.1f}x"
            print(row)
        del cpu_calls, gpu_calls
    _print_targets(speedup, of_copy)


def _print_targets(speedup: dict[tuple[int, str], float],
                   of_copy: dict[tuple[int, str], float]) -> None:
    """The issue's targets (>= 50x numpy at 10^6 rows, >= 50% of copy at 10^7), met or not."""
    if not speedup:
        print("targets (>= 50x numpy at 10^6 rows, >= 50% of copy bandwidth at 10^7): "
              "not measured, no GPU")
        return
    for (n, name), value in sorted(speedup.items()):
        if n == 10**6:
            print(f"target >= 50x at 10^6  {name:<24} {value:8.1f}x  "
                  f"{'met' if value >= 50 else 'NOT met'}")
    for (n, name), value in sorted(of_copy.items()):
        if n == 10**7:
            print(f"target >= 50% copy at 10^7  {name:<24} {value:6.0%}  "
                  f"{'met' if value >= 0.5 else 'NOT met'}")

if __name__ == "__main__":
    main()
