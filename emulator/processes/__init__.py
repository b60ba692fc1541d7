"""Simulation processes, one concern each, acting on the core only through its verbs.

``arrivals`` (submissions), ``rounds`` (policy decisions, validated and applied),
``serving_windows`` (inference requests per window, autoscaling), ``sampler`` (power,
utilisation, energy, power caps), ``staging`` (datasets over the WAN) and ``timed``
(exogenous events such as cable cuts). simpy is the clock for all of them.
"""
