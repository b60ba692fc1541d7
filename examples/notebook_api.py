# %% [markdown]
# # gpuemu from Python: runs as DataFrames, and a small sweep
#
# Run it as a script (`python examples/notebook_api.py`) or open it in an editor that
# understands `# %%` cells (VS Code, JupyterLab with jupytext, Spyder). It simulates two
# hours of the Bizerte 20 MW site with one hall cut down to a few racks, then sweeps that
# hall's size. The test suite runs this file.

# %%
from pathlib import Path

from emulator import api

SCENARIO = Path(__file__).resolve().parent / "bizerte_20mw.yaml"
SMALL = ["sites.0.halls.0.racks=4", "sites.0.halls.1.racks=4"]  # 8 racks, 576 GPUs

# %% A run: every call builds a fresh simulation, so re-running a cell is safe.
res = api.run(SCENARIO, overrides=SMALL, until="2h", seed=1)
print(res.summary["total_gpus"], "GPUs; SLO attainment",
      round(res.summary["requests"]["slo_attainment"], 4))

# %% Jobs: one row per training job or inference service, datetimes from `start`.
jobs = res.jobs
training = jobs[jobs.kind == "training"]
print(training[["tenant", "name", "n_gpus", "submit_time", "start_time", "state"]].head())

# %% Time series: power and queue per sample, indexed by calendar time.
power = res.timeseries.set_index("time")["facility_w"] / 1e6
print("peak facility power (MW):", round(power.max(), 3))

# %% Requests: TTFT percentiles per tenant (only when the scenario keeps requests).
if len(res.requests):
    print(res.requests.groupby("tenant")["ttft_s"].quantile(0.99))

# %% Failures: GPUs taken out of service and back (empty here: none configured).
print(list(res.failures.columns), len(res.failures), "failure events")

# %% A sweep: hall-b from 2 to 8 racks, two seeds; one row per run.
table = api.sweep(SCENARIO, overrides=[SMALL[0], "sites.0.halls.1.racks=2,8"], seeds=2,
                  until="1h")
print(table.groupby("sites.0.halls.1.racks")[["total_gpus", "gpu_allocation_util"]].mean())
