"""Policy look-up: built-in names or ``"package.module:ClassName"`` plug-ins.

Only the composition root (:mod:`emulator.build`) calls these. A bad plug-in reference
(missing module or class, not a policy class) is a one-line :class:`UserError` naming it.
A plug-in class that sets no ``name`` of its own is named by its reference, so the engine's
:class:`~emulator.policies.base.PolicyError` (wrong return type, a decision that
over-allocates) names it too.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import site
import sys
import sysconfig
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar

from emulator.errors import UserError
from emulator.placement import PackPlacement, PlacementPolicy, SpreadPlacement
from emulator.policies.backfill import EasyBackfillPolicy
from emulator.policies.base import QueuePolicy
from emulator.policies.dlas_gpu import DiscretisedLasPolicy
from emulator.policies.fairshare import FairSharePolicy
from emulator.policies.fifo import FifoPolicy
from emulator.policies.las import LeastAttainedServicePolicy
from emulator.policies.max_min_fairness import MaxMinFairnessPolicy
from emulator.policies.max_min_fairness_het import MaxMinFairnessHetPolicy
from emulator.policies.priority import PriorityPolicy
from emulator.policies.shortest_gpu_time import ShortestGpuTimePolicy
from emulator.policies.sjf import ShortestJobFirstPolicy
from emulator.policies.smallest_gpu_first import SmallestGpuFirstPolicy
from emulator.policies.srtf import ShortestRemainingTimeFirstPolicy

__all__ = ["PLACEMENT_POLICIES", "QUEUE_POLICIES", "make_placement", "make_queue_policy",
           "plugin_sources"]

QUEUE_POLICIES: dict[str, type[QueuePolicy]] = {
    "fifo": FifoPolicy,
    "backfill": EasyBackfillPolicy,
    "priority": PriorityPolicy,
    "sjf": ShortestJobFirstPolicy,
    "srtf": ShortestRemainingTimeFirstPolicy,
    "las": LeastAttainedServicePolicy,
    "fairshare": FairSharePolicy,
    # The Tiresias simulator's policies under their own names (docs/reproductions.md).
    "smallest-gpu-first": SmallestGpuFirstPolicy,
    "shortest-gpu-time": ShortestGpuTimePolicy,
    "dlas-gpu": DiscretisedLasPolicy,
    # Gavel's max-min fairness (LP by SciPy HiGHS), agnostic and heterogeneity-aware.
    "max-min-fairness": MaxMinFairnessPolicy,
    "max-min-fairness-het": MaxMinFairnessHetPolicy,
}
PLACEMENT_POLICIES: dict[str, type[PlacementPolicy]] = {
    "pack": PackPlacement,
    "spread": SpreadPlacement,
}


def _load_class(ref: str, field: str) -> type:
    module_name, _, class_name = ref.partition(":")
    if not module_name or not class_name:
        raise UserError(f"{field}: {ref!r} is not a policy; expected a built-in name or "
                        "'package.module:ClassName'")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # a plug-in's SyntaxError, or any error at import time
        raise UserError(f"{field}: cannot import module {module_name!r} for policy "
                        f"{ref!r} ({type(exc).__name__}: {exc})") from None
    cls = getattr(module, class_name, None)
    if cls is None or not isinstance(cls, type):
        raise UserError(f"{field}: module {module_name!r} has no class {class_name!r} "
                        f"(policy {ref!r})")
    return cls


def _module_files(module: Any) -> list[Path]:
    """The source files of an imported ``module``: its file, or every ``.py`` file of its
    package when it is one (``__init__.py``)."""
    origin = getattr(module, "__file__", None)
    if not origin:
        return []
    path = Path(origin)
    if path.name == "__init__.py":
        return sorted(path.parent.rglob("*.py"))
    return [path]


def plugin_sources(queue: str | Sequence[str], placement: str) -> list[Path]:
    """The source files of the plug-in policies a scenario names (``"module:Class"`` in
    ``scheduler.queue``, in a planned ``policy`` switch (``queue`` may list several), or in
    ``scheduler.placement``; built-in names have none).

    Each name is resolved here (a plug-in imported, its class looked up), so an unknown
    name or a missing module or class is its one-line :class:`UserError` before any run;
    the files let a cache key follow an edit of the policy. The user modules a plug-in
    module uses (imported whole, or a function or class taken from them), and those they
    use in turn, are included; the standard library, installed packages and this
    program's own packages are not (their versions are keyed elsewhere).
    """
    files: list[Path] = []
    queues = [queue] if isinstance(queue, str) else list(queue)
    refs = [(q, _queue_class(q)) for q in queues]
    refs.append((placement, _placement_class(placement)))
    for ref, cls in refs:
        if ref in QUEUE_POLICIES or ref in PLACEMENT_POLICIES:
            continue
        for name in dict.fromkeys((ref.partition(":")[0], cls.__module__)):
            for module in _user_modules(sys.modules.get(name)):
                files += [f for f in _module_files(module) if f not in files]
    return files


def _user_modules(root: Any) -> list[Any]:
    """``root`` and the user modules it reaches through its globals (a module object, or
    a function or class defined in one), transitively; none of the standard library, of
    installed packages or of this program (see :func:`_is_user_module`)."""
    if root is None:
        return []
    seen: dict[str, Any] = {root.__name__: root}
    todo = [root]
    while todo:
        module = todo.pop()
        for value in list(vars(module).values()):
            if isinstance(value, ModuleType):
                found = value
            else:
                owner = getattr(value, "__module__", None)
                found = sys.modules.get(owner) if isinstance(owner, str) else None
            if found is not None and found.__name__ not in seen and _is_user_module(found):
                seen[found.__name__] = found
                todo.append(found)
    return list(seen.values())


_OWN_PACKAGES = ("emulator", "workloads", "topologies", "cupy_kernels")
"""This program's packages: their sources are keyed by the cache's code version."""


def _is_user_module(module: Any) -> bool:
    """Whether ``module`` is a source file of the user's (not built in, not of the
    standard library or an installed package, not this program's)."""
    origin = getattr(module, "__file__", None)
    if not origin or not str(origin).endswith(".py"):
        return False
    if module.__name__.partition(".")[0] in _OWN_PACKAGES:
        return False
    path = str(Path(origin).resolve())
    return not any(path.startswith(prefix) for prefix in _library_prefixes())


