"""GPU outages counted once each: GPUs going from in service to out of service.

The summary's ``outages.gpus_taken_down`` is the number of distinct GPU-outage intervals
of the run: each time one GPU goes from in service to out of service counts once, however
many failures or disruptions then hold it out. A GPU failed inside a rack that is already
down is no new outage (it was out of service already); a GPU that is repaired and fails
again later is a second one. The count is replayed from the event log's infrastructure
rows with the rules the core and the failure model apply to the cluster:

* a failure that takes GPUs out of service (not software, NIC, leaf or spine switch;
  an injection of no class, code -1, does) and a ``GPUS_DOWN`` row take the row's GPUs
  out; each failure holds its GPUs until its repair;
* a failure's repair (``REPAIR`` of the same kind of class, or code -1 under a label that
  is no operator's restore: the end of a timed injection) brings back those of its GPUs no
  other open failure still holds;
* an operator's restore (``REPAIR`` code -1 labelled ``restore TARGET``) ends every
  failure holding the target's GPUs, and a ``GPUS_UP`` row brings its GPUs back.

A row's GPUs are its ``gpu_first .. gpu_last`` range: every component and target is one
contiguous range of global GPU ids (a ``GPUS_DOWN`` row of :meth:`Core.disrupt` given a
non-contiguous set through the API is counted over its bounds, at most its ``value``).
"""

from __future__ import annotations

import numpy as np

from emulator.eventlog import EventLog, Infra
from emulator.targets import is_restore
from topologies.reliability import COMPONENTS, effect_of

__all__ = ["gpus_taken_down"]

_SPARED = frozenset(c for c, name in enumerate(COMPONENTS) if effect_of(name) != "down")
"""Class codes whose failures keep their GPUs in service (software, NIC, switches)."""


def gpus_taken_down(log: EventLog) -> int:
    """GPU-outage intervals started over the run (count; module docstring)."""
    first = np.asarray(log.infra_gpu_first, dtype=np.int64)
    if first.size == 0:
        return 0
    last = np.asarray(log.infra_gpu_last, dtype=np.int64)
    n = int(max(last.max(), first.max(), -1)) + 1
    down = np.zeros(n, dtype=bool)  # out of service now
    held = np.zeros(n, dtype=np.int32)  # open failures holding each GPU
    started = 0
    for kind, code, value, label, lo, hi in zip(
            log.infra_kind, log.infra_subject, log.infra_value, log.infra_label,
            first.tolist(), last.tolist(), strict=True):
        if lo < 0 or (int(code) in _SPARED and kind in (Infra.FAILURE, Infra.REPAIR)):
            continue
        span = slice(lo, hi + 1)
        if kind in (Infra.FAILURE, Infra.GPUS_DOWN):
            new = int(np.count_nonzero(~down[span]))
            if kind == Infra.GPUS_DOWN and np.isfinite(value):
                new = min(new, int(value))  # a non-contiguous set: at most its GPUs
            started += new
            down[span] = True
            if kind == Infra.FAILURE:
                held[span] += 1
        elif kind == Infra.GPUS_UP:
            down[span] = False
        elif kind == Infra.REPAIR:
            counts = held[span]
            if int(code) == -1 and is_restore(log.reasons[label]):
                up = counts > 0
                counts[:] = 0
            else:
                still = counts > 0
                counts[still] -= 1
                up = still & (counts == 0)
            down[span][up] = False
    return started
