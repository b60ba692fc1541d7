"""The ``gpuemu`` root options every Python tool is expected to have: ``--version`` and
``-v``/``-q`` (standard :mod:`logging`, see :mod:`emulator.verbosity`).

Shell completion (``--install-completion``/``--show-completion``) is typer's own, enabled
where the application is created in :mod:`emulator.cli`.
"""

from __future__ import annotations

from importlib import metadata
from typing import Annotated

import typer

from emulator import verbosity

__all__ = ["package_version", "register"]


def package_version() -> str:
    """The installed ``gpuemu`` distribution's version (``pyproject.toml``), or
    ``unknown`` when the package runs from a source tree that was never installed."""
    try:
        return metadata.version("gpuemu")
    except metadata.PackageNotFoundError:
        return "unknown"


def _print_version(value: bool) -> None:
    if value:
        print(f"gpuemu {package_version()}")
        raise typer.Exit()


def _root(
    version: Annotated[bool, typer.Option(
        "--version", callback=_print_version, is_eager=True,
        help="print the version and exit")] = False,
    verbose: Annotated[int, typer.Option(
        "--verbose", "-v", count=True, metavar="", help="more diagnostics on stderr (debug detail)",
        show_default=False)] = 0,
    quiet: Annotated[int, typer.Option(
        "--quiet", "-q", count=True, metavar="",
        help="fewer diagnostics: -q hides notes and progress, -qq warnings too",
        show_default=False)] = 0,
) -> None:
    verbosity.configure(verbose, quiet)


def register(app: typer.Typer) -> None:
    """Install the root options on ``app`` (its help text is kept)."""
    app.callback(help=app.info.help)(_root)
