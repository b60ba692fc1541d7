"""Gavel's heterogeneity-agnostic max-min fairness (``max_min_fairness`` in Gavel).

Source: Narayanan et al., OSDI 2020, section 3.1 (the LAS / max-min fairness policy,
heterogeneity-agnostic form) and its simulator (github.com/stanford-futuredata/gavel,
``scheduler/policies/max_min_fairness.py``, ``MaxMinFairnessPolicy``). Every job counts
as equally fast on every GPU type it can run on, so the policy equalises GPU *time*
shares, scaled by GPU count; see :mod:`emulator.policies.gavel_rounds` for the LP (SciPy
HiGHS) and the round mechanism. Use it with ``scheduler.round_length: 360s`` for Gavel's
rounds.

No options.
"""

from __future__ import annotations

from emulator.policies.base import ClusterView, Decision, QueuePolicy
from emulator.policies.gavel_rounds import GavelRounds

__all__ = ["MaxMinFairnessPolicy"]


class MaxMinFairnessPolicy(QueuePolicy):
    """Max-min fair GPU-time shares (LP), realised round by round."""

    name = "max-min-fairness"
    heterogeneity_aware = False

    def __init__(self, **options: object) -> None:
        super().__init__(**options)
        self._rounds = GavelRounds(self.heterogeneity_aware)

    def decide(self, view: ClusterView) -> list[Decision]:
        """Solve the allocation, then assign GPU types by priority for this round."""
        return self._rounds.decide(view)
