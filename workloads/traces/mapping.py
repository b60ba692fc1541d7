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

Time origin: a trace's times are rebased so its first row is at ``start`` (the public
Alibaba pod list counts seconds from its own zero, and the held-out part of it begins
~126 days in). ``absolute_time: true`` keeps the file's own zero instead (Azure and
Philly: midnight of the first row's day), so several files of one trace keep their
relative offsets; ``offset`` names the trace time (s, in the file's own time base) that
maps to ``start``; rows before it are dropped and counted. Tiresias and Gavel traces keep
the file's own zero by default (as those simulators replay them), so ``absolute_time``
changes nothing there, and ``offset`` works as for the others.

Scaling knobs: trace time ``t`` (s from the origin) maps to ``start + t · time_scale``
— ``time_scale=0.5`` replays twice as fast (durations are *not* scaled, so load doubles);
GPU counts are multiplied by ``gpu_scale`` and rounded up to a multiple of ``tp · pp``.
"""

from __future__ import annotations

import dataclasses
import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from emulator.units import Seconds
from workloads.models import get_model
from workloads.requests import RequestArrays
from workloads.spec import TrainingJobSpec
from workloads.traces import check_sample, sample_path
from workloads.traces.alibaba import AlibabaPodTrace, read_alibaba_pods
from workloads.traces.azure_llm import AzureLLMTrace, read_azure_llm
from workloads.traces.common import MAX_TRACE_GPUS, TraceFormatError, TraceIssue
from workloads.traces.gavel import GavelTrace, read_gavel, read_throughputs
from workloads.traces.mooncake import MooncakeTrace, read_mooncake
from workloads.traces.philly import PhillyTrace, read_philly
from workloads.traces.tiresias import TiresiasTrace, read_tiresias

__all__ = [
    "SAMPLE_PREFIX",
    "TraceReplay",
    "TraceReplayConfig",
    "alibaba_jobs",
    "alibaba_to_jobs",
    "azure_to_requests",
    "gavel_jobs",
    "gavel_to_jobs",
    "mooncake_to_requests",
    "philly_to_jobs",
    "replay_trace",
    "resolve_trace_path",
    "tiresias_to_jobs",
    "trace_origin",
]

SAMPLE_PREFIX = "sample:"
"""A ``path`` of ``"sample:NAME"`` names a shipped sample (see :data:`workloads.traces.SAMPLES`)."""

TraceKind = Literal["philly", "azure_llm", "mooncake", "alibaba", "tiresias", "gavel"]
_TRAINING_KINDS = ("philly", "alibaba", "tiresias", "gavel")
GENERIC_MODEL = "generic"
"""The model name of duration-as-given jobs that name no catalog model (memory-free)."""


class TraceReplayConfig(BaseModel):
    """How to replay one trace file as one tenant's workload (frozen, ``extra="forbid"``)."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    kind: TraceKind = Field(description="trace format: philly, alibaba, tiresias, gavel (training)"
                                        " or azure_llm, mooncake (serving)")
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
    tp: int = Field(default=1, gt=0, description="tensor-parallel size of replayed jobs")
    pp: int = Field(default=1, gt=0, description="pipeline-parallel stages of replayed jobs")
    time_scale: float = Field(default=1.0, gt=0, description="trace seconds → sim seconds")
    gpu_scale: float = Field(default=1.0, gt=0, le=MAX_TRACE_GPUS,
                             description="multiplier on GPU counts")
    start: Seconds = Field(default=0.0, ge=0, description="sim time of the trace's zero")
    absolute_time: bool = Field(
        default=False, description="keep the file's own time zero instead of rebasing to "
                                   "the first row (Azure, Philly: midnight of the first row's "
                                   "day)")
    offset: Seconds | None = Field(
        default=None, ge=0, description="trace time (s, file's own zero) mapped to 'start'; "
                                        "earlier rows are dropped")
    keep_pending: bool = Field(
        default=False, description="Alibaba: also replay pods never scheduled (Pending), "
                                   "for their pending time")
    limit: int | None = Field(default=None, gt=0, description="keep the first N rows only")
    reference_flops_per_gpu: float = Field(
        default=4.0e14, gt=0,
        description="FLOP/s per GPU at which a job lasts its trace duration; default: Llama 3 "
                    "405B on H100, BF16, 380-430 TFLOP/s (Llama 3 paper)")
    tenant_per_cluster: bool = Field(
        default=False, description="Philly: tenant '<tenant>-<cluster>' per virtual cluster")
    global_batch_tokens: float = Field(default=4e6, gt=0, description="tokens per optimizer step "
                                                                      "of replayed jobs")
    seq_len: int = Field(default=8192, gt=0, description="sequence length of replayed jobs, tokens")
    precision: Literal["bf16", "fp8", "fp4"] = Field(
        default="bf16", description="numeric precision of replayed jobs: bf16, fp8 or fp4")
    checkpoint_interval: Seconds = Field(
        default=3600.0, gt=0, description="time between checkpoints of replayed jobs, e.g. 1h")
    checkpoint_cost: Seconds = Field(default=60.0, ge=0, description="time one checkpoint stalls a"
                                                                     " replayed job, e.g. 1m")
    priority: int = Field(default=0, description="priority of replayed jobs (higher first, for "
                                                 "policies that use it)")
    preemptible: bool = Field(default=True, description="whether policies may preempt replayed "
                                                        "jobs")
    system: str | None = Field(default=None, description="run replayed jobs only on racks of this "
                                                         "catalog system; none: any")
    estimate_error: float = Field(
        default=0.0, ge=0, description="sd of the log of users' runtime-estimate error")

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

    @field_validator("path", "throughputs")
    @classmethod
    def _sample_exists(cls, v: str | None) -> str | None:
        return v if v is None else check_sample(v)


