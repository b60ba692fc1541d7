"""Sweep throughput: serial against a 2-worker dask LocalCluster, and the per-cell overhead.

    PYTHONPATH=. python bench/sweep.py [--cells 8] [--until 48h] [--workers 2] [--rounds 5]

1. *Speed-up*: the same ``--cells`` cells (a 4-rack Bizerte scenario, one seed each, run
   to ``--until``) once in this process, one after the other, then on a LocalCluster of
   ``--workers`` single-threaded worker processes. The speed-up is serial wall ÷ cluster
   wall, with the cluster already started and its workers warm (its start-up, including
   each worker's imports, is printed apart: it is paid once per command, not per cell).
   ``--rounds`` rounds, each timing the serial run first with no cluster alive, then a
   fresh cluster; the median and range of the ratios are printed, because single runs on
   a shared 2-core machine move by several points. The target on 2 workers is ≥ 1.8×; it
   needs two otherwise idle cores. The default cell (48 simulated hours, about 2.5 s) is
   the size of a study's cell: the shipped Bizerte week takes about 7 s. With cells of
   under a second (``--until 12h``) the cluster's fixed costs per batch (dispatch, the
   last cell's straggle, result transfer) weigh several times more; part 2 prints the
   per-cell part of them.
2. *Per-cell overhead*: ``--cells`` × 4 tiny cells (1 simulated minute of a 1-rack
   scenario) on the cluster; the overhead per cell is
   ``(cluster wall × workers − serial wall) ÷ cells`` — the time a worker spends per cell
   on transfer, scheduling and result handling beyond the simulation itself.

Both use :func:`emulator.cell_runner.run_cells` without a cache, so every cell runs.
All figures are measured in this process, in one go; nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

from emulator.cell_runner import run_cells
from emulator.cells import Cell
from emulator.executor import DaskExecutor, SerialExecutor
from emulator.loader import apply_override, parse_override, read_yaml
from emulator.units import parse_duration

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "examples" / "bizerte_20mw.yaml"


def cells(n: int, racks: tuple[int, int], until_s: float) -> list[Cell]:
    """``n`` cells of the Bizerte example with halls of ``racks``, seeds 1..n."""
    data = read_yaml(SCENARIO)
    for text in (f"sites.0.halls.0.racks={racks[0]}", f"sites.0.halls.1.racks={racks[1]}"):
        keys, value = parse_override(text)
        apply_override(data, keys, value)
    return [Cell({**data, "seed": s}, str(SCENARIO), "summary", until_s) for s in
            range(1, n + 1)]


def timed(batch: list[Cell], executor: SerialExecutor | DaskExecutor) -> float:
    started = time.perf_counter()
    results = run_cells(batch, executor)
    assert len(results) == len(batch)
    return time.perf_counter() - started


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cells", type=int, default=8)
    ap.add_argument("--until", default="48h")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    if args.rounds < 1 or args.cells < 1 or args.workers < 1:
        ap.error("--rounds, --cells and --workers must be at least 1")
    until_s = parse_duration(args.until)
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} (1 min)")
    work = cells(args.cells, (2, 2), until_s)
    tiny = cells(args.cells * 4, (1, 1), 60.0)
    run_cells(work[:1], SerialExecutor())  # imports and caches warm, as in a long sweep
    ratios = []
    for r in range(1, args.rounds + 1):
        serial = timed(work, SerialExecutor())  # before the cluster: nothing else running
        started = time.perf_counter()
        with DaskExecutor(args.workers) as ex:
            ex._connect()  # workers start and import what a cell imports
            startup = time.perf_counter() - started
            cluster = timed(work, ex)
            if r == args.rounds:
                cluster_tiny = timed(tiny, ex)
        ratios.append(serial / cluster)
        print(f"round {r}: {args.cells} cells to {args.until}: serial {serial:.2f} s "
              f"({serial / args.cells:.2f} s per cell); {args.workers} workers "
              f"{cluster:.2f} s; speed-up {serial / cluster:.2f}x; cluster start-up "
              f"{startup:.2f} s, paid once per command")
    ratios.sort()
    print(f"speed-up on {args.workers} local workers over {args.rounds} rounds: median "
          f"{statistics.median(ratios):.2f}x, range {ratios[0]:.2f}-{ratios[-1]:.2f}x "
          f"(target >= 1.8x on 2)")
    serial_tiny = timed(tiny, SerialExecutor())
    overhead = (cluster_tiny * args.workers - serial_tiny) / len(tiny)
    print(f"{len(tiny)} tiny cells: serial {serial_tiny / len(tiny) * 1e3:.1f} ms per cell, "
          f"cluster {cluster_tiny:.2f} s; per-cell overhead on the cluster "
          f"{overhead * 1e3:.1f} ms")


if __name__ == "__main__":
    main()
