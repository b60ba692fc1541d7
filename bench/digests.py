"""Event-log digests of the deep-queue and one-GPU trace cases of ``bench/engine.py``.

For a change that must not move a decision: run this in a checkout before and after and
compare the lines (each case's event-log digest, as ``tests/test_golden.py`` computes it
with ``EventLog.digest``, and its scheduling rounds, starts and preemptions). ``--calls``
also prints the number of Python function calls of ``sim.run()`` under cProfile (the
same on every run of the same code, unlike wall time on a shared machine); ``--cpu`` the
CPU time of ``sim.run()`` in seconds. Cases may be named on the command line
(``trace:srtf``, ``deep:las``, …); by default all six.

    python bench/digests.py [--calls] [--cpu] [CASE ...]
"""

from __future__ import annotations

import cProfile
import pstats
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from engine import STRESS  # noqa: E402
from small_trace import SCENARIO, write_trace  # noqa: E402

from emulator.build import build  # noqa: E402
from emulator.eventlog import Ev  # noqa: E402
from emulator.loader import load_scenario  # noqa: E402

CASES = ("deep:fifo", "deep:las", "deep:srtf", "trace:fifo", "trace:las", "trace:srtf")
DEEP = [*STRESS, "tenants.sovereign-tn.training.finetune.rate=5000/d", "duration=2d"]


def main(argv: list[str]) -> None:
    """Print one line per case: name, digest, rounds, starts, preemptions (and calls or
    CPU seconds when asked)."""
    calls, cpu = "--calls" in argv, "--cpu" in argv
    cases = [a for a in argv if not a.startswith("--")] or list(CASES)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_trace(folder / "trace.csv")
        (folder / "scenario.yaml").write_text(SCENARIO.replace("nodes: 27", "nodes: 12"))
        for name in cases:
            kind, queue = name.split(":")
            loaded = (load_scenario(folder / "scenario.yaml", [f"scheduler.queue={queue}"])
                      if kind == "trace" else
                      load_scenario(ROOT / "examples" / "bizerte_20mw.yaml",
                                    [*DEEP, f"scheduler.queue={queue}"]))
            sim = build(loaded, backend="numpy")
            extra = ""
            if calls:
                profile = cProfile.Profile()
                profile.enable()
                sim.run()
                profile.disable()
                extra = f" calls {pstats.Stats(profile).total_calls}"  # type: ignore[attr-defined]
            else:
                t0 = time.process_time()
                sim.run()
                extra = f" cpu {time.process_time() - t0:.3f} s" if cpu else ""
            kinds = np.asarray(sim.log.work_kind)
            print(f"{name} {sim.log.digest()} rounds {sim.engine.rounds_run} starts "
                  f"{int((kinds == Ev.START).sum())} preemptions "
                  f"{int((kinds == Ev.PREEMPT).sum())}{extra}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