@dataclass(frozen=True, eq=False)
class TraceReplay:
    """What a replayed trace contributes: training ``jobs`` (Philly, Alibaba) or
    ``requests`` (Azure LLM, Mooncake), the reader's ``issues`` and ``skipped``, the count of
    valid rows that could not become work (CPU-only pods, zero run time)."""

    jobs: tuple[TrainingJobSpec, ...]
    requests: RequestArrays | None
    issues: tuple[TraceIssue, ...]
    skipped: int = 0

    @property
    def notes(self) -> tuple[TraceIssue, ...]:
        """The counted (not malformed) entries of :attr:`issues`."""
        return tuple(i for i in self.issues if i.kind != "malformed")


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
    """One job per Tiresias row (in submission order, first ``cfg.limit``).

    Times keep the file's own zero (the Tiresias simulator's), which is therefore the
    default origin, as ``absolute_time`` asks; rows before ``cfg.offset`` are left out and
    the others replayed from it (see :func:`trace_origin`).
    """
    origin = trace_origin(0.0, cfg)
    rows = tuple(r for r in trace.jobs[:cfg.limit] if r.submit_s >= origin)
    return [_job(first_job_id + i, f"{cfg.name}-{r.job_id}", _tenant(cfg),
                 r.submit_s - origin, r.duration_s, r.num_gpus, cfg)
            for i, r in enumerate(rows)]


