"""Turn validated tenant configs into the engine's training jobs and inference services.

Randomness: each training workload ``W`` of tenant ``T`` draws from its own named streams
``training/T/W/arrivals``, ``.../model``, ``.../gpus`` and ``.../tokens`` (see
:class:`emulator.rng.RngStreams`), so adding, removing or editing one workload never changes
the jobs of another, and each attribute of job ``k`` is the ``k``-th draw of its stream:
extending the horizon only appends jobs. Inference services are not random here; their
requests are drawn by the engine per serving window (:func:`workloads.requests.sample_requests`).

Priorities: a training job's priority is ``tenant.priority + job/workload priority``; an
inference service's priority is its tenant's priority.

Runtime estimates: ``est_duration_s`` is left ``None`` on generated jobs; the composition
root estimates runtimes from the model. A workload's ``estimate_error`` is carried on each
job as :attr:`~workloads.spec.TrainingJobSpec.estimate_error`, and the composition root
multiplies the estimate by a lognormal factor with that sd (stream ``estimates/<tenant>``).

Trace replay: a tenant's ``traces`` (Philly, Alibaba) become more of its training jobs, via
:func:`workloads.traces.mapping.replay_trace`; only rows submitted before the horizon are
kept. Malformed rows never stop the run: they are skipped and appended to the ``issues``
list the caller passes (file and line each). Serving traces (Azure LLM, Mooncake) are not
replayed inside a scenario yet: the serving model draws its own Poisson arrivals.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np

from emulator.errors import did_you_mean, one_line
from emulator.rng import RngStreams
from workloads.config import (
    InferenceServiceConfig,
    TenantConfig,
    TrainingJobConfig,
    TrainingWorkloadConfig,
)
from workloads.distributions import FixedTokens
from workloads.models import MODELS, InlineModel, UnknownModelError, model_names
from workloads.requests import RequestArrays, sequential_arrivals
from workloads.spec import InferenceServiceSpec, TrainingJobSpec
from workloads.spec_columns import JobSpecs, ListSource, StreamSource
from workloads.traces.azure_llm import read_azure_llm
from workloads.traces.common import TraceIssue
from workloads.traces.mapping import TraceReplayConfig, replay_trace, resolve_trace_path

__all__ = [
    "TraceReplayError",
    "generate_services",
    "generate_trace_jobs",
    "generate_training_jobs",
    "generate_workload",
    "training_stream_name",
]


class TraceReplayError(ValueError):
    """A tenant's trace cannot be replayed (missing file, not a trace, wrong kind)."""


_TRACE_ERRORS = (OSError, ValueError, OverflowError, csv.Error)
"""What reading a user's trace file can raise (a missing or unreadable file, a file that
is not a trace, a field too long for the CSV reader)."""


def _reason(exc: BaseException) -> str:
    """One line for a trace-reading failure (an ``OSError`` without its errno noise)."""
    if isinstance(exc, OSError) and not isinstance(exc, FileNotFoundError) and exc.strerror:
        return f"cannot read {exc.filename}: {exc.strerror}"
    return one_line(str(exc), 300)


def training_stream_name(tenant_name: str, workload_name: str, part: str) -> str:
    """Name of the random stream for one ``part`` (arrivals/model/gpus/tokens) of a workload."""
    return f"training/{tenant_name}/{workload_name}/{part}"


def _check_model(model: str, tenant_name: str, kind: str, item_name: str) -> None:
    """A model reference the scenario did not resolve (one built without validation)."""
    if not isinstance(model, InlineModel) and model not in MODELS:
        raise UnknownModelError(
            f"tenant {tenant_name!r}, {kind} {item_name!r}: unknown model {model!r}"
            f"{did_you_mean(model, model_names())}; known models: "
            f"{', '.join(model_names())}")


def _check_unique(names: list[str], tenant_name: str, kind: str) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise ValueError(f"tenant {tenant_name!r}: duplicate {kind} name {name!r}")
        seen.add(name)


def _probabilities(weights: list[float] | None, n: int) -> np.ndarray:
    if weights is None:
        return np.full(n, 1.0 / n)
    w = np.asarray(weights, dtype=np.float64)
    return w / w.sum()


