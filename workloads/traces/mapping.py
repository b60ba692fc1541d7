"""Replay a trace as workload: trace rows → training jobs or request arrival arrays.

Training traces (Philly, Alibaba) record a run *duration*, not work. A job here is work
(``tokens`` of a catalog model), so each row becomes a job whose ``tokens`` are what its GPUs
would process in the trace duration at a stated reference throughput::

    tokens = duration_s · n_gpus · reference_flops_per_gpu / (6 · active_params)

At ``reference_flops_per_gpu`` FLOP/s per GPU the job runs exactly as long as in the trace;
on faster or slower hardware it runs shorter or longer, which is the point of replaying it
on a new cluster. ``est_duration_s`` is set to the trace duration (the user's estimate).
The global batch is shrunk where needed (never grown past ``global_batch_tokens``) so that
``tokens`` is a whole number of steps: short jobs are one small step, not one full batch.

With ``runtime: as_given`` a row instead becomes a job that runs exactly its trace
duration on whatever GPUs it gets (``TrainingJobSpec.runtime_s``): no compute, memory,
communication or checkpoint model, lossless preemption unless ``checkpoint_interval`` or
``checkpoint_cost`` is set, and ``model`` may be ``generic`` (no catalog model). This is how
the Tiresias and Gavel simulators replay traces. Tiresias's own CSV format is read by
:mod:`workloads.traces.tiresias`.

Serving traces (Azure LLM, Mooncake) become :class:`~workloads.requests.RequestArrays`.

Scaling knobs: trace time ``t`` (s from the trace start) maps to ``start + t · time_scale``
— ``time_scale=0.5`` replays twice as fast (durations are *not* scaled, so load doubles);
GPU counts are multiplied by ``gpu_scale`` and rounded up to a multiple of ``tp · pp``.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from emulator.units import Seconds
from workloads.models import get_model
from workloads.requests import RequestArrays
from workloads.spec import TrainingJobSpec
from workloads.traces import SAMPLES, sample_path
from workloads.traces.alibaba import AlibabaPodTrace, read_alibaba_pods
from workloads.traces.azure_llm import AzureLLMTrace, read_azure_llm
from workloads.traces.common import TraceIssue
from workloads.traces.gavel import GavelTrace, read_gavel, read_throughputs
from workloads.traces.mooncake import MooncakeTrace, read_mooncake
from workloads.traces.philly import PhillyTrace, read_philly
from workloads.traces.tiresias import TiresiasTrace, read_tiresias

__all__ = [
    "SAMPLE_PREFIX",
    "TraceReplay",
    "TraceReplayConfig",
    "alibaba_to_jobs",
    "azure_to_requests",
    "gavel_to_jobs",
    "mooncake_to_requests",
    "philly_to_jobs",
    "replay_trace",
    "resolve_trace_path",
    "tiresias_to_jobs",
]

SAMPLE_PREFIX = "sample:"
"""A ``path`` of ``"sample:NAME"`` names a shipped sample (see :data:`workloads.traces.SAMPLES`)."""

TraceKind = Literal["philly", "azure_llm", "mooncake", "alibaba", "tiresias", "gavel"]
_TRAINING_KINDS = ("philly", "alibaba", "tiresias", "gavel")
GENERIC_MODEL = "generic"
"""The model name of duration-as-given jobs that name no catalog model (memory-free)."""


class TraceReplayConfig(BaseModel):
    """How to replay one trace file as one tenant's workload (frozen, ``extra="forbid"``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: TraceKind
    path: str = Field(description="file path (relative: to the scenario's folder) or "
                                  "'sample:NAME'")
    tenant: str | None = Field(
        default=None, description="tenant of the jobs; inside tenants.NAME.traces it defaults "
                                  "to NAME (and must equal it if given)")
    name: str = Field(default="trace", description="prefix of job names / the service name")
    model: str = Field(description="catalog model every job / request uses; 'generic' "
                                   "(no model) with runtime: as_given")
    throughputs: str | None = Field(
        default=None, description="gavel: throughput table (Gavel's JSON format; a path or "
                                  "'sample:gavel_throughputs'): steps/s per job type and "
                                  "GPU type")
    runtime: Literal["model", "as_given"] = Field(
        default="model", description="'model': run time from the compute model and "
                                     "reference_flops_per_gpu; 'as_given': exactly the trace "
                                     "duration, on any GPUs")
    tp: int = Field(default=1, gt=0)
    pp: int = Field(default=1, gt=0)
    time_scale: float = Field(default=1.0, gt=0, description="trace seconds → sim seconds")
    gpu_scale: float = Field(default=1.0, gt=0, description="multiplier on GPU counts")
    start: Seconds = Field(default=0.0, ge=0, description="sim time of the trace's zero")
    limit: int | None = Field(default=None, gt=0, description="keep the first N rows only")
    reference_flops_per_gpu: float = Field(
        default=4.0e14, gt=0,
        description="FLOP/s per GPU at which a job lasts its trace duration; default: Llama 3 "
                    "405B on H100, BF16, 380-430 TFLOP/s (Llama 3 paper)")
    tenant_per_cluster: bool = Field(
        default=False, description="Philly: tenant '<tenant>-<cluster>' per virtual cluster")
    global_batch_tokens: float = Field(default=4e6, gt=0)
    seq_len: int = Field(default=8192, gt=0)
    precision: Literal["bf16", "fp8", "fp4"] = "bf16"
    checkpoint_interval: Seconds = Field(default=3600.0, gt=0)
    checkpoint_cost: Seconds = Field(default=60.0, ge=0)
    priority: int = 0
    preemptible: bool = True
    system: str | None = None
    estimate_error: float = Field(
        default=0.0, ge=0, description="sd of the log of users' runtime-estimate error")

    @field_validator("model")
    @classmethod
    def _known_model(cls, v: str) -> str:
        if v != GENERIC_MODEL:
            get_model(v)  # UnknownModelError is a ValueError: pydantic reports it on this field
        return v

    @model_validator(mode="after")
    def _generic_as_given(self) -> TraceReplayConfig:
        if self.model == GENERIC_MODEL and self.runtime != "as_given":
            raise ValueError("model 'generic' has no compute model; it needs "
                             "runtime: as_given")
        if (self.kind == "gavel") != (self.throughputs is not None):
            raise ValueError("a gavel trace needs 'throughputs' (a throughput table), and "
                             "only a gavel trace takes one")
        if self.kind == "gavel" and self.runtime != "as_given":
            raise ValueError("a gavel trace gives steps and throughputs, not work for the "
                             "compute model; it needs runtime: as_given")
        return self

    @model_validator(mode="after")
    def _sample_exists(self) -> TraceReplayConfig:
        if self.path.startswith(SAMPLE_PREFIX):
            name = self.path[len(SAMPLE_PREFIX):]
            if name not in SAMPLES:
                raise ValueError(f"unknown trace sample {name!r}; known: "
                                 f"{', '.join(sorted(SAMPLES))}")
        return self


