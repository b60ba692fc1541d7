"""The scenario file: validated, frozen configuration of one emulation run.

A scenario names its sites (presets from :mod:`topologies` with inline overrides), its
tenants and their workloads (:mod:`workloads.config`), the scheduler, the compute backend
and the outputs. Validation has no side effects: no directory is created and no clock is
read (DESIGN principle 8). Human units are accepted everywhere (``"7d"``, ``"5m"``).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from emulator.errors import PATTERN_WORDS, short
from emulator.power_control import PowerControlConfig
from emulator.scenario_models import resolve_models
from emulator.schema_base import ScenarioModel
from emulator.units import Seconds
from emulator.wan_events import WanEventsConfig
from workloads.config import TenantConfig

__all__ = [
    "ComputeConfig",
    "EngineConfig",
    "OutputConfig",
    "Scenario",
    "SchedulerConfig",
    "SiteRef",
]


MAX_DURATION_S = 10 * 366 * 86400.0
"""Longest simulated time accepted (s): ten years; longer is a typo (``1e12d``)."""

MIN_STEP_S = 1.0
"""Shortest sampling / serving window accepted (s): finer steps only multiply events."""

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$"
TENANT_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_+-]{0,63}$"
"""A tenant name: it is a key of ``--set`` paths and a label in tables."""
PATTERN_WORDS[NAME_PATTERN] = ("letters, digits, '.', '_', '+', '-', not starting with '.' "
                               "(the name becomes a folder name), at most 128")
"""A scenario name: it becomes a folder name, so no separators, no leading dot."""


class _Frozen(ScenarioModel):
    """Frozen, unknown keys rejected, numbers finite (see :mod:`emulator.schema_base`)."""


class SiteRef(BaseModel):
    """A site: a preset name and/or inline fields that override the preset's.

    Any field of a site preset (``halls``, ``pue``, ``grid_connection``, ``wan`` …) may be
    given here; lists replace the preset's list wholesale. ``gpuemu topology --list`` shows
    the presets.
    """

    model_config = ConfigDict(frozen=True, extra="allow")

    preset: str | None = Field(default=None, description="site preset name, e.g. bizerte-20mw")

    def overrides(self) -> dict[str, object]:
        """The inline fields given next to ``preset``."""
        return dict(self.model_extra or {})


class SchedulerConfig(_Frozen):
    """Which queue policy orders and admits work, and which placement picks the GPUs.

    ``queue`` and ``placement`` are built-in names (``fifo``, ``backfill``; ``pack``,
    ``spread``) or ``"package.module:ClassName"`` for a user's own policy class. Naming a
    module imports it, which runs its code (``validate`` does too): trust it as any import.
    """

    queue: str = Field(default="fifo", description="queue policy that orders and admits work: a "
                                                   "built-in name (fifo, backfill, las, fairshare,"
                                                   " ...) or 'package.module:ClassName'")
    placement: str = Field(default="pack", description="placement policy that picks the GPUs: a "
                                                       "built-in name (pack, spread, ...) or "
                                                       "'package.module:ClassName'")
    options: dict[str, object] = Field(default_factory=dict,
                                       description="keyword arguments for the queue policy")
    round_length: Seconds | None = Field(
        default=None, gt=0, description="round-based mode: scheduling rounds only at "
                                        "multiples of this length (Gavel: 360s); none: a "
                                        "round at every arrival and completion")


class ComputeConfig(_Frozen):
    """Where the compute and power kernels run, and which hardware figures they use."""

    backend: Literal["auto", "numpy", "cupy"] = Field(
        default="auto", description="array library of the kernels: numpy, cupy (needs a CUDA GPU) "
                                    "or auto (cupy when a GPU is visible, else numpy)")
    profile: str | None = Field(
        default=None, min_length=1,
        description="hardware profile YAML (gpuemu calibrate, or hand-written) whose GPU "
                    "peaks, HBM bandwidth and idle/full power replace the catalog's; a "
                    "relative path is taken from the scenario file's folder")
    fused_kernels: bool = Field(
        default=False, description="cupy only: fused CUDA kernels for decode and power "
                                   "(experimental: not yet measured on a GPU)")


class EngineConfig(_Frozen):
    """Time steps of the engine's periodic processes."""

    sample_interval: Seconds = Field(default=300.0, ge=MIN_STEP_S,
                                     description="power/utilisation sampling period")
    serving_window: Seconds = Field(default=60.0, ge=MIN_STEP_S,
                                    description="inference requests are simulated in windows "
                                                "of this length (continuous batching "
                                                "re-estimated per window)")
    stop_when_done: bool = Field(
        default=False,
        description="end the run as soon as every job has ended and none is left to arrive "
                    "(as trace-replay simulators do) instead of at duration, which is then "
                    "an upper bound; results cover the time simulated. Inference services "
                    "never end, so a scenario with them runs to duration")


