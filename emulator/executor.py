"""Where sweep cells run: in this process, or on ``dask.distributed``; with an on-disk cache.

``gpuemu compare``, ``sweep`` and ``plan`` hand their cells (:class:`~emulator.cells.Cell`)
to :func:`emulator.cell_runner.run_cells`, which first looks each one up in the cache folder
(``<sha256>.json``, keyed by :func:`~emulator.cells.cell_key`), runs the rest on the
executor and stores every result the moment it arrives (written to a temporary name and
renamed, so a cell file is whole or absent). An interrupted sweep therefore loses only
the cells that were running; the same command again runs only what is missing.

Executors:

- :class:`SerialExecutor` runs cells one after the other in this process (``--serial`` or
  ``--workers 1``; also used when at most one cell is left to run on a local cluster,
  which would only add its start-up time).
- :class:`DaskExecutor` starts a ``LocalCluster`` of ``workers`` single-threaded worker
  processes, or connects to a running scheduler (``--scheduler tcp://host:8786``), e.g.
  one that dask-jobqueue started on Slurm or dask-kubernetes on Kubernetes; that scheduler
  is reached (and its address checked) as the command starts, and runs every cell, a
  single one too. Cells go to
  the workers as plain data with the files they name (:func:`~emulator.cells.payload`).

Results are identical on every executor: a cell is a pure function of its scenario and
seed (DESIGN principle 5).
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from types import TracebackType
from typing import Any

from emulator.cells import Cell, Payload, run_payload
from emulator.errors import UserError
from emulator.policies.base import PolicyError
from emulator.spawn_guard import stop_if_bootstrapping, unguarded_script
from emulator.units import UnitError

WARM_UP_PLUGIN = "gpuemu-warm-up"
"""Name of the worker plug-in that imports a cell's modules on every worker."""

__all__ = ["CONNECT_TIMEOUT", "MAX_WORKERS", "SCHEDULER_PROTOCOLS", "CellError",
           "DaskExecutor", "Executor", "Progress", "SerialExecutor", "address_problem",
           "make_executor"]

MAX_WORKERS = 1024
"""Most local dask worker processes ``--workers`` (and the API's ``workers``) may ask for:
each holds a whole simulation, so more than a machine has CPUs only share them, and a
larger number is a mistyped option, not a cluster this machine can start."""


class CellError(Exception):
    """A cell raised ``error`` while it ran; ``position`` is its index in the payloads
    given to :meth:`Executor.run` (so :func:`run_cells` can say which cell it was)."""

    def __init__(self, position: int, error: BaseException) -> None:
        super().__init__(position, error)
        self.position = position
        self.error = error


ONE_LINE_ERRORS: tuple[type[Exception], ...] = (UserError, UnitError, PolicyError)
"""Errors that are one line for the user: a failed cell's is re-raised with the cell named."""


Progress = Callable[[int, int, Cell, dict[str, Any]], None]
"""Called with (cells done, cells in all, the cell, its result) after each cell, cached
ones first."""


class Executor(AbstractContextManager["Executor"]):
    """Runs payloads, yielding ``(position, result)`` as each one finishes."""

    name = "executor"
    ran = 0
    """Cells this executor has run (cached ones not counted)."""

    def __init__(self) -> None:
        self.keys: set[str] = set()
        """Cache keys of every cell :func:`run_cells` has handed this executor (cached or
        run), so an interrupted command can tell which cells of its own were kept."""

    def run(self, payloads: Sequence[Payload]) -> Iterator[tuple[int, dict[str, Any]]]:
        raise NotImplementedError

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        """Release workers (nothing to release by default)."""

    def slots(self) -> int:
        """How many cells can run at once."""
        return 1


class SerialExecutor(Executor):
    """Every cell in this process, in order."""

    name = "serial"

    def run(self, payloads: Sequence[Payload]) -> Iterator[tuple[int, dict[str, Any]]]:
        for i, p in enumerate(payloads):
            try:
                result = run_payload(p)
            except Exception as exc:
                raise CellError(i, exc) from exc
            self.ran += 1
            yield i, result


