"""Crash-safe result sets: a folder holds one whole run's results, or the previous ones.

Every file of a run is written into a sibling temporary folder
(``.NAME.tmp-PID`` next to ``NAME``), with ``manifest.json`` (SHA-256 of each file,
written last) closing the set. The folder is then swapped in: the previous result is
renamed aside (``.NAME.old-PID``), the new one renamed onto ``NAME``, the old one
deleted; SIGINT/SIGTERM wait during the swap (:func:`emulator.interrupts.deferred`).
An interrupted or failed run deletes its temporary folder, so a reader sees the previous
complete result or the new complete result, never a mix, and never a stale
``requests.parquet`` from a run that did not write one. Temporaries left by a killed
process (SIGKILL, power loss) are removed by the next run; a swap cut between its two
renames is undone (the previous result is put back).

A folder that exists, is not empty and has no ``manifest.json`` or ``summary.json`` is
not a result of this program and is never replaced. A result set is replaced only by the
kind of command that wrote it (:func:`result_kind`): ``run`` replaces a run's results,
``compare`` a comparison's, and so on; a folder holding another command's results is
refused, so a mistyped ``--out`` never deletes them.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from emulator.errors import UserError, short
from emulator.interrupts import deferred

__all__ = ["KINDS", "MANIFEST", "add_to_result_set", "check_replaceable", "check_writable",
           "clean_stale", "is_result_set", "result_kind", "verify", "write_result_set"]

MANIFEST = "manifest.json"
_SUMMARY = "summary.json"
_RESULT_MARKERS = (MANIFEST, _SUMMARY)
KINDS = ("run", "compare", "sweep", "plan")
"""The commands that write result sets; a set names its kind (:func:`result_kind`)."""
_TEMP = re.compile(r"^\.(?P<name>.+)\.(?P<kind>tmp|old)-(?P<pid>\d+)$")

Writer = Callable[[Path], None]
"""Writes one file at the path it is given."""


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_stale(folder: Path) -> list[Path]:
    """Remove temporaries of ``folder`` left by dead processes; restore a cut swap.

    Returns the paths removed (or restored from).
    """
    parent = folder.parent
    if not parent.is_dir():
        return []
    done = []
    for entry in sorted(parent.iterdir()):
        m = _TEMP.match(entry.name)
        if not m or m["name"] != folder.name or _alive(int(m["pid"])):
            continue
        if m["kind"] == "old" and not folder.exists():
            os.rename(entry, folder)  # the swap stopped between its renames: undo it
        else:
            shutil.rmtree(entry, ignore_errors=True)
        done.append(entry)
    return done


def check_writable(folder: Path) -> None:
    """:class:`UserError` unless results could be written at ``folder``.

    Results are written beside ``folder`` and renamed onto it, so its parent (or, where
    that does not exist yet, the nearest folder above it) must take a new folder. This is
    tried, not read from the permission bits, which say yes to root on ``/sys``, ``/proc``
    and read-only mounts: an empty folder is made there and removed at once.
    """
    probe = folder.absolute().parent
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    where = f"output folder {short(str(folder), 200)}"
    if not probe.is_dir():
        raise UserError(f"{where}: {short(str(probe), 200)} is a file; expected a folder there")
    try:
        os.rmdir(tempfile.mkdtemp(prefix=f".{folder.name}.probe-", dir=probe))
    except OSError as exc:
        raise UserError(f"{where}: cannot create a folder in {short(str(probe), 200)} "
                        f"({exc.strerror or exc}); expected a writable place (--out or "
                        "output.dir)") from None


def is_result_set(folder: Path) -> bool:
    """Whether ``folder`` holds a result set of this program (its ``manifest.json`` or
    ``summary.json``): files written there without its manifest would break it."""
    return folder.is_dir() and any((folder / m).is_file() for m in _RESULT_MARKERS)


def _read_json(path: Path) -> dict[str, object]:
    """The JSON object in ``path``; empty when it is missing, unreadable or not an object."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def result_kind(folder: Path) -> tuple[str, str] | None:
    """``(kind, scenario)`` of the result set in ``folder``, or ``None`` if it holds none
    this program can name.

    ``compare``, ``sweep`` and ``plan`` write their kind as the manifest's ``command``; a
    run's set is the one with ``summary.json`` (its manifest's ``command`` is the command
    line). ``scenario`` is the scenario's name or path as the set records it ("" if not).
    """
    manifest = _read_json(folder / MANIFEST)
    command = manifest.get("command")
    if isinstance(command, str) and command in KINDS:
        return command, str(manifest.get("scenario") or "")
    if (folder / _SUMMARY).is_file():
        return "run", str(_read_json(folder / _SUMMARY).get("scenario") or "")
    return None


def _kind_of(files: Mapping[str, Writer], info: Mapping[str, object] | None) -> str | None:
    """The kind of the result set ``files`` and ``info`` make (as :func:`result_kind`)."""
    command = (info or {}).get("command")
    if isinstance(command, str) and command in KINDS:
        return command
    return "run" if _SUMMARY in files else None


def _check_kind(folder: Path, kind: str) -> None:
    """:class:`UserError` if ``folder`` holds the results of a command other than ``kind``."""
    found = result_kind(folder)
    if found is None or found[0] == kind:
        return
    other, scenario = found
    of = f" of {short(scenario, 80)}" if scenario else ""
    raise UserError(f"--out {short(str(folder))}: holds the results of `gpuemu {other}`{of}; "
                    f"expected an empty folder or the results of an earlier `gpuemu {kind}` "
                    "(only those are replaced); choose another --out")


