"""One rule pairs a sampled failure with what ended it (:mod:`emulator.failure_pairs`):
the failure summary's GPU-hours down and the report's outage shading both use it, so they
agree on every run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from emulator import api
from emulator.failure_pairs import FAILURE, OTHER, REPAIR, RESTORE, ended_by
from emulator.report.rundata import RunData
from emulator.report.segments import outages
from topologies.reliability import effect_of

ROOT = Path(__file__).resolve().parent.parent


def test_repairs_pair_by_gpus_and_a_restore_ends_what_lies_inside_it() -> None:
    """Rows: failures of class 0 on GPUs 5, 100, 150 and of class 1 on 5..8; a restore of
    GPUs 0..71; repairs of class 0 on 150 (before the older ones), on 5 (its failure
    already restored: ends nothing) and on 100; a row of no interest."""
    role = np.array([FAILURE, FAILURE, FAILURE, FAILURE, OTHER, RESTORE, REPAIR, REPAIR,
                     REPAIR])
    group = np.array([0, 0, 0, 1, 0, -1, 0, 0, 0])
    first = np.array([5, 100, 150, 5, -1, 0, 150, 5, 100])
    last = np.array([5, 100, 150, 8, -1, 71, 150, 5, 100])
    t = np.array([10.0, 12.0, 14.0, 16.0, 18.0, 30.0, 40.0, 60.0, 70.0])
    by = ended_by(role, group, first, last)
    assert by.tolist() == [5, 8, 6, 5, -1, -1, -1, -1, -1]
    assert t[by[:4]].tolist() == [30.0, 70.0, 40.0, 30.0]  # each failure's end (s)


def test_without_gpu_ranges_repairs_pair_oldest_first_and_open_ones_end_at_the_horizon(
        ) -> None:
    """A log of an earlier version (no GPU ids): repairs pair with the oldest open failure
    of their class; a restore, its GPUs unknown, ends nothing; the last failure is open."""
    role = np.array([FAILURE, FAILURE, RESTORE, REPAIR, FAILURE])
    group = np.array([2, 2, -1, 2, 2])
    none = np.full(5, -1)
    assert ended_by(role, group, none, none).tolist() == [3, -1, -1, -1, -1]
    empty = np.empty(0, np.int64)
    assert ended_by(empty, empty, empty, empty).size == 0


@pytest.mark.parametrize(("example", "until"), [("failures_llama3_scale.yaml", "12d")])
def test_report_outages_and_summary_down_time_agree_on_an_example(example: str,
                                                                   until: str) -> None:
    res = api.run(ROOT / "examples" / example, until=until)
    by_class = res.summary["failures"]["by_class"]
    spans = outages(RunData(summary=res.summary, tables=res.tables))
    down = [name for name in by_class if effect_of(name) == "down"]
    assert down and sum(by_class[n]["repairs"] for n in down) > 0  # failures and repairs
    for name in down:
        shaded = sum(o.value * (o.end_s - o.start_s) for o in spans if o.label == name)
        assert shaded > 0
        assert by_class[name]["gpu_h_down"] * 3600.0 == pytest.approx(shaded, rel=1e-12), name
