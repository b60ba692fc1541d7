"""Scale check: a 500 MW campus (morocco-500mw preset) with a million jobs and requests.

Runs the campus for ``--days`` simulated days with a stream of small fine-tuning jobs
(``--jobs-per-day``), large pre-training runs and an inference tenant, then prints wall
time, CPU time, peak memory (RSS), µs per job and ns per request, and the wall time and
memory growth per simulated day between days 1, 3, 7 and 30.

    python bench/scale.py --days 30 --jobs-per-day 34000
    python bench/scale.py --days 3 --failures both   # cost of the failure model
    python bench/scale.py --days 30 --build-only     # build time and memory alone

``--failures on`` gives the campus the catalog's GB200 failure defaults (``failures: {}``);
``both`` runs without and with in the same process (order off, on, on, off) and prints
the run-time ratios of the means.
"""

from __future__ import annotations

import argparse
import itertools
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from emulator.build import build  # noqa: E402
from emulator.eventlog import Ev  # noqa: E402
from emulator.loader import validate_scenario  # noqa: E402
from emulator.tables import request_stats_by_service  # noqa: E402


def scenario(days: float, jobs_per_day: float, failures: bool = False) -> dict:
    site: dict = {"preset": "morocco-500mw"}
    if failures:
        site["failures"] = {}  # the catalog defaults for GB200 NVL72
    return {
        "name": "campus-500mw-scale", "seed": 1, "duration": f"{days}d",
        "sites": [site],
        "tenants": {
            "eu-inference": {"origin": "local", "inference": [
                {"name": f"chat-{i}", "model": "llama3-70b", "replicas": 64,
                 "gpus_per_replica": 2, "rate": "2/s"} for i in range(4)]},
            "startups": {"training": [{
                "name": "finetune", "model": ["llama3-8b", "llama3-70b"],
                "rate": f"{jobs_per_day}/d",
                "gpus": [8, 16, 32, 72, 144], "tp": 8,
                "tokens": {"dist": "lognormal", "median": 3e8, "p90": 3e9},
                "global_batch_tokens": 1e6}]},
            "research": {"training": [{
                "name": "pretrain", "model": ["llama3-70b", "llama3-405b"], "rate": "12/d",
                "gpus": [2304, 4608, 9216], "tp": 8, "pp": 4,
                "tokens": {"dist": "lognormal", "median": 2e11, "p90": 1e12},
                "global_batch_tokens": 16e6}]},
        },
        "scheduler": {"queue": "backfill", "placement": "pack", "options": {"max_scan": 200}},
        "compute": {"backend": "numpy"},
        "engine": {"sample_interval": "15m", "serving_window": "5m"},
        "output": {"requests": False},
    }


