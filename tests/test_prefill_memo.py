"""Prefill figures kept by prompt length are the kernel's for the whole window, bit for
bit: over many windows whose longest prompts keep growing the tables, long prompts past
the tables and prompt arrays that are not whole token counts."""

from __future__ import annotations

import numpy as np
import pytest

from cupy_kernels.inference import prefill_parts
from emulator.prefill_memo import MAX_MEMO_TOKENS, PrefillMemo
from tests.test_kernels_inference import svc

SERVICES = {
    "70B TP1": {},
    "70B TP4 with attention": {"gpus_per_replica": 4.0, "attn_width": 8192.0},
    "MoE": {"params": 46.7e9, "active_params": 12.9e9, "attn_width": 4096.0},
}


@pytest.mark.parametrize("over", SERVICES.values(), ids=SERVICES.keys())
def test_memo_equals_the_kernel_on_every_window(over: dict[str, float]) -> None:
    batch = svc(**over)
    calls: list[int] = []

    def kernel(lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        calls.append(lengths.size)
        return prefill_parts(np, batch, lengths)

    memo = PrefillMemo(kernel)
    rng = np.random.default_rng(11)
    for window in range(40):
        n = int(rng.integers(0, 300))
        prompts = np.clip(np.rint(rng.lognormal(np.log(600), 1.0, n)), 1, 32768
                          ).astype(np.int64)
        if window == 7:
            prompts[:3] = MAX_MEMO_TOKENS + np.arange(3)  # past the tables: computed
        work, fixed = memo.parts(prompts)
        want_work, want_fixed = prefill_parts(np, batch, prompts.astype(np.float64))
        assert work.tobytes() == np.asarray(want_work, dtype=np.float64).tobytes()
        assert fixed.tobytes() == np.asarray(want_fixed, dtype=np.float64).tobytes()
    assert len(calls) <= 7  # tables filled in bulk, a few times, not once a window
    floats = np.array([100.5, 2048.0])  # not token counts: straight to the kernel
    got = memo.parts(floats)
    want = prefill_parts(np, batch, floats)
    assert all(g.tobytes() == np.asarray(w).tobytes() for g, w in zip(got, want, strict=True))
