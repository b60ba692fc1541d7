"""Keys from the terminal, read on a thread so the simulation never waits for them.

:class:`KeyReader` puts the terminal in cbreak mode (keys arrive one by one, unechoed;
Ctrl-C still interrupts), reads ``stdin`` with ``select`` on a daemon thread and queues
key names: printable characters as themselves, arrow keys as ``"left"``, ``"right"``,
``"up"``, ``"down"``. The terminal's settings are restored on exit, whatever happens.
It does nothing when ``stdin`` is not a terminal (pipes, CI).
"""

from __future__ import annotations

import os
import queue
import select
import sys
import termios
import threading
import tty
from types import TracebackType
from typing import IO

__all__ = ["KeyReader", "decode_keys"]

_ARROWS = {"A": "up", "B": "down", "C": "right", "D": "left"}


def decode_keys(data: str) -> list[str]:
    """Key names in ``data`` (arrow escape sequences as names, other escapes dropped)."""
    keys: list[str] = []
    i = 0
    while i < len(data):
        c = data[i]
        if c == "\x1b":
            if data[i + 1:i + 2] in ("[", "O") and data[i + 2:i + 3] in _ARROWS:
                keys.append(_ARROWS[data[i + 2]])
                i += 3
                continue
            i += 1  # a lone escape or a sequence not handled: skip its introducer
            while i < len(data) and not data[i].isalpha() and data[i] != "\x1b":
                i += 1
            i += 1 if i < len(data) and data[i].isalpha() else 0
            continue
        if c.isprintable():
            keys.append(c)
        i += 1
    return keys


class KeyReader:
    """Queue of key names typed while the context is open (see the module docstring)."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        self.stream = stream if stream is not None else sys.stdin
        self.keys: queue.SimpleQueue[str] = queue.SimpleQueue()
        self.active = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._saved: list[object] | None = None
        self._fd = -1

    def __enter__(self) -> KeyReader:
        try:
            self._fd = self.stream.fileno()
            interactive = os.isatty(self._fd)
        except (AttributeError, ValueError, OSError):
            interactive = False
        if not interactive:
            return self
        self._saved = termios.tcgetattr(self._fd)
        tty.setcbreak(self._fd)
        self.active = True
        self._thread = threading.Thread(target=self._read, name="gpuemu-keys", daemon=True)
        self._thread.start()
        return self

    def _read(self) -> None:
        while not self._stop.is_set():
            ready, _, _ = select.select([self._fd], [], [], 0.05)
            if not ready:
                continue
            try:
                data = os.read(self._fd, 64).decode("utf-8", errors="ignore")
            except OSError:
                return
            if not data:
                return
            for key in decode_keys(data):
                self.keys.put(key)

    def pending(self) -> list[str]:
        """Keys typed since the last call, in order (never blocks)."""
        out: list[str] = []
        while True:
            try:
                out.append(self.keys.get_nowait())
            except queue.Empty:
                return out

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=1.0)
        if self._saved is not None:
            termios.tcsetattr(self._fd, termios.TCSADRAIN, self._saved)  # type: ignore[arg-type]
        self.active = False