@dataclass(frozen=True, eq=False)
class TraceReplay:
    """What a replayed trace contributes: training ``jobs`` (Philly, Alibaba) or
    ``requests`` (Azure LLM, Mooncake), the reader's ``issues`` and ``skipped``, the count of
    valid rows that could not become work (CPU-only pods, zero run time)."""

    jobs: tuple[TrainingJobSpec, ...]
    requests: RequestArrays | None
    issues: tuple[TraceIssue, ...]
    skipped: int = 0


def resolve_trace_path(path: str, base_dir: str | Path | None = None) -> Path:
    """The file ``path`` names: a shipped sample, an absolute path, or one relative to
    ``base_dir`` (the current directory if ``None``)."""
    if path.startswith(SAMPLE_PREFIX):
        return sample_path(path[len(SAMPLE_PREFIX):])
    p = Path(path)
    return p if p.is_absolute() or base_dir is None else Path(base_dir) / p


def _tenant(cfg: TraceReplayConfig) -> str:
    if cfg.tenant is None:
        raise ValueError(f"trace {cfg.path!r}: no tenant to replay it as; set 'tenant'")
    return cfg.tenant


def _gpus(trace_gpus: float, cfg: TraceReplayConfig) -> int:
    par = cfg.tp * cfg.pp
    return max(1, math.ceil(trace_gpus * cfg.gpu_scale / par - 1e-9)) * par


def _whole_steps(tokens: float, batch_tokens: float) -> tuple[float, float]:
    """``(tokens, tokens_per_step)`` with a whole number of steps of at most ``batch_tokens``.

    The step is shrunk (never grown) so ``tokens`` is an exact multiple of it: the job's
    step count, hence its runtime, matches ``tokens`` (rounded up by < one token per step).
    """
    steps = max(1, math.ceil(tokens / batch_tokens))
    per_step = max(1.0, float(math.ceil(tokens / steps)))
    return per_step * steps, per_step