def _dataset_fields(cfg: TrainingJobConfig | TrainingWorkloadConfig) -> dict[str, object]:
    """Spec fields of a job's dataset (none: no staging) and of its step-time settings."""
    out: dict[str, object] = {"micro_batch": cfg.micro_batch, "recompute": cfg.recompute,
                              "virtual_stages": cfg.virtual_stages, "ep": cfg.ep}
    if cfg.dataset is None:
        return out
    return {**out, "dataset_bytes": float(cfg.dataset.size),
            "dataset_source": cfg.dataset.source}


def _explicit_job(job_id: int, tenant_name: str, tenant: TenantConfig,
                  job: TrainingJobConfig) -> TrainingJobSpec:
    par = job.tp * job.pp
    given = job.runtime is not None  # duration as given: lossless unless set explicitly
    interval = (float(job.checkpoint_interval)
                if not given or "checkpoint_interval" in job.model_fields_set else math.inf)
    cost = (float(job.checkpoint_cost)
            if not given or "checkpoint_cost" in job.model_fields_set else 0.0)
    return TrainingJobSpec(
        job_id=job_id, tenant=tenant_name, name=job.name, model=job.model,
        submit_s=float(job.submit), n_gpus=job.gpus, tp=job.tp, pp=job.pp,
        dp=job.gpus // par, tokens=float(job.tokens) if job.tokens is not None else 1.0,
        tokens_per_step=float(job.global_batch_tokens) if not given else 1.0,
        seq_len=job.seq_len, precision=job.precision, checkpoint_interval_s=interval,
        checkpoint_cost_s=cost,
        priority=tenant.priority + job.priority, preemptible=job.preemptible,
        gpu_system=job.system, mfu=job.mfu,
        est_duration_s=float(job.runtime) if given else None,
        runtime_s=float(job.runtime) if given else None, **_dataset_fields(job))


def _workload_stream(tenant_name: str, tenant: TenantConfig, wl: TrainingWorkloadConfig,
                     horizon_s: float, streams: RngStreams) -> StreamSource | None:
    """One workload's jobs as a stream of drawn arrays (``None``: no job before the
    horizon); job ``k`` is the ``k``-th draw of each stream."""
    def rng(part: str) -> np.random.Generator:
        return streams.stream(training_stream_name(tenant_name, wl.name, part))

    times = sequential_arrivals(rng("arrivals"), wl.rate, wl.start, max(wl.start, horizon_s),
                                max_count=wl.max_jobs)
    n = times.size
    if n == 0:
        return None
    models = wl.models
    model_idx = rng("model").choice(len(models), size=n, p=_probabilities(wl.model_weights,
                                                                           len(models)))
    gpu_idx = rng("gpus").choice(len(wl.gpus), size=n, p=_probabilities(wl.gpus_weights,
                                                                         len(wl.gpus)))
    tokens = wl.tokens.sample(rng("tokens"), n)
    gpus = np.asarray(wl.gpus, dtype=np.int64)[gpu_idx]
    par = wl.tp * wl.pp
    template = TrainingJobSpec(
        job_id=0, tenant=tenant_name, name=f"{wl.name}-0",
        model=models[int(model_idx[0])], submit_s=float(times[0]), n_gpus=int(gpus[0]),
        tp=wl.tp, pp=wl.pp, dp=int(gpus[0]) // par, tokens=float(tokens[0]),
        tokens_per_step=float(wl.global_batch_tokens), seq_len=wl.seq_len,
        precision=wl.precision, checkpoint_interval_s=float(wl.checkpoint_interval),
        checkpoint_cost_s=float(wl.checkpoint_cost),
        priority=tenant.priority + wl.priority, preemptible=wl.preemptible,
        gpu_system=wl.system, mfu=wl.mfu, est_duration_s=None,
        estimate_error=float(wl.estimate_error), **_dataset_fields(wl))
    return StreamSource(template, wl.name, models, np.asarray(times, dtype=np.float64),
                        model_idx, gpus, np.asarray(tokens, dtype=np.float64))


def _training_sources(tenant_name: str, tenant: TenantConfig, horizon_s: float,
                      streams: RngStreams) -> list[ListSource | StreamSource]:
    """A tenant's explicit jobs (one list), then each workload's stream, in config order."""
    _check_unique([j.name for j in tenant.jobs], tenant_name, "job")
    _check_unique([w.name for w in tenant.training], tenant_name, "training workload")
    for job in tenant.jobs:
        if not (job.model == "generic" and job.runtime is not None):
            _check_model(job.model, tenant_name, "job", job.name)
    for wl in tenant.training:
        for model in wl.models:
            _check_model(model, tenant_name, "training workload", wl.name)
    out: list[ListSource | StreamSource] = [ListSource(
        [_explicit_job(i, tenant_name, tenant, job) for i, job in enumerate(tenant.jobs)])]
    for wl in tenant.training:
        stream = _workload_stream(tenant_name, tenant, wl, horizon_s, streams)
        if stream is not None:
            out.append(stream)
    return out


