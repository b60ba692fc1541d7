"""The empirical CDF drawn by the report and by ``compare``: visible even for one job."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from emulator.plots import ecdf_steps


def test_the_cdf_rises_from_zero_at_the_first_value() -> None:
    x, y = ecdf_steps(np.array([2.0, 3.0, 3.0, 5.0]))
    assert x.tolist() == [2.0, 2.0, 3.0, 3.0, 5.0]
    assert y.tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]


def test_one_job_is_a_vertical_step_not_a_lone_point() -> None:
    x, y = ecdf_steps(np.array([7.5]))
    ax = Figure().add_subplot()
    (line,) = ax.step(x, y, where="post")
    xs, ys = line.get_path().vertices.T  # the drawn path: a segment of non-zero length
    assert np.ptp(ys) == 1.0 and set(xs.tolist()) == {7.5}


def test_no_value_draws_nothing() -> None:
    x, y = ecdf_steps(np.array([]))
    assert x.size == 0 and y.size == 0
