"""Serving windows: all inference services advance one window at a time (one process).

After each window: request traffic re-rates WAN dataset transfers on shared paths, the
autoscaler applies the serving model's replica changes, and the utilisation of every
serving GPU is set to its service's replica utilisation (for power and sampling).
"""

from __future__ import annotations

from collections.abc import Iterator

import simpy

from emulator.core.core import Core
from emulator.processes.autoscale import Autoscaler
from emulator.serving import ServingModel

__all__ = ["ServingWindows"]


class ServingWindows:
    """Drives :meth:`ServingModel.advance` window by window."""

    def __init__(self, core: Core, serving: ServingModel, autoscaler: Autoscaler,
                 width_s: float) -> None:
        self.core = core
        self.serving = serving
        self.autoscaler = autoscaler
        self.width_s = width_s
        serving.window_s = width_s
        self.served_until = 0.0
        self.windows = 0

    def process(self, env: simpy.Environment) -> Iterator[simpy.Event]:
        """The simpy process: one window per ``width_s``."""
        core = self.core
        while True:
            t0 = env.now
            yield env.timeout(self.width_s)
            self.windows += 1
            self.serving.advance(t0, env.now)
            self.served_until = env.now
            if core.staging is not None:  # request traffic shares the WAN with datasets
                core.staging.set_request_load(self.serving.wan_load_bps(env.now - t0),
                                              env.now)
            self.autoscaler.apply()
            for svc in self.serving.services:
                for alloc in svc.allocations():
                    if alloc.gpus is not None:
                        core.set_util(alloc.gpus, svc.replica_util)

    def flush(self, now: float) -> None:
        """Serve the last, partial window up to ``now`` (no arrival before it is dropped) and
        log every request row still held."""
        if now > self.served_until and (self.serving.services or self.serving.expected):
            self.serving.advance(self.served_until, now)
            self.served_until = now
        self.serving.close()  # the request rows held for failures to revise: final now