@functools.lru_cache(maxsize=1)
def _library_prefixes() -> tuple[str, ...]:
    """The folders of the standard library and of installed packages."""
    paths = sysconfig.get_paths()
    found = {str(Path(paths[k]).resolve()) for k in ("stdlib", "platstdlib", "purelib",
                                                      "platlib") if k in paths}
    found.update(str(Path(p).resolve()) for p in site.getsitepackages())
    return tuple(sorted(found))


def _class_of(ref: str, builtins: Mapping[str, type], field: str, noun: str) -> type:
    """The class ``ref`` names in ``field``: a built-in name of ``builtins`` or
    ``"module:Class"``; else a one-line :class:`UserError` (``noun``: what it is)."""
    if ref in builtins:
        return builtins[ref]
    if ":" in ref:
        return _load_class(ref, field)
    known = ", ".join(sorted(builtins))
    raise UserError(f"{field}: unknown {noun} {ref!r}; expected one of {known} "
                    "or 'package.module:ClassName'")


def _queue_class(ref: str) -> type:
    """The class of queue policy ``ref``: a built-in name or ``"module:Class"``."""
    return _class_of(ref, QUEUE_POLICIES, "scheduler.queue", "policy")


def _placement_class(ref: str) -> type:
    """The class of placement policy ``ref``: a built-in name or ``"module:Class"``."""
    return _class_of(ref, PLACEMENT_POLICIES, "scheduler.placement", "placement")


_P = TypeVar("_P")


def _named(plugin: _P, default: str, ref: str) -> _P:
    """``plugin``, named by its reference ``ref`` when its class keeps the base class's
    ``default`` name (or none), so that engine errors say which plug-in they mean."""
    if getattr(type(plugin), "name", None) in (None, default):
        with contextlib.suppress(AttributeError):
            plugin.name = ref  # type: ignore[attr-defined]
    return plugin


def make_queue_policy(ref: str, options: dict[str, Any]) -> QueuePolicy:
    """An instance of the queue policy named ``ref`` with keyword ``options``."""
    cls = _queue_class(ref)
    if not callable(getattr(cls, "decide", None)):
        raise UserError(f"scheduler.queue: {ref!r} has no decide(view) method")
    try:
        policy = cls(**options)
    except UserError:
        raise  # an option the policy refused, already one line naming it
    except (TypeError, ValueError) as exc:
        raise UserError(f"scheduler.options: policy {ref!r} rejected its options: {exc}") from None
    except Exception as exc:  # a plug-in's constructor failing otherwise: named, one line
        raise UserError(f"scheduler.queue: policy {ref!r} failed to start: "
                        f"{type(exc).__name__}: {exc}") from None
    return _named(policy, QueuePolicy.name, ref)


def make_placement(ref: str) -> PlacementPolicy:
    """An instance of the placement policy named ``ref``."""
    cls = _placement_class(ref)
    if ref in PLACEMENT_POLICIES:
        return cls()  # type: ignore[no-any-return]
    if not callable(getattr(cls, "place", None)):
        raise UserError(f"scheduler.placement: {ref!r} has no place(request, scratch) method")
    try:
        placement = cls()
    except Exception as exc:  # a plug-in's constructor failing: named, on one line
        raise UserError(f"scheduler.placement: placement {ref!r} failed to start: "
                        f"{type(exc).__name__}: {exc}") from None
    return _named(placement, PlacementPolicy.name, ref)
