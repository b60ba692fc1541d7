"""Start-up cost: a 5,000-job single-GPU trace (Philly format) on a 108-GPU site, end to end.

Writes a seeded synthetic trace in the Philly format (5,000 one-GPU jobs, Poisson
arrivals over a day, lognormal durations) and a scenario for 27 generic nodes × 4 GPUs
(durations as given, FIFO), then times ``python -m emulator run … --headless`` as a fresh
process: interpreter start-up, imports, build, run and writing the results, as a user
would. Prints the total (target: under 1.5 s on an idle core), the import time of the CLI
(``python -X importtime``, summed over top-level packages) and the run's own wall time
from ``summary.json``. Figures only; nothing is asserted.

    python bench/small_trace.py
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent

SCENARIO = """\
name: small-trace
seed: 1
duration: 2d
sites:
  - name: lab
    country: US
    city: Redmond
    location: {lat: 47.67, lon: -122.12}
    grid_connection: 1MW
    cooling: air
    halls:
      - {name: gpus, system: generic, gpus_per_node: 4, nodes: 27}
tenants:
  users:
    traces:
      - {kind: philly, path: trace.csv, model: generic, runtime: as_given}
scheduler: {queue: fifo, placement: pack}
compute: {backend: numpy}
engine: {sample_interval: 10m}
output: {requests: false}
"""


def write_trace(path: Path, n: int = 5_000) -> None:
    """``n`` single-GPU jobs over a day (seeded), in the Philly CSV format."""
    rng = np.random.default_rng(5000)
    t0 = datetime(2017, 10, 1)
    arrivals = np.cumsum(rng.exponential(86_400 / n, n))
    durations = np.maximum(1.0, np.round(rng.lognormal(np.log(600), 1.0, n)))
    lines = ["timestamp,duration,num_gpus,gpu_time,cluster"]
    for a, d in zip(arrivals.tolist(), durations.tolist(), strict=True):
        stamp = (t0 + timedelta(seconds=round(a))).strftime("%Y-%m-%d %H:%M:%S")
        lines.append(f"{stamp},{d:.0f},1,{d:.0f},lab")
    path.write_text("\n".join(lines) + "\n")


def import_ms() -> dict[str, float]:
    """Cumulative import time (ms) of ``emulator.cli`` and its heaviest dependencies."""
    out = subprocess.run([sys.executable, "-X", "importtime", "-c", "import emulator.cli"],
                         capture_output=True, text=True, cwd=ROOT, check=True).stderr
    cumulative: dict[str, float] = {}
    for line in out.splitlines():
        parts = line.split("|")
        if len(parts) == 3 and parts[1].strip().isdigit():
            name = parts[2].strip()
            if "." not in name:
                cumulative[name] = int(parts[1]) / 1e3
    return dict(sorted(cumulative.items(), key=lambda kv: -kv[1])[:8])


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_trace(folder / "trace.csv")
        (folder / "scenario.yaml").write_text(SCENARIO)
        cmd = [sys.executable, "-m", "emulator", "run", str(folder / "scenario.yaml"),
               "--headless", "--out", str(folder / "out")]
        t0 = time.perf_counter()
        subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True)
        total = time.perf_counter() - t0
        summary = json.loads((folder / "out" / "summary.json").read_text())
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        bare = time.perf_counter() - t0
    run_s = summary["run"]["wall_s"]
    jobs = summary["jobs"]
    print(f"5,000 single-GPU jobs on 108 GPUs: {total:.2f} s end to end (target < 1.5 s); "
          f"finished {jobs['finished']:,} of {jobs['submitted']:,}")
    print(f"  bare interpreter start {bare:.2f} s; simulation run {run_s:.2f} s; the rest "
          f"(imports, build, writing results) {total - bare - run_s:.2f} s")
    print("  import time of emulator.cli by top-level package (ms, cumulative): " + ", ".join(
        f"{k} {v:.0f}" for k, v in import_ms().items()))


if __name__ == "__main__":
    main()
