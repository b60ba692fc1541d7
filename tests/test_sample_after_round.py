"""A sample holds for the interval after it, so it shows the GPUs held once its instant's
scheduling round has run: a completion and the start it makes room for at a sample tick
(Tiresias's whole-second trace on 60 s samples), or a Gavel round boundary on a tick, must
not read as idle GPUs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from emulator import api

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _held_after(events: pd.DataFrame, t: np.ndarray) -> np.ndarray:
    """GPUs held once every event at or before each time in ``t`` is applied."""
    sign = events.event.map({"start": 1, "finish": -1, "preempt": -1, "interrupt": -1,
                             "lost": -1}).fillna(0)
    step = (sign * events.n_gpus).to_numpy()
    times = events.t_s.to_numpy()
    held = np.cumsum(step)
    idx = np.searchsorted(times, t, side="right") - 1
    return np.where(idx >= 0, held[np.maximum(idx, 0)], 0)


@pytest.mark.parametrize("example, until", [("tiresias_60.yaml", None),
                                            ("gavel_heterogeneous.yaml", "10h")])
def test_samples_show_the_gpus_held_after_the_round(example: str, until: str | None) -> None:
    res = api.run(EXAMPLES / example, until=until)
    events = pd.DataFrame(res.tables["events"])
    ts = res.timeseries.groupby("t_s").busy_gpus.sum()
    want = _held_after(events, ts.index.to_numpy())
    wrong = ts.index[ts.to_numpy() != want].tolist()
    assert not wrong, f"samples at {wrong[:5]} s miss the GPUs their round started"
