"""Time each report figure and the Perfetto trace on an existing run folder.

    python bench/report.py RUN_DIR

prints, per figure, the wall seconds to draw it and the PNG size, then the trace's build
time and event count, and the run's size (requests, jobs, placement rows) so the figures
can be read per million requests. Measured in this process, one after the other; no
target is asserted (figures are binned to bounded sizes, so time grows with the rows read,
mostly the requests table's three columns).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from emulator.report.assemble import BUILDERS
from emulator.report.perfetto import build_trace
from emulator.report.rundata import load_run


def main(folder: Path) -> None:
    data = load_run(folder)
    print(f"{data.name}: {data.rows('requests'):,} requests, {data.rows('jobs'):,} jobs, "
          f"{data.rows('placements'):,} placement rows, {data.rows('rack_util'):,} rack "
          "samples")
    total = 0.0
    for build in BUILDERS:
        t0 = time.perf_counter()
        fig = build(data)
        dt = time.perf_counter() - t0
        total += dt
        size = f"{len(fig.png) / 1e3:,.0f} kB" if fig.png else f"left out ({fig.note})"
        print(f"  {fig.slug:8s} {dt:7.2f} s  {size}")
    print(f"  all figures {total:.2f} s")
    t0 = time.perf_counter()
    trace = build_trace(data)
    print(f"  perfetto  {time.perf_counter() - t0:7.2f} s  "
          f"{len(trace['traceEvents']):,} events ({trace['otherData']['note']})")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python bench/report.py RUN_DIR")
    main(Path(sys.argv[1]))
