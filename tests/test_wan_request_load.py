"""The request traffic a serving window puts on the WAN (what dataset transfers share the
links with) counts every request of the window, also when a failure cuts it in parts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from emulator.serving import BYTES_PER_TOKEN, REQUEST_OVERHEAD_BYTES, ServingModel
from tests.test_serving_inflight_failures import _run


def test_a_window_cut_by_a_failure_counts_the_bytes_of_all_its_parts(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The site fails at 330 s, inside the 300–360 s window, which is served in two parts:
    its WAN load is the bytes of every request arriving in it over the window's 60 s, as
    for the windows around it (before, only the part after the failure was counted)."""
    loads: dict[float, float] = {}
    advance = ServingModel.advance

    def recording(self: ServingModel, t0: float, t1: float) -> None:
        advance(self, t0, t1)
        loads[t1] = sum(self.wan_load_bps(t1 - t0).values())

    monkeypatch.setattr(ServingModel, "advance", recording)
    req = _run(tmp_path, "site:bizerte-20mw").tables["requests"]
    arrival = np.asarray(req["arrival_s"])
    for start in (240.0, 300.0, 360.0):
        inside = (arrival >= start) & (arrival < start + 60.0)
        tokens = (np.asarray(req["prompt_tokens"])[inside].sum()
                  + np.asarray(req["output_tokens"])[inside].sum())
        expected = (tokens * BYTES_PER_TOKEN + inside.sum() * REQUEST_OVERHEAD_BYTES) * 8 / 60
        assert loads[start + 60.0] == pytest.approx(expected, rel=1e-12), start
