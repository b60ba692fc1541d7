"""Scale check: a 500 MW campus (morocco-500mw preset) with a million jobs and requests.

Runs the campus for ``--days`` simulated days with a stream of small fine-tuning jobs
(``--jobs-per-day``), large pre-training runs and an inference tenant, then prints wall
time, peak memory (RSS), jobs, request count and serving windows (request batches).

    python bench/scale.py --days 30 --jobs-per-day 34000
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from emulator.build import build  # noqa: E402
from emulator.loader import validate_scenario  # noqa: E402


def scenario(days: float, jobs_per_day: float) -> dict:
    return {
        "name": "campus-500mw-scale", "seed": 1, "duration": f"{days}d",
        "sites": [{"preset": "morocco-500mw"}],
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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--days", type=float, default=30.0)
    ap.add_argument("--jobs-per-day", type=float, default=34_000.0)
    args = ap.parse_args()
    t0 = time.perf_counter()
    sim = build(validate_scenario(scenario(args.days, args.jobs_per_day)), backend="numpy")
    built = time.perf_counter() - t0
    days_done = [0]

    def progress(s) -> None:  # type: ignore[no-untyped-def]
        day = int(s.env.now // 3600)
        if day > days_done[0]:
            days_done[0] = day
            print(f"  hour {day}: {s.wall_s:.0f} s wall, queued {len(s.engine.queue):,}, "
                  f"running {len(s.engine.running):,}", flush=True)

    sim.run(on_progress=progress, step_s=3600.0)
    log = sim.log
    jobs = sum(1 for w in sim.works if w.kind == "training")
    finished = sum(1 for w in sim.works if w.state == "finished")
    requests = sum(b.arrival_s.size for b in log.requests)
    rss_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
    print(f"campus: {sim.index.n_racks:,} racks, {sim.index.n_gpus:,} GPUs; {args.days:g} d")
    print(f"jobs submitted {jobs:,} (finished {finished:,}); requests {requests:,} in "
          f"{len(log.requests):,} request batches; rounds {sim.engine.rounds_run:,}")
    print(f"build {built:.1f} s, run {sim.wall_s:.1f} s wall, peak RSS {rss_gb:.2f} GB")


if __name__ == "__main__":
    main()