class DaskExecutor(Executor):
    """Cells on ``dask.distributed``: a local cluster of ``workers`` processes (started on
    first use) or the scheduler at ``address``."""

    name = "dask"

    def __init__(self, workers: int, address: str | None = None) -> None:
        super().__init__()
        self.workers = workers
        self.address = address
        self._client: Any = None
        self._cluster: Any = None

    def __enter__(self) -> DaskExecutor:
        """Reach the ``--scheduler`` now, so that a wrong or unreachable address is one
        error before anything runs, however many cells (none, when all are cached) are left
        to run; a local cluster still starts on first use."""
        if self.address is not None:
            self._connect()
        return self

    def _connect(self) -> Any:
        if self._client is not None:
            return self._client
        try:
            from dask.distributed import Client, LocalCluster
        except ImportError:
            raise UserError("--workers: dask.distributed is not installed; expected "
                            "`pip install 'dask[distributed]'` or --serial") from None
        if self.address is not None:
            try:
                self._client = Client(self.address, timeout=CONNECT_TIMEOUT)
            except (OSError, TimeoutError, ValueError, TypeError) as exc:
                # TypeError: a tls:// address without a TLS configuration, or ucx:// without
                # UCX installed (distributed raises it before any connection is tried)
                raise UserError(f"--scheduler: cannot reach {self.address!r} ({exc}); "
                                "expected a running dask scheduler, e.g. "
                                "tcp://host:8786") from None
        else:
            import dask

            # A local worker's sampling profiler (every 10 ms) and GIL monitor (every
            # 1 ms) compete with the cell for the interpreter; nobody reads them here. The
            # event-loop tick (20 ms), the memory monitor (100 ms) and the system monitor
            # (500 ms) are slowed too: at dask's defaults an idle 2-worker cluster uses
            # about 9 % of one core, which a sweep filling every core takes from its cells;
            # slowed, 1.7 %. The cost: a worker over its memory limit is caught within 1 s.
            with dask.config.set({"distributed.worker.profile.enabled": False,
                                  "distributed.admin.system-monitor.gil.enabled": False,
                                  "distributed.admin.tick.interval": "1s",
                                  "distributed.worker.memory.monitor-interval": "1s",
                                  "distributed.admin.system-monitor.interval": "2s"}):
                # No dashboard; the scheduler's small HTTP server (health, metrics) on a
                # free local port, not dask's 8787, whose "already in use" warning would
                # otherwise reach the terminal when another cluster holds it. The workers'
                # own error logs stay quiet (a heartbeat cut short as a failed command
                # closes the cluster): every failure reaches the command through its future.
                stop_if_bootstrapping()  # a worker importing an unguarded script again
                try:
                    self._cluster = LocalCluster(
                        n_workers=self.workers, threads_per_worker=1, processes=True,
                        dashboard_address=None,
                        scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
                        silence_logs=logging.CRITICAL)
                except RuntimeError:
                    script = unguarded_script()
                    if script is None:
                        raise
                    raise UserError(
                        f"workers: the local Dask cluster could not start: each worker "
                        f"imports {script} again, which starts a cluster again; expected "
                        "the call under `if __name__ == \"__main__\":` (or workers=1)"
                    ) from None
            self._client = Client(self._cluster)
        self._warm_workers()
        return self._client

    def _warm_workers(self) -> None:
        """Have every worker, present or joining later, import what a cell imports
        (:func:`~emulator.cells.warm_up`) before it takes one; waits for those present."""
        from distributed.diagnostics.plugin import WorkerPlugin

        class WarmUp(WorkerPlugin):
            name = WARM_UP_PLUGIN

            def setup(self, worker: Any) -> None:
                from emulator.cells import warm_up

                warm_up()

        option = f"--scheduler {self.address}" if self.address else "--workers"
        try:
            self._client.register_plugin(WarmUp())
        except ImportError as exc:  # raised on a worker: gpuemu (or a dependency) missing
            self.close()
            raise UserError(f"{option}: a worker cannot load gpuemu "
                            f"({type(exc).__name__}: {exc}); expected gpuemu installed on "
                            "every worker") from None
        except (OSError, TimeoutError) as exc:
            self.close()
            raise UserError(f"{option}: the workers did not answer ({exc}); expected "
                            "running dask workers") from None
        except BaseException:
            self.close()
            raise

    def run(self, payloads: Sequence[Payload]) -> Iterator[tuple[int, dict[str, Any]]]:
        from dask.distributed import as_completed

        client = self._connect()
        futures = {}
        for i, p in enumerate(payloads):
            futures[client.submit(run_payload, p, pure=False)] = i
        try:
            for future in as_completed(futures):
                try:
                    result = future.result()
                except Exception as exc:
                    raise CellError(futures[future], exc) from exc
                self.ran += 1
                yield futures[future], result
        finally:
            for future in futures:  # an interrupted sweep stops the rest
                future.cancel()

    def slots(self) -> int:
        """The local workers, or the workers the scheduler has now."""
        if self.address is None:
            return max(self.workers, 1)
        return max(len(self._connect().scheduler_info()["workers"]), 1)

    def close(self) -> None:
        if self._client is not None:
            if self.address is not None:  # a shared scheduler keeps plug-ins: take ours off
                with contextlib.suppress(Exception):
                    self._client.unregister_worker_plugin(WARM_UP_PLUGIN)
            self._client.close()
        if self._cluster is not None:
            self._cluster.close()
        self._client = self._cluster = None


