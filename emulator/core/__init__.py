"""The state-and-apply core: allocation, queue, running set and the verbs that change them.

:class:`~emulator.core.core.Core` owns all mutable scheduling state and offers the verbs
``submit``, ``start``, ``finish``, ``preempt``, ``disrupt``, ``rerate``, ``cancel`` and
``truncate_all``; every other concern (scheduling rounds, serving windows, sampling,
staging, autoscaling, power caps, WAN events) lives in :mod:`emulator.processes` and
changes work only through these verbs. The core knows nothing of simpy: time comes from a
:class:`~emulator.core.clock.Clock`.
"""
