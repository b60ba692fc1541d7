"""Gavel's heterogeneity-agnostic max-min fairness (``max_min_fairness`` in Gavel).

Source: Narayanan et al., OSDI 2020, section 3.1 (the LAS / max-min fairness policy,
heterogeneity-agnostic form) and its simulator (github.com/stanford-futuredata/gavel,
``scheduler/policies/max_min_fairness.py``, ``MaxMinFairnessPolicy``). Every job counts
as equally fast on every GPU type it can run on, so the policy equalises GPU *time*
shares, scaled by GPU count; see :mod:`emulator.policies.gavel_rounds` for the LP (SciPy
HiGHS) and the round mechanism. Use it with ``scheduler.round_length: 360s`` for Gavel's
rounds.

Option ``solver``: ``highs`` (default; SciPy's HiGHS, a vertex of the optimal face) or
``ecos`` (the ECOS interior-point solver Gavel calls by default; a dependency of gpuemu). The
LP often has several optimal allocations, and the two solvers return different ones; use
``ecos`` to reproduce Gavel's choice (``docs/reproductions.md``).

Option ``reset_interval`` (a duration, default 0): the allocation is recomputed when jobs
arrive or leave, but not sooner than this after the last one; a job that arrived since
waits for the next allocation, even with GPUs free. Gavel's simulator does this with its
``minimum_time_between_allocation_resets`` of 1920 s; 0 recomputes at the next round.

Option ``mechanism``: ``paper`` (default; priority = allocated share / share of the job's
time in the system received on the type; with ``scheduler.round_length`` a round at every
boundary while a job waits or a faster GPU type is full, without it rounds only at
arrivals and completions) or ``gavel`` (Gavel's simulator: share of the
type's time since the last allocation, deficits as tie-break, GPU types shuffled each
round for the agnostic policy, a round at every boundary while jobs are active; needs
``scheduler.round_length``); see :class:`emulator.policies.gavel_rounds.GavelRounds`.
"""

from __future__ import annotations

from emulator.errors import UserError
from emulator.policies.base import ClusterView, Decision, QueuePolicy
from emulator.policies.gavel_rounds import MECHANISMS, SOLVERS, GavelRounds
from emulator.policies.options import duration

__all__ = ["MaxMinFairnessPolicy"]


class MaxMinFairnessPolicy(QueuePolicy):
    """Max-min fair GPU-time shares (LP), realised round by round."""

    name = "max-min-fairness"
    heterogeneity_aware = False

    def __init__(self, solver: str = "highs", reset_interval: str | float = 0.0,
                 mechanism: str = "paper", **options: object) -> None:
        super().__init__(**options)
        interval_s = duration(reset_interval, "reset_interval")
        if interval_s < 0:
            raise UserError(f"scheduler.options.reset_interval: got {reset_interval!r}; "
                            "expected a duration >= 0")
        if solver not in SOLVERS:
            raise ValueError(f"solver {solver!r}; expected one of {', '.join(SOLVERS)}")
        if solver == "ecos":
            try:
                import ecos  # noqa: F401
            except ImportError:
                raise UserError("scheduler.options.solver: 'ecos' needs the ecos package; "
                                "expected `pip install ecos` or solver: highs") from None
        if mechanism not in MECHANISMS:
            raise ValueError(f"mechanism {mechanism!r}; expected one of "
                             f"{', '.join(MECHANISMS)}")
        self._rounds = GavelRounds(self.heterogeneity_aware, solver, interval_s, mechanism)
        self.needs_round_length = mechanism == "gavel"
        """Gavel's mechanism works in rounds: a scenario must set scheduler.round_length."""
        # Rounds the policy needs even when no work arrives or ends: once the interval is
        # over while jobs wait for an allocation, and in round-based mode at the next
        # boundary while a round can change who runs (see GavelRounds.next_wakeup). The
        # engine then also runs a round at every arrival and completion with an empty
        # queue; the paper's mechanism without an interval, which did not ask for that,
        # skips those rounds in event-driven mode (below), as before.
        self._skip_empty = mechanism == "paper" and interval_s == 0
        self.next_wakeup = self._rounds.next_wakeup

    def decide(self, view: ClusterView) -> list[Decision]:
        """Solve the allocation, then assign GPU types by priority for this round."""
        if self._skip_empty and view.round_length_s is None and not view.queue:
            return []  # event-driven mode: no round with an empty queue, as without wake-ups
        return self._rounds.decide(view)
