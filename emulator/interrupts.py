"""SIGINT / SIGTERM as an exception, and a section where they wait.

The CLI turns both signals into :class:`Interrupted` (a ``BaseException``, so no
``except Exception`` in a library swallows it); the command prints one line and exits
with ``128 + signal number`` (130 for Ctrl-C, 143 for SIGTERM). While results are being
swapped into place (:func:`deferred`), a signal is remembered and raised at the end of the
section, so the output folder is always either the previous result or the new one.
The simulation's steps wait the same way; code that knows its state is whole in the
middle of a step (between two scheduling rounds) may call :func:`raise_pending_after` so
that a step that runs for long (a policy that never settles) does not hold a signal for
good.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

__all__ = ["Interrupted", "PartialKept", "deferred", "install", "raise_pending_after"]

_HANDLED = (signal.SIGINT, signal.SIGTERM)
_state = {"deferring": 0, "pending": 0}
_since = {"pending": 0.0}  # time.monotonic() when the held signal arrived


class Interrupted(BaseException):
    """The process received SIGINT or SIGTERM (``signum``)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum

    @property
    def name(self) -> str:
        """``"SIGINT"`` or ``"SIGTERM"``."""
        return signal.Signals(self.signum).name

    @property
    def exit_code(self) -> int:
        """The shell convention: 128 + signal number."""
        return 128 + self.signum


class PartialKept(Interrupted):
    """An interrupted run whose results so far were written to ``folder`` (marked partial)."""

    def __init__(self, signum: int, folder: str, reached_s: float) -> None:
        super().__init__(signum)
        self.folder = folder
        self.reached_s = reached_s


def _handler(signum: int, frame: FrameType | None) -> None:
    if _state["deferring"]:
        if not _state["pending"]:
            _state["pending"] = signum
            _since["pending"] = time.monotonic()
        return
    raise Interrupted(signum)


def install() -> None:
    """Route SIGINT and SIGTERM to :class:`Interrupted` (main thread only)."""
    for sig in _HANDLED:
        signal.signal(sig, _handler)


@contextmanager
def deferred() -> Iterator[None]:
    """Hold SIGINT/SIGTERM until the block ends, then raise :class:`Interrupted` once."""
    _state["deferring"] += 1
    try:
        yield
    finally:
        _state["deferring"] -= 1
        if not _state["deferring"] and _state["pending"]:
            signum, _state["pending"] = _state["pending"], 0
            raise Interrupted(signum)


def raise_pending_after(wait_s: float) -> None:
    """Raise a held signal now if it has waited at least ``wait_s`` wall seconds.

    For a caller inside a :func:`deferred` section at a point where its state is whole
    (the simulation between two rounds): one dict look-up when no signal is held.
    """
    signum = _state["pending"]
    if signum and time.monotonic() - _since["pending"] >= wait_s:
        _state["pending"] = 0
        raise Interrupted(signum)