SCHEDULER_PROTOCOLS = ("tcp", "tls", "ucx", "ws", "wss", "inproc")
"""The dask comm protocols a ``--scheduler`` address may name (``inproc``: a scheduler in
this process, e.g. a ``LocalCluster(processes=False)`` handed to :func:`emulator.api.compare`;
its address, ``inproc://HOST/PID/N``, is no ``HOST:PORT``)."""

CONNECT_TIMEOUT = "20s"
"""How long to keep trying to reach a ``--scheduler`` before giving up (a dask duration)."""


def address_problem(address: str) -> str | None:
    """What is wrong with a dask scheduler ``address`` (``PROTOCOL://HOST[:PORT]``, the host
    an IPv6 literal in brackets), or ``None`` when it is well formed. Only the form is
    checked; whether a scheduler answers there is found as the executor is entered
    (:meth:`DaskExecutor.__enter__`)."""
    protocol, sep, location = address.partition("://")
    if not sep:
        return "it has no PROTOCOL://"
    if protocol not in SCHEDULER_PROTOCOLS:
        return f"its protocol {protocol!r} is not one of {', '.join(SCHEDULER_PROTOCOLS)}"
    if protocol == "inproc":  # an in-process address: HOST/PID/N, not HOST[:PORT]
        return None if location and not any(c.isspace() for c in location) else \
            "it has no in-process address after inproc://"
    if not location or any(c.isspace() or c in "/?#@" for c in location):
        return "it has no host" if not location else f"{location!r} is not HOST[:PORT]"
    if location.startswith("["):
        host, bracket, rest = location[1:].partition("]")
        if not bracket or not host or (rest and not rest.startswith(":")):
            return f"{location!r} is not [IPV6]:PORT"
        port = rest[1:] if rest else None
    else:
        host, colon, port_text = location.rpartition(":")
        if not colon:
            host, port = location, None
        elif ":" in host:
            return f"{location!r} is not HOST[:PORT] (an IPv6 host goes in brackets)"
        else:
            port = port_text
        if not host:
            return "it has no host"
    if port is not None and not (port.isdigit() and 1 <= int(port) <= 65535):
        return f"its port {port!r} is not a number from 1 to 65535"
    return None


def make_executor(workers: int | None = None, scheduler: str | None = None,
                  serial: bool = False) -> Executor:
    """The executor for ``--workers``, ``--scheduler`` and ``--serial``.

    ``workers`` (1 to :data:`MAX_WORKERS`) defaults to this machine's CPU count; 1 (or
    ``serial``) runs in-process. Options that contradict each other are one error line
    naming both: ``--serial`` with ``--scheduler`` or with ``--workers`` other than 1, and
    ``--scheduler`` with ``--workers`` (the scheduler's own workers run the cells).
    """
    if workers is not None and workers < 1:
        raise UserError(f"--workers: got {workers}; expected at least 1")
    if workers is not None and workers > MAX_WORKERS:
        raise UserError(f"--workers: got {workers}; expected at most {MAX_WORKERS} local "
                        "worker processes")
    if serial and scheduler is not None:
        raise UserError(f"--scheduler {scheduler}: cannot be used with --serial; expected one")
    if serial and workers is not None and workers != 1:
        raise UserError(f"--workers {workers}: cannot be used with --serial (which runs the "
                        "cells one by one in this process); expected one of them")
    if scheduler is not None and workers is not None:
        raise UserError(f"--workers {workers}: cannot be used with --scheduler {scheduler} "
                        "(the scheduler's workers run the cells); expected one of them")
    if scheduler is not None:
        problem = address_problem(scheduler)
        if problem is not None:
            raise UserError(f"--scheduler: got {scheduler!r}; expected an address such as "
                            f"tcp://host:8786 ({problem})")
        return DaskExecutor(workers or 0, scheduler)
    n = workers if workers is not None else (os.cpu_count() or 1)
    if serial or n == 1:
        return SerialExecutor()
    return DaskExecutor(n)