def gavel_jobs(trace: GavelTrace, cfg: TraceReplayConfig, table_path: Path,
               first_job_id: int = 0
               ) -> tuple[list[TrainingJobSpec], tuple[TraceIssue, ...], int]:
    """Jobs from a Gavel trace, the lines the throughput table cannot time, and how many
    lines were before ``cfg.offset``.

    One job per line (by arrival, first ``cfg.limit``): ``total_steps`` at the table's
    steps/s on each GPU type. Types with no throughput are absent from
    ``runtime_by_gpu``; elsewhere (a type the table does not name) the job takes its
    slowest listed duration. A line whose job type and scale the table lacks, or has no
    positive throughput for, is a malformed row (``file:line: why``), skipped. Times keep
    the file's own zero (Gavel's), the default origin; lines before ``cfg.offset`` are
    left out (see :func:`trace_origin`).
    """
    try:
        table = read_throughputs(table_path)
    except (OSError, ValueError) as exc:
        exc.trace_field = "throughputs"  # type: ignore[attr-defined]  # the field to name
        raise
    origin = trace_origin(0.0, cfg)
    jobs: list[TrainingJobSpec] = []
    issues: list[TraceIssue] = []
    early = 0
    for r in trace.jobs[:cfg.limit]:
        try:
            runtimes = table.runtimes_s(r.job_type, r.scale_factor, r.total_steps)
        except KeyError as exc:
            issues.append(TraceIssue(str(trace.path), r.line, str(exc.args[0])))
            continue
        if not runtimes:
            issues.append(TraceIssue(str(trace.path), r.line,
                                     f"job type {r.job_type!r} on {r.scale_factor} GPU(s) has "
                                     f"no positive throughput in {table_path.name}"))
            continue
        if r.arrival_s < origin:
            early += 1
            continue
        spec = _as_given_job(first_job_id + len(jobs), f"{cfg.name}-L{r.line}", _tenant(cfg),
                             r.arrival_s - origin, max(runtimes.values()),
                             _gpus(r.scale_factor, cfg), cfg)
        jobs.append(dataclasses.replace(spec, runtime_by_gpu=tuple(runtimes.items()),
                                        est_duration_s=min(runtimes.values())))
    return jobs, tuple(issues), early


def gavel_to_jobs(trace: GavelTrace, cfg: TraceReplayConfig, table_path: Path,
                  first_job_id: int = 0) -> list[TrainingJobSpec]:
    """The jobs of :func:`gavel_jobs` (lines the table cannot time left out)."""
    return gavel_jobs(trace, cfg, table_path, first_job_id)[0]


def trace_origin(first_s: float, cfg: TraceReplayConfig, own_shift_s: float = 0.0) -> float:
    """The trace time mapped to ``cfg.start``, on the reader's clock.

    ``first_s`` is the first row's time on that clock and ``own_shift_s`` the reader's
    clock minus the file's own zero (Azure: the first request's time of day).
    """
    if cfg.offset is not None:
        return float(cfg.offset) - own_shift_s
    return -own_shift_s if cfg.absolute_time else first_s


def _rows_before_origin(n: int, file: str) -> tuple[TraceIssue, ...]:
    return (TraceIssue(file, 0, "before the trace's offset", "dropped", n),) if n else ()


def philly_to_jobs(trace: PhillyTrace, cfg: TraceReplayConfig,
                   first_job_id: int = 0) -> list[TrainingJobSpec]:
    """One job per Philly row (in trace order, first ``cfg.limit``), ids from ``first_job_id``.

    The reader counts from the first submission, which is therefore the default origin.
    The file's own zero (``absolute_time``, and what ``cfg.offset`` counts from) is
    midnight of the first submission's day, as for Azure's timestamps of the same form.
    Rows before ``cfg.offset`` are left out.
    """
    rows = trace.jobs[:cfg.limit]
    start = trace.start
    own_shift_s = (0.0 if start is None else
                   (start - start.replace(hour=0, minute=0, second=0, microsecond=0))
                   .total_seconds())
    origin = trace_origin(0.0, cfg, own_shift_s)
    rows = tuple(r for r in rows if r.submit_s >= origin)
    return [_job(first_job_id + i, f"{cfg.name}-L{r.line}",
                 f"{_tenant(cfg)}-{r.cluster}" if cfg.tenant_per_cluster else _tenant(cfg),
                 r.submit_s - origin, r.duration_s, r.num_gpus, cfg)
            for i, r in enumerate(rows)]


