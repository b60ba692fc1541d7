"""How loud the ``gpuemu`` command line is: standard :mod:`logging`, set by ``-v``/``-q``.

Diagnostics (notes, warnings, debug detail) go through the ``emulator`` logger to stderr as
one ``LEVEL: message`` line each; results (tables, "wrote N files", ``validate``'s verdict)
stay on stdout. The levels:

- default: notes (``logging.INFO``), warnings and errors, plus progress lines on stdout;
- ``-q``: warnings and errors only, and no progress lines; ``-qq``: errors only;
- ``-v``: adds debug detail (``logging.DEBUG``: timings, seeds, what was built).

Code that is not the command line logs with ``logging.getLogger(__name__)`` as usual and
never configures handlers; :func:`configure` is called once per command by the CLI.
"""

from __future__ import annotations

import logging
import sys

from rich.console import Console
from rich.text import Text

from emulator.errors import one_line

__all__ = ["LOGGER_NAME", "configure", "level_for", "show_progress"]

LOGGER_NAME = "emulator"
"""The package logger every module's ``logging.getLogger(__name__)`` descends from."""

_WORDS = {logging.DEBUG: ("debug", "dim"), logging.INFO: ("note", "yellow"),
          logging.WARNING: ("warning", "yellow"), logging.ERROR: ("error", "bold red"),
          logging.CRITICAL: ("error", "bold red")}


class _OneLineHandler(logging.Handler):
    """Write each record as ``note:``/``warning:``/``error:`` + one line on the current
    ``sys.stderr`` (looked up per record, so captured streams in tests see it)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            word, style = _WORDS.get(record.levelno, (record.levelname.lower(), ""))
            Console(file=sys.stderr, highlight=False, soft_wrap=True).print(
                Text.assemble((f"{word}:", style), " ", one_line(record.getMessage())))
        except Exception:  # a broken stream must not end the run
            self.handleError(record)


def level_for(verbose: int, quiet: int) -> int:
    """The logging level for ``-v`` given ``verbose`` times and ``-q`` ``quiet`` times:
    INFO by default, each ``-v`` one level lower, each ``-q`` one level higher (clamped to
    DEBUG..ERROR)."""
    steps = max(-1, min(2, quiet - verbose))
    return logging.INFO + 10 * steps


def configure(verbose: int = 0, quiet: int = 0) -> int:
    """Attach the one-line stderr handler to the ``emulator`` logger at the level for
    ``verbose``/``quiet`` (replacing a handler an earlier call attached); returns the
    level."""
    level = level_for(verbose, quiet)
    logger = logging.getLogger(LOGGER_NAME)
    for handler in [h for h in logger.handlers if isinstance(h, _OneLineHandler)]:
        logger.removeHandler(handler)
    logger.addHandler(_OneLineHandler())
    logger.setLevel(level)
    logger.propagate = False  # the root logger's handlers (if any) would print it twice
    return level


def show_progress() -> bool:
    """Whether progress lines should be printed: not under ``-q``, and not when no CLI
    configured logging (the logger then inherits the root's WARNING: code used as a
    library prints no progress)."""
    return logging.getLogger(LOGGER_NAME).getEffectiveLevel() <= logging.INFO
