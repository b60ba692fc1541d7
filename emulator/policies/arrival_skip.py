"""Skipping the rounds that only arrivals triggered, for policies with a fixed queue order.

A deep queue makes a round per arrival expensive: the policy sorts the whole queue and
walks it, and in a saturated cluster the answer is almost always "nothing". For a greedy
round (:func:`~emulator.policies.ordered.greedy_round`) on a queue order that does not
move while jobs wait (priority class, estimated run time, arrival), that answer can be
had from the new jobs alone:

* the last round decided nothing, so every job then queued could neither start nor free
  room by preempting, on the free GPUs of that round (a round that starts nothing never
  changes its scratch);
* since then nothing changed but arrivals: the same free GPUs and running work (their
  versions), no job left or came back to the queue (its edit count), the new jobs being
  the queue's entries past the old length;
* so in a round now, every old job fails again wherever the new ones sort (it sees the same
  scratch, with at most as many preemption tries left), and the round starts nothing
  exactly when each new job, tried alone on the unchanged free GPUs with every try
  available, starts nothing. Otherwise the whole round is decided as usual.

For a policy that preempts there is one more condition: every running job started before
the remembered round. Work started at a round's own instant is not offered as a victim
then (see :func:`~emulator.policies.ordered.greedy_round`) but would be later.

The decisions, and so the event log, are exactly those of deciding every round
(``tests/test_arrival_skip.py``).
"""

from __future__ import annotations

from collections.abc import Callable

from emulator.policies.base import ClusterView, Decision

__all__ = ["ArrivalSkip"]


class ArrivalSkip:
    """Remembers the last round that decided nothing and answers later arrival-only rounds
    from their new jobs."""

    def __init__(self, preempts: bool) -> None:
        """``preempts``: whether the policy's rounds may preempt running work."""
        self.preempts = preempts
        self._idle: tuple[object, ...] | None = None  # arrival token of the last empty round
        self.skipped = 0  # rounds answered from their new jobs alone

    def decide(self, view: ClusterView,
               full_round: Callable[[ClusterView], list[Decision]],
               alone: Callable[[ClusterView, int], list[Decision]]) -> list[Decision]:
        """``full_round(view)`` unless only arrivals changed since the last empty round
        and ``alone(view, position)`` (the new job at that queue position tried on its
        own) is empty for each of them (then no decision)."""
        token = view.arrival_token()
        idle, self._idle = self._idle, None
        if (token is not None and idle is not None and token[:-1] == idle[:-1]
                and token[-1] >= idle[-1]):  # type: ignore[operator]
            new = range(idle[-1], token[-1])  # type: ignore[call-overload]
            if not any(alone(view, position) for position in new):
                self._idle = token
                self.skipped += 1
                return []
        decisions = full_round(view)
        if not decisions and token is not None and self._victims_all_older(view):
            self._idle = token
        return decisions

    def _victims_all_older(self, view: ClusterView) -> bool:
        """Whether every running job started before now (always true for a policy that
        does not preempt: then the start times do not matter)."""
        if not self.preempts:
            return True
        starts = view.running_columns().start_s
        return not starts.size or float(starts.max()) < view.now