def generate_training_jobs(tenant_name: str, tenant: TenantConfig, horizon_s: float,
                           streams: RngStreams, first_job_id: int) -> list[TrainingJobSpec]:
    """The training jobs of one tenant: its explicit ``jobs``, then each workload's stream.

    Explicit jobs are kept whatever their submit time. Each :class:`TrainingWorkloadConfig`
    adds Poisson arrivals at ``rate`` (jobs/s) on ``[start, horizon_s)`` (seconds), at most
    ``max_jobs`` of them, each with a model drawn by ``model_weights``, a GPU count drawn by
    ``gpus_weights`` (``dp = gpus / (tp · pp)``) and a token count from ``tokens``. Job ids
    run from ``first_job_id`` in that order (explicit jobs, then workloads in config order,
    each by arrival). Raises :class:`UnknownModelError` naming tenant, job/workload and model.
    """
    jobs: list[TrainingJobSpec] = []
    for source in _training_sources(tenant_name, tenant, horizon_s, streams):
        for k in range(len(source)):
            spec = source.spec(k, first_job_id + len(jobs))
            _set_fresh(spec, job_id=first_job_id + len(jobs))
            jobs.append(spec)
    return jobs


def generate_trace_jobs(tenant_name: str, tenant: TenantConfig, horizon_s: float,
                        first_job_id: int, base_dir: str | Path | None = None,
                        issues: list[TraceIssue] | None = None) -> list[TrainingJobSpec]:
    """The training jobs replayed from one tenant's ``traces``, submitted before ``horizon_s``.

    Each job's priority is the tenant's plus the trace's. Relative paths are resolved
    against ``base_dir`` (the scenario's folder). Malformed rows are appended to ``issues``.
    Raises :class:`TraceReplayError` for a serving trace, a trace naming another tenant, a
    missing file or a file that is not a trace of that kind.
    """
    jobs: list[TrainingJobSpec] = []
    for i, cfg in enumerate(tenant.traces):
        where = f"tenants.{tenant_name}.traces.{i}"
        if cfg.kind not in ("philly", "alibaba", "tiresias", "gavel"):
            raise TraceReplayError(f"{where}.kind: {cfg.kind!r} is a serving trace; give it as "
                                   "'trace:' of an inference service (tenants.NAME.inference)"
                                   "; expected philly, alibaba, tiresias or gavel here")
        if cfg.tenant not in (None, tenant_name):
            raise TraceReplayError(f"{where}.tenant: got {cfg.tenant!r}; a tenant's traces "
                                   f"replay as that tenant ({tenant_name!r}), leave it out")
        if cfg.tenant_per_cluster:
            raise TraceReplayError(f"{where}.tenant_per_cluster: not supported inside a "
                                   "tenant; declare one tenant per virtual cluster")
        named: TraceReplayConfig = cfg.model_copy(update={"tenant": tenant_name})
        try:
            replay = replay_trace(named, base_dir, first_job_id + len(jobs))
        except _TRACE_ERRORS as exc:
            field = getattr(exc, "trace_field", "path")  # a Gavel throughput table: its own
            raise TraceReplayError(f"{where}.{field}: {_reason(exc)}") from None
        if issues is not None:
            issues.extend(replay.issues)
        late = 0
        for job in replay.jobs:
            if job.submit_s < horizon_s:
                _set_fresh(job, job_id=first_job_id + len(jobs),
                           priority=tenant.priority + job.priority)
                jobs.append(job)
            else:
                late += 1
        if late and issues is not None:
            issues.append(TraceIssue(str(resolve_trace_path(cfg.path, base_dir)), 0,
                                     "submitted after the scenario's duration", "dropped",
                                     late))
    return jobs


