"""Gavel's heterogeneity-aware max-min fairness (``max_min_fairness_perf`` in Gavel).

Source: Narayanan et al., OSDI 2020, section 3.1 (heterogeneity-aware LAS: maximise the
smallest throughput normalised by the job's throughput on an equal share of the cluster)
and its simulator (github.com/stanford-futuredata/gavel,
``scheduler/policies/max_min_fairness.py``, ``MaxMinFairnessPolicyWithPerf``). Job speeds
per GPU type come from a throughput table (Gavel trace replay: ``kind: gavel`` with
``throughputs``), so a job that gains most from a fast GPU type tends to get it. See
:mod:`emulator.policies.gavel_rounds` for the LP (SciPy HiGHS or ECOS) and the round mechanism.

Options ``solver``, ``reset_interval`` and ``mechanism`` as for
:mod:`emulator.policies.max_min_fairness`.
"""

from __future__ import annotations

from emulator.policies.max_min_fairness import MaxMinFairnessPolicy

__all__ = ["MaxMinFairnessHetPolicy"]


class MaxMinFairnessHetPolicy(MaxMinFairnessPolicy):
    """Max-min fair normalised throughputs on heterogeneous GPUs (LP), round by round."""

    name = "max-min-fairness-het"
    heterogeneity_aware = True
