"""Replicas of a running service opened, scaled down, drained or lost to a failure.

A mixin of :class:`emulator.serving.ServingModel` (kept apart so each file has one
concern): how a service's pool of sequence slots and prefill pipelines changes with its
replicas. :meth:`ReplicaPool.add_replica` opens a replica's servers after its warm-up,
:meth:`ReplicaPool.remove_replica` scales one down (it drains the requests it holds),
:meth:`ReplicaPool.drop_servers` closes failed replicas' servers and retries or fails the
requests they held, and :meth:`ReplicaPool.scaling` says how many replicas an autoscaled
service wants after a window.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from emulator.eventlog import EventLog, Infra
from emulator.serving_carry import forget_decodes
from emulator.serving_held import HeldRequests, Retried
from emulator.serving_runtime import ServiceRuntime
from emulator.work import Work

__all__ = ["ReplicaPool"]


class ReplicaPool:
    """Replica changes of :class:`emulator.serving.ServingModel`'s services."""

    # provided by ServingModel
    log: EventLog
    held: HeldRequests
    services: list[ServiceRuntime]
    by_work: dict[int, ServiceRuntime]

    if TYPE_CHECKING:
        def serve_until(self, svc: ServiceRuntime, now: float) -> None: ...

    def add_replica(self, replica: Work, now: float) -> None:
        """Replica work ``replica`` started: its servers open after the scale-up delay (one
        replacing a base replica a failure stopped: after the service's cold start, and the
        log's :data:`Infra.REPLICAS_UP` row says it is placed).

        One of the service's initial replicas (``replicas`` above ``min_replicas``) that
        starts with the service serves from that instant, as its base replicas do: the
        deployment opens with them. Queued for want of room, it pays the delay like any
        scale-up."""
        svc = self.by_work[replica.parent]  # type: ignore[index]
        if not len(svc.free_at):  # its first server since its last one failed
            self.serve_until(svc, now)
        svc.queued_replicas.remove(replica)
        svc.replica_works.append(replica)
        svc.replicas += 1
        delay = svc.spec.autoscale.scale_up_delay if svc.spec.autoscale else 0.0
        if replica.work_id in svc.replacing:  # it replaces a base replica a failure stopped
            delay = svc.spec.replacement_delay_s
            self.log.infra_event(now, Infra.REPLICAS_UP, subject=svc.work.work_id,
                                 value=1.0)
        elif replica.submit_s == svc.started_s == now:  # an initial replica, on time
            delay = 0.0
        svc.free_at.put(now + delay, svc.slots)
        heapq.heappush(svc.prefill_free_at, now + delay)
        svc.opens_at[replica.work_id] = now + delay

    def remove_replica(self, svc: ServiceRuntime, now: float) -> tuple[Work, float]:
        """Scale ``svc`` down by one extra replica at ``now``: the replica work to stop and
        when it has drained (s; ``now`` when nothing runs on it).

        A replica still warming up (its servers open after ``now``) goes first, the one
        that would open last: its slots not yet given a request (still free at its opening
        time) close, with its pipeline (the one opening then; the pool's first to free if
        all its slots were given requests), and the warm replicas keep theirs. In an
        overload the queue may already have given some of its slots requests; the pool
        does not say which, so as many other slots, a stratified sample of the pool as
        below, close instead, and those of them busy drain as below (the replica's GPUs
        go back when their last request ends). Otherwise the newest running replica
        drains, as serving stacks scale down (a terminating pod's grace period, vLLM's
        graceful shutdown): it admits no new request, the requests on its slots run to
        their end on it, and its GPUs go back when the last one ends. The pool does not
        say which slot is whose, so its slots are a stratified sample of the pool by free
        time (every ``replicas``-th: a replica as loaded as the others, as
        :meth:`drop_servers` takes a failed one's). Its requests (on each slot the last
        one and those queued on it before, as :meth:`drop_servers` finds them) leave the
        decode load the survivors carry, and its slots' free times are kept in
        ``svc.draining`` (a failure of its GPUs during the drain retries them; other
        replicas' failures leave them be).
        """
        warming = [w for w in svc.replica_works if svc.opens_at.get(w.work_id, -math.inf) > now]
        replica = (max(warming, key=lambda w: (svc.opens_at[w.work_id], w.work_id))
                   if warming else svc.replica_works[-1])
        svc.replica_works.remove(replica)
        opens = svc.opens_at.pop(replica.work_id, -math.inf)
        closed = svc.free_at.remove(opens, svc.slots) if opens > now else 0
        lost = self._close_slots(svc, svc.slots - closed) if closed < svc.slots else []
        self._close_pipe(svc, opens if closed else None)
        svc.replicas -= 1
        busy = [f for f in lost if f > now]
        if busy:
            svc.draining[replica.work_id] = busy
            # each slot's requests, the running one and any queued behind it, decode on
            # the draining replica, not on the survivors
            forget_decodes(svc, self.held.slot_ends(svc.work.work_id, now, busy))
        return replica, max([now, *busy])

    def drained(self, svc: ServiceRuntime, replica: Work) -> list[float]:
        """The free times (s) of the slots ``replica`` of ``svc`` still drained (none
        once it has drained); it drains no more."""
        return svc.draining.pop(replica.work_id, [])

    @staticmethod
    def _close_slots(svc: ServiceRuntime, count: int) -> list[float]:
        """Take one replica's ``count`` slots out of ``svc``'s pool, a stratified sample
        by free time (every ``replicas``-th); their free times (``-inf``: idle), sorted."""
        pool = svc.free_at.times()  # sorted; an idle slot's time is -inf
        stride = max(svc.replicas, 1)
        lost = pool[::stride][:count]
        keep = pool[:]
        del keep[:stride * len(lost):stride]  # the same slots, in one pass (sorted)
        svc.free_at.replace(keep)
        return lost

    @staticmethod
    def _close_pipe(svc: ServiceRuntime, at: float | None = None) -> None:
        """Close one of ``svc``'s prefill pipelines: the one opening at ``at`` (s), if
        given and there, else the one that frees first."""
        pipes = sorted(svc.prefill_free_at)
        if at is not None and at in pipes:
            pipes.remove(at)
        else:
            pipes = pipes[1:]
        heapq.heapify(pipes)
        svc.prefill_free_at = pipes

    def drop_servers(self, svc: ServiceRuntime, now: float, *, count: int = 1,
                     retry: bool = True, draining: Sequence[float] = ()
                     ) -> tuple[int, int]:
        """Close ``count`` replicas' servers after a failure: ``(requests retried, failed)``.
        ``draining``: the free times (s) of the slots of scaled-down replicas the failure
        takes while they drain (their servers are closed already; their requests are
        retried or failed as the others).

        The window's requests so far are served first, on the replicas as they were (these
        included), so the requests they hold now are in flight here. The pool does not
        say which slot belongs to which replica, so a lost replica's ``slots`` slots are a
        stratified sample of the pool (every ``replicas``-th by the time it frees). A slot
        busy past ``now`` holds an in-flight request, and maybe requests queued on it
        before that one: each is retried on a surviving slot, where it prefills again (on
        a surviving pipeline, once it is free) and decodes what it had left, its row revised
        to end that much later (:meth:`emulator.serving_held.HeldRequests.retry`); its redo
        loads the survivors as any request (their slots, pipelines, prefill share and
        decode batch: :meth:`_load_retried`). With no slot left,
        or ``retry`` false (the same failure takes the service's other replicas too: there
        is nowhere to retry), it fails: its row is marked failed (NaN latencies). When the
        last replica goes, every request not finished by ``now`` fails, those queued for a
        slot included. The requests on the slots of scaled-down replicas still draining
        (``svc.draining``: the failure did not take them) are never retried or failed here:
        their replica is healthy and serves them to their end.
        """
        self.serve_until(svc, now)
        in_flight = [f for f in draining if f > now]
        for _ in range(count):
            lost = self._close_slots(svc, svc.slots)
            svc.replicas -= 1
            self._close_pipe(svc)
            in_flight += [f for f in lost if f > now]
        sid = svc.work.work_id
        # slots of scaled-down replicas still draining (not taken by this failure): their
        # replica is healthy and serves its requests to their end
        spare = [f for ends in svc.draining.values() for f in ends if f > now]
        if not len(svc.free_at):
            return 0, self.held.fail_after(sid, now, spare)
        if not retry:
            return 0, self.held.fail_ends(sid, now, in_flight, spare)

        def prefill_at(ready: float, prefill: float) -> float:
            start = max(ready, svc.prefill_free_at[0]) if svc.prefill_free_at else ready
            if svc.prefill_free_at:
                heapq.heapreplace(svc.prefill_free_at, start + prefill)
            return start

        moved = self.held.retry(sid, now, in_flight, svc.free_at.take, svc.free_at.put,
                                prefill_at, spare)
        self._load_retried(svc, moved)
        return len(moved), 0

    @staticmethod
    def _load_retried(svc: ServiceRuntime, moved: list[Retried]) -> None:
        """The redo of requests retried on ``svc``'s surviving replicas loads them as any
        request: its slot (held to its new end by :meth:`HeldRequests.retry`) and its
        pipeline (``prefill_at`` there), and, carried to the next windows, its prefill (the
        pipeline's GPU for its prefill time, for the prefill share) and its decode (in
        place of its lost run's, for the decode batch)."""
        if not moved:
            return
        forget_decodes(svc, [r.old_end for r in moved])
        svc.decode_first = np.concatenate([svc.decode_first, [r.first for r in moved]])
        svc.decode_last = np.concatenate([svc.decode_last, [r.end for r in moved]])
        redo = [r for r in moved if r.prefill > 0.0]
        svc.busy_start = np.concatenate([svc.busy_start, [r.start for r in redo]])
        svc.busy_end = np.concatenate([svc.busy_end, [r.start + r.prefill for r in redo]])
        svc.busy_share = np.concatenate([svc.busy_share, np.ones(len(redo))])

    def scaling(self, now: float) -> list[tuple[ServiceRuntime, int]]:
        """Replica changes wanted after the last window: ``(service, +n or -n)``."""
        changes = []
        for svc in self.services:
            a = svc.spec.autoscale
            if a is None or svc.slots < 1:
                continue
            # Enough batch slots for the sequences in service, and enough prefill pipelines
            # (one per replica) for the prompts arriving, each at the target utilisation:
            # a prefill-bound service needs replicas although its slots are not full.
            u = a.target_utilization
            want = max(math.ceil(svc.in_service / (svc.slots * u) - 1e-9),
                       math.ceil(svc.prefill_load / u - 1e-9))
            want = min(max(want, a.min_replicas), a.max_replicas)
            have = svc.replicas + len(svc.queued_replicas)
            if want > have:
                changes.append((svc, want - have))
                svc.low_since = None
            elif want < have and svc.queued_replicas:  # not needed any more: cancel first
                changes.append((svc, -min(len(svc.queued_replicas), have - want)))
            elif want < svc.replicas:
                if svc.low_since is None:
                    svc.low_since = now
                elif now - svc.low_since >= a.scale_down_after:
                    changes.append((svc, -1))
                    svc.low_since = now
            else:
                svc.low_since = None
        return changes