def shared_azure_offsets(tenants: dict[str, TenantConfig],
                         base_dir: str | Path | None) -> dict[str, float]:
    """Offsets (s after each file's own midnight) that rebase a scenario's Azure files together.

    The Azure LLM 2023 trace comes as two files of one day (code and conversation): each
    rebased to its own first row would lose their relative timing. When a scenario replays
    two or more Azure files without ``offset`` or ``absolute_time``, all of them are
    rebased to the earliest first row among them instead. Files from different days, or
    files that cannot be read (their replay reports why), keep their own origins.
    """
    paths: dict[str, Path] = {}
    for name in sorted(tenants):
        for svc in tenants[name].inference:
            tr = svc.trace
            if tr is None or tr.kind != "azure_llm" or tr.offset is not None \
                    or tr.absolute_time:
                continue
            try:
                path = resolve_trace_path(tr.path, base_dir)
            except _TRACE_ERRORS:
                return {}
            paths[str(path)] = path
    if len(paths) < 2:
        return {}
    starts = {}
    for key, path in paths.items():
        try:
            start = read_azure_llm(path).start
        except _TRACE_ERRORS:
            return {}
        if start is None:
            return {}
        starts[key] = start
    first = min(starts.values())
    offsets = {}
    for key, start in starts.items():
        offset = (first - start.replace(hour=0, minute=0, second=0, microsecond=0)
                  ).total_seconds()
        if offset < 0:
            return {}  # not one day: each file keeps its own origin
        offsets[key] = offset
    return offsets


def _trace_requests(tenant_name: str, svc: InferenceServiceConfig, horizon_s: float,
                    base_dir: str | Path | None,
                    issues: list[TraceIssue] | None,
                    azure_offsets: dict[str, float] | None = None) -> RequestArrays:
    """A service's requests from its serving trace, on the simulation clock.

    Times start at the service's ``start``; with ``repeat`` the trace is tiled end to end
    (period = its span plus one mean gap) until ``horizon_s``. ``azure_offsets`` (from
    :func:`shared_azure_offsets`) rebases Azure files of one scenario together.
    """
    tr = svc.trace
    assert tr is not None
    where = f"tenants.{tenant_name}.inference.{svc.name}.trace"
    offset = tr.offset
    if offset is None and not tr.absolute_time and azure_offsets and tr.kind == "azure_llm":
        offset = azure_offsets.get(str(resolve_trace_path(tr.path, base_dir)))
    cfg = TraceReplayConfig(kind=tr.kind, path=tr.path, tenant=tenant_name, name=svc.name,
                            model=svc.model, time_scale=tr.time_scale, start=svc.start,
                            limit=tr.limit, absolute_time=tr.absolute_time, offset=offset)
    try:
        replay = replay_trace(cfg, base_dir)
    except _TRACE_ERRORS as exc:
        raise TraceReplayError(f"{where}.path: {_reason(exc)}") from None
    if issues is not None:
        issues.extend(replay.issues)
    req = replay.requests
    if req is None or len(req) == 0:
        raise TraceReplayError(f"{where}.path: {tr.path!r} holds no valid request rows")
    if tr.repeat and len(req) > 1 and math.isfinite(horizon_s):
        span = float(req.times_s[-1] - req.times_s[0])
        period = span + span / (len(req) - 1)
        copies = max(1, math.ceil((horizon_s - float(req.times_s[0])) / period))
        offsets = np.repeat(np.arange(copies) * period, len(req))
        req = RequestArrays(np.tile(req.times_s, copies) + offsets,
                            np.tile(req.prompt_tokens, copies),
                            np.tile(req.output_tokens, copies))
    kept = req.window(-math.inf, horizon_s)
    if len(kept) == 0:
        raise TraceReplayError(f"{where}: no request of {tr.path!r} arrives before the "
                               f"scenario's duration ({horizon_s:g} s); expected a trace "
                               "origin (offset) closer to its rows")
    if not tr.repeat and len(kept) < len(req) and issues is not None:
        issues.append(TraceIssue(str(resolve_trace_path(tr.path, base_dir)), 0,
                                 "arriving after the scenario's duration", "dropped",
                                 len(req) - len(kept)))
    return kept