def _job(job_id: int, name: str, tenant: str, submit_s: float, duration_s: float,
         trace_gpus: float, cfg: TraceReplayConfig) -> TrainingJobSpec:
    n = _gpus(trace_gpus, cfg)
    if cfg.runtime == "as_given":
        return _as_given_job(job_id, name, tenant, submit_s, duration_s, n, cfg)
    per_token = get_model(cfg.model).train_flops_per_token()
    tokens, tokens_per_step = _whole_steps(
        duration_s * n * cfg.reference_flops_per_gpu / per_token, cfg.global_batch_tokens)
    return TrainingJobSpec(
        job_id=job_id, tenant=tenant, name=name, model=cfg.model,
        submit_s=cfg.start + submit_s * cfg.time_scale, n_gpus=n, tp=cfg.tp, pp=cfg.pp,
        dp=n // (cfg.tp * cfg.pp), tokens=tokens, tokens_per_step=tokens_per_step,
        seq_len=cfg.seq_len, precision=cfg.precision,
        checkpoint_interval_s=float(cfg.checkpoint_interval),
        checkpoint_cost_s=float(cfg.checkpoint_cost), priority=cfg.priority,
        preemptible=cfg.preemptible, gpu_system=cfg.system, est_duration_s=duration_s,
        estimate_error=cfg.estimate_error)


def _as_given_job(job_id: int, name: str, tenant: str, submit_s: float, duration_s: float,
                  n: int, cfg: TraceReplayConfig) -> TrainingJobSpec:
    """A job that runs exactly ``duration_s`` (s): lossless preemption unless the scenario
    sets ``checkpoint_interval``/``checkpoint_cost`` explicitly."""
    lossy = "checkpoint_interval" in cfg.model_fields_set
    return TrainingJobSpec(
        job_id=job_id, tenant=tenant, name=name, model=cfg.model,
        submit_s=cfg.start + submit_s * cfg.time_scale, n_gpus=n, tp=cfg.tp, pp=cfg.pp,
        dp=n // (cfg.tp * cfg.pp), tokens=1.0, tokens_per_step=1.0, seq_len=cfg.seq_len,
        precision=cfg.precision,
        checkpoint_interval_s=float(cfg.checkpoint_interval) if lossy else math.inf,
        checkpoint_cost_s=(float(cfg.checkpoint_cost)
                           if "checkpoint_cost" in cfg.model_fields_set else 0.0),
        priority=cfg.priority, preemptible=cfg.preemptible, gpu_system=cfg.system,
        est_duration_s=duration_s, estimate_error=cfg.estimate_error, runtime_s=duration_s)


def tiresias_to_jobs(trace: TiresiasTrace, cfg: TraceReplayConfig,
                     first_job_id: int = 0) -> list[TrainingJobSpec]:
    """One job per Tiresias row (in submission order, first ``cfg.limit``)."""
    return [_job(first_job_id + i, f"{cfg.name}-{r.job_id}", _tenant(cfg), r.submit_s,
                 r.duration_s, r.num_gpus, cfg)
            for i, r in enumerate(trace.jobs[:cfg.limit])]


def gavel_to_jobs(trace: GavelTrace, cfg: TraceReplayConfig, table_path: Path,
                  first_job_id: int = 0) -> list[TrainingJobSpec]:
    """One job per Gavel line (by arrival, first ``cfg.limit``): ``total_steps`` at the
    table's steps/s on each GPU type. Types with no throughput are absent from
    ``runtime_by_gpu``; elsewhere (a type the table does not name) the job takes its
    slowest listed duration. ``ValueError`` if the table lacks a job type."""
    table = read_throughputs(table_path)
    jobs = []
    for i, r in enumerate(trace.jobs[:cfg.limit]):
        try:
            runtimes = table.runtimes_s(r.job_type, r.scale_factor, r.total_steps)
        except KeyError as exc:
            raise ValueError(f"line {r.line}: {exc.args[0]}") from None
        if not runtimes:
            raise ValueError(f"job type {r.job_type!r} has no positive throughput in "
                           f"{table_path.name}")
        spec = _as_given_job(first_job_id + i, f"{cfg.name}-L{r.line}", _tenant(cfg),
                             r.arrival_s, max(runtimes.values()),
                             _gpus(r.scale_factor, cfg), cfg)
        jobs.append(dataclasses.replace(spec, runtime_by_gpu=tuple(runtimes.items()),
                                        est_duration_s=min(runtimes.values())))
    return jobs