class OutputConfig(_Frozen):
    """Where results go and what is kept."""

    dir: str = Field(default="runs/{name}", min_length=1,
                     description="output folder; {name} and {seed} expand (the scenario "
                                 "name cannot hold a path separator, so it never leaves it)")
    requests: bool = Field(default=True, description="write the per-request table")
    rack_series: bool = Field(default=False, description="keep per-rack utilisation samples "
                                                         "(rack_util.parquet) on sites of more "
                                                         "than 256 racks; smaller sites always "
                                                         "keep them")
    trace: bool = Field(default=False, description="also write trace.json, a Perfetto / Chrome "
                                                   "trace of the run (see gpuemu export "
                                                   "--perfetto for its bounds)")


class Scenario(_Frozen):
    """A complete emulation scenario."""

    name: str = Field(pattern=NAME_PATTERN,
                      description="letters, digits, '.', '_', '+', '-' (it names the output "
                                  "folder)")
    seed: int = Field(default=0, ge=0, lt=2**63, description="seed of every random stream of the "
                                                             "run (same scenario + same seed gives"
                                                             " the same results)")
    duration: Seconds = Field(gt=0, le=MAX_DURATION_S, description="simulated time, e.g. 7d")
    sites: list[SiteRef] = Field(min_length=1, description="the datacenter sites: each a preset "
                                                           "name and/or inline site fields")
    tenants: dict[str, TenantConfig] = Field(
        min_length=1, description="tenants by name, each with its training and inference work")
    scheduler: SchedulerConfig = Field(
        default_factory=SchedulerConfig, description="queue and placement policies and their "
                                                     "options")
    compute: ComputeConfig = Field(
        default_factory=ComputeConfig, description="where the compute and power kernels run and "
                                                   "which hardware figures they use")
    engine: EngineConfig = Field(
        default_factory=EngineConfig, description="time steps of the engine's periodic processes")
    output: OutputConfig = Field(
        default_factory=OutputConfig, description="where results are written and which optional "
                                                  "tables are kept")
    start: dt.datetime = Field(
        default=dt.datetime(2025, 3, 20, tzinfo=dt.UTC),
        description="UTC date/time of t=0 (sun position, seasons, tariffs); a date or ISO "
                    "time, naive means UTC")
    power: PowerControlConfig = Field(
        default_factory=PowerControlConfig, description="switches of the power-aware policies (GPU"
                                                        " power caps, solar deferral, carbon-aware"
                                                        " placement)")
    wan_events: WanEventsConfig | None = Field(
        default=None, description="scheduled and random cuts of WAN/subsea cables; none: no cuts")
    events: str | None = Field(
        default=None, min_length=1,
        description="planned events file (YAML or CSV: drains, failures, restores, cable "
                    "cuts, policy switches); a relative path is taken from the scenario "
                    "file's folder; gpuemu run --events replaces it")

    @field_validator("start", mode="before")
    @classmethod
    def _utc_start(cls, v: object) -> object:
        if isinstance(v, dt.date) and not isinstance(v, dt.datetime):
            v = dt.datetime(v.year, v.month, v.day)
        return v

    @field_validator("start")
    @classmethod
    def _naive_is_utc(cls, v: dt.datetime) -> dt.datetime:
        return v.replace(tzinfo=dt.UTC) if v.tzinfo is None else v

    @field_validator("tenants")
    @classmethod
    def _tenant_names(cls, v: dict[str, TenantConfig]) -> dict[str, TenantConfig]:
        for name in v:
            if not re.match(TENANT_PATTERN, name):
                raise ValueError(f"got tenant name {short(name)}; expected letters, digits, "
                                 "'_', '+', '-' (no '.', which --set paths use), at most 64")
        return v

    @model_validator(mode="after")
    def _models(self) -> Scenario:
        """Every model reference known; inline models' names resolved scenario-wide."""
        resolve_models(self)
        return self