def alibaba_jobs(trace: AlibabaPodTrace, cfg: TraceReplayConfig, first_job_id: int = 0
                 ) -> tuple[list[TrainingJobSpec], tuple[TraceIssue, ...]]:
    """Jobs from the GPU pods of an Alibaba pod list, and the counted pods left out.

    Left out: CPU-only pods (``num_gpu == 0``), pods never scheduled (``Pending``, no
    ``scheduled_time``; their "run time" is time spent waiting) unless
    ``cfg.keep_pending``, pods with no run time and pods before ``cfg.offset``. A pod
    sharing a GPU (``gpu_milli < 1000``) takes a whole GPU: counted as ``adjusted``.
    Times are rebased to the first pod considered (see :func:`trace_origin`).
    ``cfg.limit`` counts the pods considered, in trace order.
    """
    pods = trace.pods[:cfg.limit]
    origin = trace_origin(pods[0].creation_s if pods else 0.0, cfg)
    jobs: list[TrainingJobSpec] = []
    left_out: Counter[str] = Counter()
    shared = early = 0
    for pod in pods:
        if pod.num_gpu == 0:
            left_out["CPU-only pod (num_gpu 0)"] += 1
            continue
        if not cfg.keep_pending and (pod.scheduled_s is None or pod.phase == "Pending"):
            left_out["never scheduled (Pending; keep_pending: true replays them)"] += 1
            continue
        if pod.run_s <= 0:
            left_out["no run time"] += 1
            continue
        if pod.creation_s < origin:
            early += 1
            continue
        shared += pod.gpu_milli < 1000
        jobs.append(_job(first_job_id + len(jobs), f"{cfg.name}-{pod.name}", _tenant(cfg),
                         pod.creation_s - origin, pod.run_s, pod.num_gpu, cfg))
    file = str(trace.path)
    notes = [TraceIssue(file, 0, why, "skipped", n) for why, n in sorted(left_out.items())]
    notes += _rows_before_origin(early, file)
    if shared:
        notes.append(TraceIssue(file, 0, "share a GPU (gpu_milli < 1000); each takes a whole "
                                         "GPU", "adjusted", shared))
    return jobs, tuple(notes)


def alibaba_to_jobs(trace: AlibabaPodTrace, cfg: TraceReplayConfig,
                    first_job_id: int = 0) -> tuple[list[TrainingJobSpec], int]:
    """Jobs from an Alibaba pod list and how many pods were left out (see
    :func:`alibaba_jobs`)."""
    jobs, notes = alibaba_jobs(trace, cfg, first_job_id)
    return jobs, sum(n.count for n in notes if n.kind == "skipped")


def _scaled(requests: RequestArrays, cfg: TraceReplayConfig, file: str,
            own_shift_s: float = 0.0) -> tuple[RequestArrays, tuple[TraceIssue, ...]]:
    n = len(requests) if cfg.limit is None else min(cfg.limit, len(requests))
    times = requests.times_s[:n]
    origin = trace_origin(float(times[0]) if n else 0.0, cfg, own_shift_s)
    keep = times >= origin
    dropped = int(n - keep.sum())
    rel = times[keep] - origin if origin != 0.0 else times[keep]
    return (RequestArrays(cfg.start + rel * cfg.time_scale,
                          requests.prompt_tokens[:n][keep].copy(),
                          requests.output_tokens[:n][keep].copy()),
            _rows_before_origin(dropped, file))


def azure_to_requests(trace: AzureLLMTrace, cfg: TraceReplayConfig) -> RequestArrays:
    """The trace's requests on the simulation clock (``start + t · time_scale``)."""
    return _azure(trace, cfg)[0]


def _azure(trace: AzureLLMTrace, cfg: TraceReplayConfig
           ) -> tuple[RequestArrays, tuple[TraceIssue, ...]]:
    shift = 0.0
    if trace.start is not None:
        midnight = trace.start.replace(hour=0, minute=0, second=0, microsecond=0)
        shift = (trace.start - midnight).total_seconds()
    return _scaled(trace.requests, cfg, str(trace.path), shift)


