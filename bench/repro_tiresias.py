"""gpuemu next to the Tiresias simulator: mean JCT, makespan, utilisation, preemptions.

Run ``python bench/repro_tiresias.py``. For Tiresias's 60-job trace and the loaded 200-job
test trace (``tests/fixtures/tiresias``) on 2 nodes x 4 generic GPUs with durations as
given, it runs each policy and prints a Markdown table of gpuemu's figures beside the
Tiresias simulator's (from its per-job output in the fixtures), plus gpuemu's wall time
per run. Utilisation is busy GPU-seconds / (8 GPUs x makespan). Prints only; the equality
is asserted per job in ``tests/test_repro_tiresias.py``.
"""

from __future__ import annotations

import csv
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `python bench/repro_tiresias.py` puts bench/ first
    sys.path.insert(0, str(ROOT))

from emulator.build import build  # noqa: E402
from emulator.loader import load_scenario  # noqa: E402

EXAMPLE = ROOT / "examples" / "tiresias_60.yaml"
FIXTURES = ROOT / "tests" / "fixtures" / "tiresias"
GPUS = 8
RUNS = [  # (gpuemu policy, overrides, Tiresias --schedule)
    ("fifo", (), "fifo"),
    ("smallest-gpu-first", (), "sjf"),
    ("shortest-gpu-time", (), "shortest-gpu"),
    ("dlas-gpu", ("scheduler.options.crossing=simulator",), "dlas-gpu"),
    ("dlas-gpu", (), None),
]
TRACES = {"t60": (), "syn200": (f"tenants.tiresias.traces.0.path={FIXTURES / 'syn200_job.csv'}",
                               "duration=5d")}


def gpuemu(trace: str, queue: str, extra: tuple[str, ...]) -> tuple[float, float, float, int,
                                                                     float]:
    """(mean JCT s, makespan s, utilisation, preemptions, wall s) of one gpuemu run."""
    t0 = time.perf_counter()
    sim = build(load_scenario(EXAMPLE, [f"scheduler.queue={queue}", *TRACES[trace], *extra],
                              seed=1))
    sim.run()
    wall = time.perf_counter() - t0
    jobs = [w for w in sim.works if w.kind == "training"]
    makespan = max(w.end_s for w in jobs)
    busy = sum(w.n_gpus * (e - s) for w in jobs for s, e, _g in (w.segments or []))
    return (sum(w.end_s - w.submit_s for w in jobs) / len(jobs), makespan,
            busy / (GPUS * makespan), sum(w.preemptions for w in jobs), wall)


def tiresias(trace: str, schedule: str) -> tuple[float, int]:
    """(mean JCT s, preemptions) of the Tiresias simulator's run (fixture)."""
    with (FIXTURES / f"{trace}_{schedule}_jct.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    return (sum(float(r["JCT"]) for r in rows) / len(rows),
            sum(int(r["preempt"]) for r in rows))


def main() -> None:
    print("| trace | gpuemu policy | Tiresias schedule | mean JCT s (gpuemu / Tiresias) | "
          "diff | makespan s | util | preemptions (gpuemu / Tiresias) | gpuemu wall s |")
    print("|---|---|---|---|---|---|---|---|---|")
    for trace in TRACES:
        for queue, extra, schedule in RUNS:
            jct, makespan, util, pre, wall = gpuemu(trace, queue, extra)
            name = queue + (" (crossing: simulator)" if extra else "")
            if schedule is None:
                print(f"| {trace} | {name} | — | {jct:.3f} / — | — | {makespan:.2f} | "
                      f"{util:.4f} | {pre} / — | {wall:.2f} |")
                continue
            ref_jct, ref_pre = tiresias(trace, schedule)
            print(f"| {trace} | {name} | {schedule} | {jct:.3f} / {ref_jct:.3f} | "
                  f"{100 * (jct - ref_jct) / ref_jct:+.4f}% | {makespan:.0f} | {util:.4f} | "
                  f"{pre} / {ref_pre} | {wall:.2f} |")


if __name__ == "__main__":
    main()
