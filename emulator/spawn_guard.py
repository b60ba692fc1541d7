"""A local Dask cluster started from a script without a ``__main__`` guard: one clear line.

A local cluster starts its workers as new Python processes ("spawn"), and each imports the
script that started it again. A script that calls :func:`emulator.api.sweep` (or anything
else that starts a cluster) at its top level, not under ``if __name__ == "__main__":``,
then starts a cluster again inside every worker; Python stops each of them with a
traceback, and the cluster's start fails with a second one. :func:`stop_if_bootstrapping`
ends such a worker quietly, and :func:`unguarded_script` names the script so that the
caller can say what to change.
"""

from __future__ import annotations

import multiprocessing
import re
import sys
from pathlib import Path

__all__ = ["stop_if_bootstrapping", "unguarded_script"]

_GUARD = re.compile(r"""^\s*if\s+__name__\s*==\s*['"]__main__['"]\s*:""", re.MULTILINE)


def stop_if_bootstrapping() -> None:
    """Exit (status 2, no traceback) when this process is a spawned worker still importing
    its parent's main script: a cluster started from there could never start."""
    if getattr(multiprocessing.current_process(), "_inheriting", False):
        raise SystemExit(2)


def unguarded_script() -> str | None:
    """The script this process runs as ``python SCRIPT.py`` when its text has no
    ``if __name__ == "__main__":`` line; ``None`` for ``python -m``, a notebook or a
    console command, a guarded script, or one that cannot be read."""
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if main is None or path is None or getattr(main, "__spec__", None) is not None:
        return None
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    return None if _GUARD.search(text) else str(path)
