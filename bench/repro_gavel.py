"""gpuemu on Gavel traces: mean JCT, makespan and wall time of its max-min fairness policies.

Run ``python bench/repro_gavel.py`` for the shipped 100-job trace from Gavel's generator on
4 V100 + 4 P100 + 4 K80 (``examples/gavel_heterogeneous.yaml``), or
``python bench/repro_gavel.py TRACE --gpus 36`` for another Gavel trace (e.g. the 5,000-job
trace of ``docs/reproductions.md``) on ``--gpus`` GPUs of each type. Prints gpuemu's
figures and wall time per policy, to set beside Gavel's own
``simulate_scheduler_with_trace.py`` run on the same trace (commands in
``docs/reproductions.md``). Prints only; nothing is asserted here.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `python bench/repro_gavel.py` puts bench/ first
    sys.path.insert(0, str(ROOT))

from emulator.build import build  # noqa: E402
from emulator.loader import load_scenario  # noqa: E402

EXAMPLE = ROOT / "examples" / "gavel_heterogeneous.yaml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("trace", nargs="?", help="a Gavel trace (default: sample:gavel_100)")
    parser.add_argument("--gpus", type=int, default=4, help="GPUs of each type (default 4)")
    parser.add_argument("--policies", default="max-min-fairness-het,max-min-fairness")
    args = parser.parse_args()
    overrides = [f"sites.0.halls.{i}.nodes={args.gpus}" for i in range(3)]
    if args.trace:
        overrides += [f"tenants.gavel.traces.0.path={Path(args.trace).resolve()}",
                      "duration=400d"]
    print("| policy | jobs | finished | mean JCT s | makespan s | preemptions | wall s |")
    print("|---|---|---|---|---|---|---|")
    for policy in args.policies.split(","):
        t0 = time.perf_counter()
        sim = build(load_scenario(EXAMPLE, [*overrides, f"scheduler.queue={policy}"], seed=1))
        sim.run()
        wall = time.perf_counter() - t0
        jobs = [w for w in sim.works if w.kind == "training"]
        done = [w for w in jobs if w.state == "finished"]
        jct = sum(w.end_s - w.submit_s for w in done) / max(len(done), 1)
        makespan = max((w.end_s for w in done), default=0.0)
        print(f"| {policy} | {len(jobs)} | {len(done)} | {jct:.1f} | {makespan:.0f} | "
              f"{sum(w.preemptions for w in jobs)} | {wall:.2f} |")


if __name__ == "__main__":
    main()