def check_replaceable(folder: Path, kind: str | None = None) -> None:
    """:class:`UserError` unless ``folder`` is absent, empty or a previous result set, in a
    place where results can be written (:func:`check_writable`).

    With ``kind`` (one of :data:`KINDS`), a previous result set must be of that kind: a
    command never replaces another command's results (a run's by a comparison, ...).
    """
    if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
        raise UserError(f"--out {short(str(folder))}: exists and is not a folder; expected a "
                        "folder for the results")
    if folder.is_dir() and any(folder.iterdir()) and not any(
            (folder / m).is_file() for m in _RESULT_MARKERS):
        raise UserError(f"--out {short(str(folder))}: holds other files; expected an empty "
                        "folder or the results of an earlier run (they are replaced whole)")
    if kind is not None and folder.is_dir():
        _check_kind(folder, kind)
    check_writable(folder)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_result_set(folder: Path, files: Mapping[str, Writer],
                     info: Mapping[str, object] | None = None) -> list[Path]:
    """Write ``files`` (name → writer) as the complete content of ``folder``.

    ``info`` goes into the manifest beside the checksums. A previous set of another kind
    (a run's, when ``info["command"]`` is ``"compare"``) is refused, as in
    :func:`check_replaceable`. Returns the final paths.
    """
    check_replaceable(folder, _kind_of(files, info))
    try:
        return _write_result_set(folder, files, info)
    except OSError as exc:  # disk full, a folder made read-only meanwhile: one line
        raise UserError(f"output folder {short(str(folder), 200)}: cannot write the results "
                        f"({exc.strerror or exc}{_filename(exc)}); the previous content is "
                        "left as it was") from None


def _filename(exc: OSError) -> str:
    return f": {short(str(exc.filename), 120)}" if exc.filename else ""


def _write_result_set(folder: Path, files: Mapping[str, Writer],
                      info: Mapping[str, object] | None) -> list[Path]:
    folder.parent.mkdir(parents=True, exist_ok=True)
    clean_stale(folder)
    tmp = folder.parent / f".{folder.name}.tmp-{os.getpid()}"
    old = folder.parent / f".{folder.name}.old-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        tmp.mkdir()
        for name, write in files.items():
            write(tmp / name)
        manifest = {"files": {name: _sha256(tmp / name) for name in files},
                    **dict(info or {})}
        text = json.dumps(manifest, indent=2, sort_keys=True, default=str) + "\n"
        (tmp / MANIFEST).write_text(text, encoding="utf-8")
        os.chmod(tmp, 0o777 & ~_umask())
        _fsync_dir(tmp)
        with deferred():
            had_old = folder.exists()
            if had_old:
                os.rename(folder, old)
            os.rename(tmp, folder)
            _fsync_dir(folder.parent)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if had_old:
        shutil.rmtree(old, ignore_errors=True)
    return [folder / name for name in (*files, MANIFEST)]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def verify(folder: str | os.PathLike[str]) -> list[str]:
    """Problems with the result set in ``folder`` (empty list: complete and intact)."""
    folder = Path(folder)
    path = folder / MANIFEST
    if not path.is_file():
        return [f"{folder}: no {MANIFEST}; not a complete result set"]
    manifest = json.loads(path.read_text(encoding="utf-8"))
    problems = []
    for name, digest in manifest.get("files", {}).items():
        f = folder / name
        if not f.is_file():
            problems.append(f"{f}: missing")
        elif _sha256(f) != digest:
            problems.append(f"{f}: checksum differs from {MANIFEST}")
    extra = sorted(p.name for p in folder.iterdir()
                   if p.name != MANIFEST and p.name not in manifest.get("files", {}))
    problems += [f"{folder / n}: not part of the result set" for n in extra]
    return problems


def add_to_result_set(folder: Path, files: Mapping[str, bytes],
                      remove: Iterable[str] = ()) -> list[Path]:
    """Add (or replace) ``files`` (name → bytes) in the complete result set ``folder``, and
    take the files named in ``remove`` out of it (a figure a new report leaves out must
    not stay behind from an earlier one).

    The files and ``manifest.json``, rewritten with their checksums, are written all or
    none (:func:`emulator.export.atomic_write_all`, the manifest renamed last), then the
    removed files are deleted, so :func:`verify` keeps holding, a failed write included;
    a report or trace made later from a run's files joins that run's set. Returns the
    paths written.
    """
    from emulator.export import atomic_write_all

    path = folder / MANIFEST
    if not path.is_file():
        raise UserError(f"{short(str(folder))}: no {MANIFEST}; expected the complete output "
                        "folder of a run")
    manifest = json.loads(path.read_text(encoding="utf-8"))
    listed = manifest.setdefault("files", {})
    gone = [name for name in remove if name not in files]
    for name in [*files, *gone]:
        _check_addable(name)
    for name, content in files.items():
        listed[name] = hashlib.sha256(content).hexdigest()
    for name in gone:
        listed.pop(name, None)
    text = json.dumps(manifest, indent=2, sort_keys=True, default=str) + "\n"
    try:
        # the files and the manifest all or none (the manifest renamed last): a failed
        # write leaves the set as its manifest describes it
        written = atomic_write_all(folder, {**files, MANIFEST: text.encode("utf-8")})[:-1]
        for name in gone:
            (folder / name).unlink(missing_ok=True)
    except OSError as exc:
        raise UserError(f"{short(str(folder), 200)}: cannot add files to this run's results "
                        f"({exc.strerror or exc}{_filename(exc)}); expected a writable run "
                        "folder, or --out elsewhere") from None
    return written


def _check_addable(name: str) -> None:
    """``ValueError`` unless a later command may write or remove ``name`` in a result set."""
    if "/" in name or name in (MANIFEST, "summary.json"):
        raise ValueError(f"{name!r}: not a name a result set can take")