def _service(service_id: int, tenant_name: str, tenant: TenantConfig,
             svc: InferenceServiceConfig, horizon_s: float = math.inf,
             base_dir: str | Path | None = None,
             issues: list[TraceIssue] | None = None,
             azure_offsets: dict[str, float] | None = None) -> InferenceServiceSpec:
    prompt, output = svc.prompt_tokens, svc.output_tokens
    trace = None
    rate = float(svc.rate) if svc.rate is not None else 0.0
    if svc.trace is not None:
        trace = _trace_requests(tenant_name, svc, horizon_s, base_dir, issues, azure_offsets)
        n = len(trace)
        span = float(trace.times_s[-1] - trace.times_s[0]) if n > 1 else 0.0
        rate = (n - 1) / span if span > 0 else float(n)
        prompt = FixedTokens(value=max(1, round(float(trace.prompt_tokens.mean()))))
        output = FixedTokens(value=max(1, round(float(trace.output_tokens.mean()))))
    return InferenceServiceSpec(
        service_id=service_id, tenant=tenant_name, name=svc.name, model=svc.model,
        start_s=float(svc.start), replicas=svc.replicas, gpus_per_replica=svc.gpus_per_replica,
        rate_per_s=rate, prompt_tokens=prompt, trace=trace,
        output_tokens=output, slo_ttft_s=float(svc.slo.ttft),
        slo_tpot_s=float(svc.slo.tpot), origin=svc.origin or tenant.origin,
        precision=svc.precision, max_batch=svc.max_batch, priority=tenant.priority,
        gpu_system=svc.system, autoscale=svc.autoscale, chunked_prefill=svc.chunked_prefill,
        prefill_with_decode=svc.prefill_with_decode,
        prefill_step_tokens=svc.prefill_step_tokens, runtime=svc.runtime,
        kv_free_fraction=svc.kv_free_fraction,
        cold_start_s=None if svc.cold_start is None else float(svc.cold_start))


def generate_services(tenant_name: str, tenant: TenantConfig, first_service_id: int,
                      horizon_s: float = math.inf, base_dir: str | Path | None = None,
                      issues: list[TraceIssue] | None = None,
                      azure_offsets: dict[str, float] | None = None,
                      ) -> list[InferenceServiceSpec]:
    """The inference services of one tenant, in config order, ids from ``first_service_id``.

    ``origin`` is the service's own origin, else the tenant's; ``priority`` is the tenant's.
    Raises :class:`UnknownModelError` naming tenant, service and model.
    """
    _check_unique([s.name for s in tenant.inference], tenant_name, "inference service")
    for svc in tenant.inference:
        _check_model(svc.model, tenant_name, "inference service", svc.name)
    return [_service(first_service_id + i, tenant_name, tenant, svc, horizon_s, base_dir,
                     issues, azure_offsets)
            for i, svc in enumerate(tenant.inference)]


def generate_workload(tenants: dict[str, TenantConfig], horizon_s: float,
                      streams: RngStreams, base_dir: str | Path | None = None,
                      issues: list[TraceIssue] | None = None,
                      ) -> tuple[JobSpecs, list[InferenceServiceSpec]]:
    """All tenants' training jobs and inference services, in a deterministic order.

    Tenants are visited in sorted name order. Jobs are then sorted by ``(submit_s, job_id)``
    and renumbered ``0, 1, …`` in that order; services are numbered ``0, 1, …`` by tenant
    name, then config order. ``horizon_s`` (seconds) ends the synthetic arrivals and the
    replayed traces (:func:`generate_trace_jobs`, after each tenant's generated jobs;
    ``base_dir`` resolves relative trace paths; malformed trace rows go to ``issues``).
    """
    sources: list[ListSource | StreamSource] = []
    services: list[InferenceServiceSpec] = []
    azure_offsets = shared_azure_offsets(tenants, base_dir)
    for name in sorted(tenants):
        tenant = tenants[name]
        sources.extend(_training_sources(name, tenant, horizon_s, streams))
        sources.append(ListSource(generate_trace_jobs(name, tenant, horizon_s, 0, base_dir,
                                                      issues)))
        services.extend(generate_services(name, tenant, len(services), horizon_s, base_dir,
                                          issues, azure_offsets))
    return JobSpecs.ordered([s for s in sources if len(s)]), services


def _set_fresh(job: TrainingJobSpec, **fields: int) -> None:
    """Set fields of a job spec that this module has just made and shared with no one.

    The spec is frozen for everyone downstream; ``dataclasses.replace`` would build a new
    one through ``__init__`` (about 10 µs a job: 10 s for a million-job campus).
    """
    for name, value in fields.items():
        object.__setattr__(job, name, value)