def mooncake_to_requests(trace: MooncakeTrace, cfg: TraceReplayConfig) -> RequestArrays:
    """The trace's requests on the simulation clock (``start + t · time_scale``)."""
    return _scaled(trace.requests, cfg, str(trace.path))[0]


def _no_valid_rows(path: Path, issues: tuple[TraceIssue, ...], what: str) -> TraceFormatError:
    first = "; ".join(f"line {i.line}: {i.message}" for i in issues[:3])
    more = f" (and {len(issues) - 3:,} more)" if len(issues) > 3 else ""
    why = f"; first problems: {first}{more}" if issues else "; the file has no data rows"
    return TraceFormatError(f"{path}: no valid {what}{why}")


_JOB_ROW_FORMATS: dict[str, tuple[Callable[[Path], Any], Callable[..., list[TrainingJobSpec]]]] = {
    "philly": (read_philly, philly_to_jobs), "tiresias": (read_tiresias, tiresias_to_jobs)}
"""Trace formats of one row per job: (reader, mapper to job specs); both map the same way
once read (valid rows, ``offset``, ``limit``)."""


def replay_trace(cfg: TraceReplayConfig, base_dir: str | Path | None = None,
                 first_job_id: int = 0) -> TraceReplay:
    """Read the trace ``cfg`` names and map it (see the module docstring).

    Raises :class:`~workloads.traces.common.TraceFormatError` when no row is valid (with
    the first reasons), or when no valid row becomes work.
    """
    path = resolve_trace_path(cfg.path, base_dir)
    if cfg.kind in _JOB_ROW_FORMATS:
        read, to_jobs = _JOB_ROW_FORMATS[cfg.kind]
        trace = read(path)
        if not trace.jobs:
            raise _no_valid_rows(path, trace.issues, "job rows")
        jobs = to_jobs(trace, cfg, first_job_id)
        considered = len(trace.jobs[:cfg.limit])
        notes = _rows_before_origin(considered - len(jobs), str(path))
        if not jobs:
            raise TraceFormatError(f"{path}: no row is at or after offset {cfg.offset:g} s")
        return TraceReplay(tuple(jobs), None, trace.issues + notes)
    if cfg.kind == "gavel":
        assert cfg.throughputs is not None  # the model validator requires it
        gavel = read_gavel(path)
        table = resolve_trace_path(cfg.throughputs, base_dir)
        jobs, untimed, early = gavel_jobs(gavel, cfg, table, first_job_id)
        issues = tuple(sorted(gavel.issues + untimed, key=lambda i: i.line))
        if not jobs and not early:
            raise _no_valid_rows(path, issues, "job lines")
        if not jobs:
            raise TraceFormatError(f"{path}: no line is at or after offset {cfg.offset:g} s")
        return TraceReplay(tuple(jobs), None, issues + _rows_before_origin(early, str(path)))
    if cfg.kind == "alibaba":
        pods = read_alibaba_pods(path)
        if not pods.pods:
            raise _no_valid_rows(path, pods.issues, "pod rows")
        ali, notes = alibaba_jobs(pods, cfg, first_job_id)
        if not ali:
            reasons = "; ".join(f"{n.count:,} {n.message}" for n in notes)
            raise TraceFormatError(f"{path}: no pod becomes a job ({reasons})")
        skipped = sum(n.count for n in notes if n.kind == "skipped")
        return TraceReplay(tuple(ali), None, pods.issues + notes, skipped)
    if cfg.kind == "azure_llm":
        azure = read_azure_llm(path)
        if not len(azure.requests):
            raise _no_valid_rows(path, azure.issues, "request rows")
        requests, notes = _azure(azure, cfg)
        return TraceReplay((), requests, azure.issues + notes)
    mooncake = read_mooncake(path)
    if not len(mooncake.requests):
        raise _no_valid_rows(path, mooncake.issues, "request lines")
    requests, notes = _scaled(mooncake.requests, cfg, str(path))
    return TraceReplay((), requests, mooncake.issues + notes)