def philly_to_jobs(trace: PhillyTrace, cfg: TraceReplayConfig,
                   first_job_id: int = 0) -> list[TrainingJobSpec]:
    """One job per Philly row (in trace order, first ``cfg.limit``), ids from ``first_job_id``."""
    rows = trace.jobs[:cfg.limit]
    return [_job(first_job_id + i, f"{cfg.name}-L{r.line}",
                 f"{_tenant(cfg)}-{r.cluster}" if cfg.tenant_per_cluster else _tenant(cfg),
                 r.submit_s, r.duration_s, r.num_gpus, cfg)
            for i, r in enumerate(rows)]


def alibaba_to_jobs(trace: AlibabaPodTrace, cfg: TraceReplayConfig,
                    first_job_id: int = 0) -> tuple[list[TrainingJobSpec], int]:
    """Jobs from the GPU pods of an Alibaba pod list, and how many pods were skipped.

    CPU-only pods (``num_gpu == 0``) and pods with no run time are skipped; a pod sharing a
    GPU (``gpu_milli < 1000``) takes a whole GPU. Duration is :attr:`AlibabaPod.run_s`.
    ``cfg.limit`` counts the pods considered, in trace order.
    """
    jobs: list[TrainingJobSpec] = []
    skipped = 0
    for pod in trace.pods[:cfg.limit]:
        if pod.num_gpu == 0 or pod.run_s <= 0:
            skipped += 1
            continue
        jobs.append(_job(first_job_id + len(jobs), f"{cfg.name}-{pod.name}", _tenant(cfg),
                         pod.creation_s, pod.run_s, pod.num_gpu, cfg))
    return jobs, skipped


def _scaled(requests: RequestArrays, cfg: TraceReplayConfig) -> RequestArrays:
    n = len(requests) if cfg.limit is None else min(cfg.limit, len(requests))
    return RequestArrays(cfg.start + requests.times_s[:n] * cfg.time_scale,
                         requests.prompt_tokens[:n].copy(), requests.output_tokens[:n].copy())


def azure_to_requests(trace: AzureLLMTrace, cfg: TraceReplayConfig) -> RequestArrays:
    """The trace's requests on the simulation clock (``start + t · time_scale``)."""
    return _scaled(trace.requests, cfg)


def mooncake_to_requests(trace: MooncakeTrace, cfg: TraceReplayConfig) -> RequestArrays:
    """The trace's requests on the simulation clock (``start + t · time_scale``)."""
    return _scaled(trace.requests, cfg)


def replay_trace(cfg: TraceReplayConfig, base_dir: str | Path | None = None,
                 first_job_id: int = 0) -> TraceReplay:
    """Read the trace ``cfg`` names and map it (see the module docstring)."""
    path = resolve_trace_path(cfg.path, base_dir)
    if cfg.kind == "philly":
        philly = read_philly(path)
        return TraceReplay(tuple(philly_to_jobs(philly, cfg, first_job_id)), None,
                           philly.issues)
    if cfg.kind == "gavel":
        assert cfg.throughputs is not None  # the model validator requires it
        gavel = read_gavel(path)
        table = resolve_trace_path(cfg.throughputs, base_dir)
        return TraceReplay(tuple(gavel_to_jobs(gavel, cfg, table, first_job_id)), None,
                           gavel.issues)
    if cfg.kind == "tiresias":
        tiresias = read_tiresias(path)
        return TraceReplay(tuple(tiresias_to_jobs(tiresias, cfg, first_job_id)), None,
                           tiresias.issues)
    if cfg.kind == "alibaba":
        pods = read_alibaba_pods(path)
        jobs, skipped = alibaba_to_jobs(pods, cfg, first_job_id)
        return TraceReplay(tuple(jobs), None, pods.issues, skipped)
    if cfg.kind == "azure_llm":
        azure = read_azure_llm(path)
        return TraceReplay((), azure_to_requests(azure, cfg), azure.issues)
    mooncake = read_mooncake(path)
    return TraceReplay((), mooncake_to_requests(mooncake, cfg), mooncake.issues)