def _rss_gb() -> float:
    """Resident memory now (GB), from /proc (Linux)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return float("nan")
    return pages * resource.getpagesize() / 1e9


def run_once(days: float, jobs_per_day: float, failures: bool) -> tuple[float, float]:
    """Build and run the campus once, print its figures; the run's wall and CPU time (s)."""
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    sim = build(validate_scenario(scenario(days, jobs_per_day, failures)), backend="numpy")
    built = time.perf_counter() - t0
    marks = [d for d in (1, 3, 7, 30) if d <= days]
    at: dict[int, tuple[float, float, int]] = {}  # day -> (wall s, RSS GB, work events)

    def progress(s) -> None:  # type: ignore[no-untyped-def]
        while marks and s.env.now >= marks[0] * 86400 - 1e-6:
            day = marks.pop(0)
            at[day] = (s.wall_s, _rss_gb(), s.log.n_work_events)
            print(f"  day {day}: {s.wall_s:.1f} s wall, RSS {at[day][1]:.2f} GB, "
                  f"queued {len(s.engine.queue):,}, running {len(s.engine.running):,}",
                  flush=True)

    cpu_run0 = time.process_time()
    sim.run(on_progress=progress, step_s=3600.0)
    cpu_run = time.process_time() - cpu_run0
    cpu = time.process_time() - cpu0
    log = sim.log
    jobs = int((sim.works.kinds() == "training").sum())
    finished = int((sim.works.states() == "finished").sum())
    requests = sum(st.count for st in request_stats_by_service(log).values())
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
    print(f"campus: {sim.index.n_racks:,} racks, {sim.index.n_gpus:,} GPUs; {days:g} d; "
          f"failures {'on' if failures else 'off'}")
    print(f"jobs submitted {jobs:,} (finished {finished:,}); requests {requests:,}; "
          f"scheduling rounds {sim.engine.rounds_run:,}; simpy callbacks "
          f"{sim.engine.sim_events:,}; training kernel rows {sim.engine.core.shapes.kernel_rows:,}")
    if sim.engine.failures is not None and sim.engine.failures.applied:
        interrupted = int(np.count_nonzero(np.bincount(
            np.asarray(log.work_id)[np.asarray(log.work_kind) == Ev.INTERRUPT])))
        print(f"failures applied {sim.engine.failures.applied:,}; jobs interrupted "
              f"{interrupted:,}")
    print(f"build {built:.1f} s, run {sim.wall_s:.1f} s wall; CPU {cpu:.1f} s in all; "
          f"peak RSS {peak_gb:.2f} GB")
    print(f"{sim.wall_s / max(jobs, 1) * 1e6:.1f} µs of run wall time per job; "
          f"{sim.wall_s / max(requests, 1) * 1e9:.0f} ns per request (both over the whole run)")
    days_at = sorted(at)
    for a, b in itertools.pairwise(days_at):
        grow = (at[b][1] - at[a][1]) / (b - a)
        print(f"  days {a}-{b}: {(at[b][0] - at[a][0]) / (b - a):.1f} s wall per day, RSS "
              f"+{grow * 1e3:.0f} MB per day")
    return sim.wall_s, cpu_run


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--days", type=float, default=30.0)
    ap.add_argument("--jobs-per-day", type=float, default=34_000.0)
    ap.add_argument("--failures", choices=("off", "on", "both"), default="off")
    ap.add_argument("--build-only", action="store_true",
                    help="build the campus, print build time and memory, do not run it")
    args = ap.parse_args()
    if args.build_only:
        before = _rss_gb()
        t0 = time.perf_counter()
        sim = build(validate_scenario(scenario(args.days, args.jobs_per_day,
                                               args.failures == "on")), backend="numpy")
        print(f"built {len(sim.works):,} work items in {time.perf_counter() - t0:.1f} s; "
              f"RSS {before:.2f} GB before the build (imports), {_rss_gb():.2f} GB after")
        return
    if args.failures != "both":
        run_once(args.days, args.jobs_per_day, args.failures == "on")
        return
    # ABBA order (off, on, on, off): the first run in a process pays one-off costs, and a
    # shared machine drifts; the means of each pair cancel both to first order.
    runs = {False: [], True: []}  # type: dict[bool, list[tuple[float, float]]]
    for failures in (False, True, True, False):
        runs[failures].append(run_once(args.days, args.jobs_per_day, failures))
    off_wall, off_cpu = (sum(x) / 2 for x in zip(*runs[False], strict=True))
    on_wall, on_cpu = (sum(x) / 2 for x in zip(*runs[True], strict=True))
    # CPU time of the run is the steadier figure on a shared machine; both are printed.
    print(f"failures on / off, run wall time (mean of 2 each): {on_wall:.1f} s / "
          f"{off_wall:.1f} s = {on_wall / off_wall:.3f} ({100 * (on_wall / off_wall - 1):+.1f} %)")
    print(f"failures on / off, run CPU time (mean of 2 each): {on_cpu:.1f} s / "
          f"{off_cpu:.1f} s = {on_cpu / off_cpu:.3f} ({100 * (on_cpu / off_cpu - 1):+.1f} %)")

if __name__ == "__main__":
    main()
