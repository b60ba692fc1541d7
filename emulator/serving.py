"""Inference serving: requests per window through a FIFO multi-server queue per service.

Each running service has ``replicas × slots`` sequence slots, ``slots`` being the
concurrent sequences one replica holds (continuous batching, bounded by KV-cache memory
and ``max_batch``), and one prefill pipeline per replica. A request, in arrival order,
takes the first free slot (its KV cache), then the first free prefill pipeline. Prefills
are *batched*: the pipeline is held only for the prompt's own work (its FLOPs and TP
all-reduces, :func:`cupy_kernels.inference.prefill_parts`); the weight read and step
overhead a batch pays once only delay that request's first token. With
``chunked_prefill`` (default) the prompt rides along decode steps of the running batch, at
most ``CHUNK_TOKENS`` prompt tokens per step shared by the prompts in flight: the pipeline
is held for the prompt's share of those steps (``prompt / CHUNK_TOKENS`` of a step, so short
prompts share a step as a runtime packs them), and its first token still waits for the end
of the step that carries its last chunk (``ceil(prompt / CHUNK_TOKENS)`` steps in all).
Without it a step takes whole prompts, up to the service's ``prefill_step_tokens`` prompt
tokens: with ``prefill_with_decode`` (default; TensorRT-LLM's in-flight batching) they run
in the same forward pass as the running batch's decode, which the model takes as chunks of
``prefill_step_tokens`` (a prompt holds ``prompt / prefill_step_tokens`` of a step; a
prompt longer than the budget runs alone in one step, a share of 1); otherwise prefill
steps run alone and pause decoding, and the prompts waiting when a step begins share it (a
prompt that rides a step holds the pipeline for its own work only, and all of a step's
prompts get their first token when it ends). The first token comes at the end of the
prefill, then the request decodes its other ``output_tokens - 1`` tokens, one per
decode step, at TPOT and frees its slot (a one-token request frees it at its first
token). Both stages are FIFO multi-server recursions, exact for the model and carried
across windows.

Each request decodes at the load it runs under (:mod:`emulator.serving_decode`): the
decode step at the number of sequences decoding per replica, moment by moment, stretched
while prompts are prefilled (prompts riding the decode steps, chunked or whole, lengthen
the steps that carry them; prefill steps alone pause decoding), so a burst slows every
sequence in flight and its own TPOT is the mean over its decode. The window's queue and
these decode times are solved together (a fixed point). A saturated replica therefore
plateaus at its capacity: extra requests wait for a slot (queue wait and TTFT grow)
instead of slowing every running sequence further. A prompt waits for the decode step in
flight when it arrives (prefill steps alone), or its chunks ride the steps in flight when
its prefill starts (chunked; a whole prompt run with the decode rides as a chunk and
waits out half the step in flight, the other prompts' prefill in it included), measured
from the sequences the window's own pass has decoding then
(:mod:`emulator.serving_prefill`; its first guess is the mean step the previous window's
prompts found). The batch of the previous window (Little's law) and
the share of time its prefill pipelines were *busy* (work actually done, not work that
arrived) set the power draw and the autoscaler.

``TTFT = RTT(origin, site) + queue wait + prefill``; ``TPOT`` = the request's decode time
per output token after the first, ``(e2e - TTFT)/(output - 1)`` (NaN for a one-token
request, which has no decode step: left out of the TPOT figures, and its TPOT SLO is
met); ``e2e = TTFT + (output - 1) × TPOT``. A request whose last
token (first token) would come after ``horizon_s`` is logged with NaN e2e and TPOT (and
TTFT): it has not finished when the run ends; one still queued then has waited
``horizon_s - arrival`` so far. ``horizon_s`` is where the run stops (``--until`` if earlier
than the duration), so no figure depends on time that was not simulated.

A window is cut short where a service's availability changes: when it is placed, when
a replica fails, when its last replica is repaired, when its RTT changes (cable cuts and
repairs), the window's requests so far are served as things were
(:meth:`ServingModel.serve_until`), so a request arriving while no replica is up or its
origin is cut off is a miss with no latency, and one arriving just before such a change
is served as usual (or, in flight on a replica that fails, retried or failed with it).
Request rows are held until no failure can change them (:mod:`emulator.serving_held`).

Power: a replica's GPU utilisation is the prefill share (compute-bound) plus, while it
decodes, the decode step's compute fraction and :data:`cupy_kernels.power.MEMORY_BOUND_UTIL`
for the memory-bound rest, so memory-bound decode does not draw TDP.

Autoscaled services (:class:`workloads.config.AutoscaleConfig`) gain and lose replicas
between windows: :meth:`ServingModel.scaling` says how many to add or remove, the engine
queues or stops replica work, and :meth:`add_replica` / :meth:`remove_replica` change the
server pool (a new replica's servers open after the scale-up delay).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from cupy_kernels.power import decode_power_util
from emulator.compute import ComputeModel, ServiceStatics
from emulator.eventlog import EventLog, RequestBatch
from emulator.rng import RngStreams
from emulator.serving_arrivals import RequestArrivals
from emulator.serving_carry import carry_decodes, carry_prefills
from emulator.serving_decode import StepTable, decode_steps, decode_under_load
from emulator.serving_held import HeldRequests
from emulator.serving_prefill import CHUNK_TOKENS, PrefillRule, prefill_chunks
from emulator.serving_queue import SlotPool
from emulator.serving_replicas import ReplicaPool
from emulator.serving_runtime import ServiceRuntime, StepsAt, time_per_token
from emulator.transfers import BYTES_PER_TOKEN, REQUEST_OVERHEAD_BYTES
from emulator.work import Work
from topologies.catalog import SystemSpec
from workloads.spec import InferenceServiceSpec

__all__ = ["CHUNK_TOKENS", "ServingModel"]


class ServingModel(RequestArrivals, ReplicaPool):
    """All running services, advanced one serving window at a time."""

    def __init__(self, compute: ComputeModel, streams: RngStreams, log: EventLog,
                 rtt_s: Callable[[InferenceServiceSpec, int], float]) -> None:
        self.compute = compute
        self.streams = streams
        self.log = log
        self.rtt_s = rtt_s
        self.services: list[ServiceRuntime] = []
        self.by_work: dict[int, ServiceRuntime] = {}
        self.expected: list[Work] = []  # every service's work (see :meth:`expect`)
        self._rngs: dict[int, tuple[np.random.Generator, np.random.Generator]] = {}
        self._statics: ServiceStatics | None = None
        self._steps: StepsAt | None = None  # the last window's decode steps (reused)
        self.horizon_s = math.inf
        """End of the run (s): requests finishing later are logged unfinished (NaN)."""
        self.window_start = 0.0
        """Start of the serving window not served yet (s): the end of the last one."""
        self.window_s = math.inf
        """Width of a serving window (s; set by the process that drives the windows)."""
        self._pending: dict[int, tuple[float, float, np.ndarray, np.ndarray, np.ndarray]] = {}
        self.held = HeldRequests(log)
        """Request rows not logged yet: a replica failure may still retry or fail them."""
        self.origin_sites: dict[str, str] = {}
        """Origins that are a site's city (lower case) → that site's name: the WAN node
        their requests enter at (a city is not a node of the WAN graph)."""

    def slots_for(self, spec: InferenceServiceSpec, system: SystemSpec) -> int:
        """Concurrent sequences one replica of ``spec`` can hold on ``system`` (0: no fit)."""
        return int(self.compute.service_statics([spec], [system]).slots[0])

    def expect(self, work: Work) -> None:
        """Offer ``work``'s requests from its submission: while it waits to be placed
        (e.g. every GPU it could use has failed) they arrive all the same and are logged
        as misses with no latency (no replica to serve them)."""
        self.expected.append(work)

    def add(self, work: Work, now: float) -> None:
        """Start serving ``work`` (its GPUs are allocated) from time ``now``.

        A service placed after its submission had no replica until ``now``: its requests
        of the window so far are misses with no latency, as those of the earlier windows
        it waited through (:meth:`_offer_unplaced`), not requests queued for its start.
        """
        spec = work.spec
        assert isinstance(spec, InferenceServiceSpec) and work.gpus is not None
        self._log_unserved(work, max(self.window_start, work.submit_s), now, split=True)
        system = self.compute.system_of_gpu(int(work.gpus[0]))
        slots = self.slots_for(spec, system)
        site = int(self.compute.index.gpu_site[work.gpus[0]])
        arrivals_rng, tokens_rng = self._streams_of(work)
        base = spec.base_replicas
        self.services.append(ServiceRuntime(
            work=work, spec=spec, system=system, rtt_s=self.rtt_s(spec, site), slots=slots,
            site=self.compute.index.site_names[site],
            free_at=SlotPool([now] * (base * slots)), prefill_free_at=[now] * base, replicas=base,
            arrivals_rng=arrivals_rng, tokens_rng=tokens_rng, served_to=now, started_s=now))
        self.by_work[work.work_id] = self.services[-1]
        self._statics = self.compute.service_statics(
            [s.spec for s in self.services], [s.system for s in self.services])

    def wan_load_bps(self, width_s: float) -> dict[tuple[str, str], float]:
        """Request traffic (bit/s) per (site, origin) over the last window of ``width_s``;
        an origin in a site's city is named by that site (where its traffic enters)."""
        loads: dict[tuple[str, str], float] = {}
        for svc in self.services:
            origin = svc.spec.origin
            key = (svc.site, self.origin_sites.get(origin.lower(), origin))
            loads[key] = loads.get(key, 0.0) + svc.window_bytes * 8.0 / width_s
        return loads

    def advance(self, t0: float, t1: float) -> None:
        """Simulate every request that arrives in ``[t0, t1)``, one batch per service."""
        self._offer_unplaced(t0, t1)
        if self.services and self._statics is not None:
            steps = self._decode_steps(self._statics,
                                       np.array([s.batch for s in self.services]))
            for row, svc in enumerate(self.services):
                self._serve(row, svc, steps, t0, t1)
        self.window_start = t1
        self.held.release(t1)  # no failure from t1 on changes a request ended by then

    def close(self) -> None:
        """The run is closing: log every request row still held."""
        self.held.release_all()

    def serve_until(self, svc: ServiceRuntime, now: float) -> None:
        """Serve ``svc``'s requests of the window so far (to ``now``) on the servers it has
        now, before they change from none to some or from some to none: requests arriving
        before a repair of its last replica are misses with no latency (no replica served
        then), not requests queued for the repair; those arriving before the failure of its
        last replica are served by the replicas that were up (and those in flight at the
        failure fail with it). The rest of the window is served when it ends."""
        if self._statics is None or now <= max(self.window_start, svc.served_to):
            return
        steps = self._decode_steps(self._statics, np.array([s.batch for s in self.services]))
        self._serve(self.services.index(svc), svc, steps, max(self.window_start, svc.served_to),
                    now, split=True)
        svc.cut_at = now

    def _serve(self, row: int, svc: ServiceRuntime, steps: StepsAt, t0: float,
               t1: float, *, split: bool = False) -> None:
        """Simulate the requests to ``svc`` (row ``row``) that arrive in ``[t0, t1)``
        (``split``: ``t1`` cuts the window short, :meth:`_arrivals`)."""
        statics = steps.statics
        gpu_s, host_s, step = steps.gpu_s, steps.host_s, steps.step_s
        if svc.bytes_window_s != self.window_start:  # a new window: count its bytes anew
            svc.window_bytes, svc.bytes_window_s = 0.0, self.window_start
        t0 = max(t0, svc.cut_at)  # the rest of a window cut short: its own span
        width = t1 - t0
        spec = svc.spec
        # its arrivals from its submission, or from where an earlier call stopped (its
        # start, or a change in whether any replica serves it: see serve_until)
        begin = max(t0, svc.work.submit_s, svc.served_to)
        if begin >= t1:  # all served already (cut at the window's end): the figures of
            return  # the call that served them stand
        svc.served_to = t1
        # a replayed trace's times and tokens, or Poisson draws
        times, prompts, outputs = self._arrivals(svc.work, begin, t1, split=split)
        n = times.size
        svc.window_bytes += (float(prompts.sum() + outputs.sum()) * BYTES_PER_TOKEN
                             + n * REQUEST_OVERHEAD_BYTES)  # a window cut short: every part
        if n:
            work, fixed = self.compute.prefill_parts(statics, row, prompts)
        else:
            work, fixed = np.empty(0), np.empty(0)
        tpot = time_per_token(float(gpu_s[row]), float(host_s[row]), svc.prefill_share)
        # chunks ride decode steps of the running batch (the pipeline held for the
        # prompt's share of a step's token budget, the rest of its last step delaying
        # its own first token), or prefill steps run alone once the decode step in
        # flight ends, the prompts waiting when one begins sharing it (its fixed part
        # paid once): emulator.serving_prefill
        rule = PrefillRule(work, fixed,
                           prefill_chunks(prompts, spec.chunked_prefill,
                                          spec.prefill_with_decode,
                                          spec.prefill_step_tokens), prompts,
                           spec.prefill_step_tokens, joins_next_step=(
                               not spec.chunked_prefill and spec.prefill_with_decode))
        # the decode times' first guess: the time per token the last window's
        # requests got (the fixed point below then needs fewer passes), else the step
        # at the last window's batch
        # the first output token comes with the prefill (TTFT), each later one from a
        # decode step: a request of N output tokens decodes N - 1 steps
        gaps = decode_steps(outputs)
        decode = gaps * (svc.tpot_seen if svc.tpot_seen > 0.0 else tpot)
        if not math.isfinite(svc.rtt_s) or not len(svc.free_at):  # origin cut off (cable
            # cuts) or every replica failed: requests fail, logged with NaN latencies
            nan = np.full(n, np.nan)
            self.held.hold(RequestBatch(
                service=svc.work.work_id, arrival_s=times, wait_s=nan, ttft_s=nan,
                tpot_s=nan, e2e_s=nan, prompt_tokens=prompts, output_tokens=outputs))
            svc.served += n
            svc.in_service, svc.batch, svc.replica_util = 0.0, 1.0, 0.0
            svc.prefill_share = svc.occupancy = svc.prefill_load = 0.0
            if not len(svc.free_at):  # nothing of it runs any more (its in-flight
                # requests failed with it): nothing is carried to its next replicas
                svc.busy_start = svc.busy_end = svc.busy_share = np.empty(0)
                svc.decode_first = svc.decode_last = np.empty(0)
                svc.riding_seen = None
            return
        if svc.step_table is None:
            grid = StepTable.grid(svc.slots)
            svc.step_table = StepTable(grid, *self.compute.decode_table(statics, row,
                                                                         grid))
        # the step in flight: first guessed as the last window's prompts found it
        # (before any, from its batch and occupancy), then measured for each prompt
        # from the window's own sequences
        riding = (svc.riding_seen if svc.riding_seen is not None
                  else float(step[row]) * svc.occupancy)
        starts, decode, hold, fixed, span, gpu_share, found, ready = decode_under_load(
            svc.free_at, svc.prefill_free_at, times, rule, riding, gaps, decode,
            (svc.busy_start, svc.busy_end, svc.busy_share),
            (svc.decode_first, svc.decode_last), max(svc.replicas, 1), svc.step_table,
            (self._rate_after(spec, t1, width), t1, self.horizon_s) if t1 > begin
            else None)
        if n:
            svc.riding_seen = float(found.mean())
        wait = starts - times
        first = wait + hold + fixed
        ttft = svc.rtt_s + first
        e2e = svc.rtt_s + first + decode
        # TPOT = (e2e - TTFT)/(N - 1), the time between output tokens; a request of
        # one output token has none (NaN, left out of the TPOT figures)
        tpot_s = np.where(gaps > 0, decode / np.maximum(gaps, 1), np.nan)
        if float(gaps.sum()) > 0:
            svc.tpot_seen = float(decode.sum()) / float(gaps.sum())
        late = times + first + decode > self.horizon_s  # not finished by the end
        if late.any():
            e2e = np.where(late, np.nan, e2e)
            tpot_s = np.where(late, np.nan, tpot_s)
            ttft = np.where(times + first > self.horizon_s, np.nan, ttft)
            # still queued at the end: the wait it has had so far (a lower bound), not
            # one projected past what was simulated (NaN marks an unreachable origin)
            wait = np.where(starts > self.horizon_s, self.horizon_s - times, wait)
        # held until no failure can change them: each request's first token and end
        # (its slot's free time) as the queue has them
        self.held.hold(RequestBatch(
            service=svc.work.work_id, arrival_s=times, wait_s=wait, ttft_s=ttft,
            tpot_s=tpot_s, e2e_s=e2e, prompt_tokens=prompts, output_tokens=outputs),
            (starts, times + first, times + first + decode, ready))
        svc.served += n
        carry_prefills(svc, t0, t1, starts, starts + span, gpu_share)
        carry_decodes(svc, t1, times + first, times + first + decode)
        # Little's law: mean sequences in service per replica over this window; and the
        # prefill pipelines the arrivals keep busy (offered, so an overload shows).
        svc.in_service = float((hold + fixed + decode).sum()) / width
        svc.prefill_load = float(hold.sum()) / width
        in_service = svc.in_service / max(svc.replicas, 1)
        svc.batch = min(max(in_service, 1.0), float(max(svc.slots, 1)))
        svc.occupancy = (min(in_service, 1.0) if svc.slots <= 1
                         else 1.0 - math.exp(-in_service))
        decode_util = steps.power_util[row]
        svc.replica_util = min(svc.prefill_share
                               + (1.0 - svc.prefill_share) * svc.occupancy * decode_util,
                               1.0)

    def _decode_steps(self, statics: ServiceStatics, batches: np.ndarray) -> StepsAt:
        """Each service's decode step at its batch (sequences per replica), through the
        kernel, or the last window's when the services and batches are the same (a
        lightly loaded service sits at batch 1 window after window): the same figures,
        without the kernel call."""
        last = self._steps
        if last is not None and last.statics is statics and np.array_equal(last.batches,
                                                                             batches):
            return last
        gpu_s, host_s, compute_s = self.compute.decode_split(statics, batches)
        step = np.maximum(gpu_s, host_s)  # the decode step (s) per service, as decode_step
        util = [float(decode_power_util(np, float(step[row]), float(gpu_s[row]),
                                        float(compute_s[row]))) for row in range(step.size)]
        self._steps = StepsAt(statics, batches, gpu_s, host_s, step, util)
        return self._steps

    @staticmethod
    def _rate_after(spec: InferenceServiceSpec, t1: float, width_s: float) -> float:
        """Requests per s expected after a window ending at ``t1``: the Poisson rate of
        a synthetic service, or a replayed trace's own arrivals over the next window
        (``width_s``; a burst followed by silence is followed by none)."""
        if spec.trace is None:
            return spec.rate_per_s
        return len(spec.trace.window(t1, t1 + width_s)) / width_s
