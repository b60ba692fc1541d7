"""Training job specs by job id, held as columns: a spec object is made when asked for.

A month of a campus workload is a million jobs; a :class:`~workloads.spec.TrainingJobSpec`
object each (with its name and boxed floats) cost about 400 bytes per job for the whole
run. Jobs of one synthetic workload share every field but a few drawn ones, so
:class:`JobSpecs` keeps, per workload (a :class:`StreamSource`), the drawn arrays, and per
job only which source it came from and its index there (6 bytes). Explicit and replayed
jobs (a :class:`ListSource`) stay objects. ``specs[i]`` makes job ``i``'s spec, equal field
for field to the one a list would hold; :meth:`JobSpecs.values` reads one field of every
job without making any.
"""

from __future__ import annotations

import dataclasses
from array import array
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from workloads.spec import TrainingJobSpec

__all__ = ["HEAD_FIELDS", "JobHead", "JobSpecs", "ListSource", "StreamSource"]

HEAD_FIELDS = ("name", "submit_s", "n_gpus", "tp", "priority", "preemptible")
"""The fields a job needs while it waits in the queue (see :meth:`JobSpecs.head`)."""

JobHead = tuple[str, float, int, int, int, bool]


def slot_maker(cls: type) -> Callable[[Sequence[Any]], Any]:
    """A function making an instance of the slotted dataclass ``cls`` from the values of
    all its fields in order, equal field for field to ``cls(*values)``.

    It sets the slots directly (one descriptor call per field), where a frozen dataclass's
    ``__init__`` goes through ``object.__setattr__`` for each (about a third slower for
    the 29 fields of a :class:`~workloads.spec.TrainingJobSpec`). For classes without
    ``__post_init__`` (its own or inherited), field converters or fields outside
    ``__init__`` only (checked).
    """
    fields = dataclasses.fields(cls)
    if (hasattr(cls, "__post_init__") or not getattr(cls, "__slots__", None)
            or not all(f.init for f in fields)):
        raise TypeError(f"{cls.__name__}: no direct slot maker (needs slots, every field "
                        "in __init__, no __post_init__)")
    setters = tuple(getattr(cls, f.name).__set__ for f in fields)
    new = object.__new__

    def make(values: Sequence[Any]) -> Any:
        obj = new(cls)
        for put, value in zip(setters, values, strict=True):
            put(obj, value)
        return obj

    return make


class ListSource:
    """Ready-made specs (explicit jobs, replayed traces)."""

    def __init__(self, specs: list[TrainingJobSpec]) -> None:
        self.specs = specs

    def __len__(self) -> int:
        return len(self.specs)

    def spec(self, k: int, job_id: int) -> TrainingJobSpec:
        """The ``k``-th spec (its ``job_id`` was set when the jobs were numbered)."""
        return self.specs[k]

    def values(self, name: str) -> list[Any]:
        """Field ``name`` of every spec, in source order."""
        return [getattr(s, name) for s in self.specs]

    def head(self, k: int) -> JobHead | None:
        """``None``: the spec is already made; read it."""
        return None


class StreamSource:
    """One synthetic workload's jobs: fields shared by all, plus the drawn ones per job.

    ``template`` holds the shared fields (it is job 0 of the stream); per job ``k``:
    ``submit_s[k]`` (s), ``model_idx[k]`` into ``models``, ``gpus[k]`` and ``tokens[k]``.
    Job ``k`` is named ``{prefix}-{k}`` and has ``dp = gpus // (tp · pp)``.
    """

    VARYING = ("job_id", "name", "model", "submit_s", "n_gpus", "dp", "tokens")

    def __init__(self, template: TrainingJobSpec, prefix: str, models: Sequence[str],
                 submit_s: np.ndarray, model_idx: np.ndarray, gpus: np.ndarray,
                 tokens: np.ndarray) -> None:
        self.template = template
        self.prefix = prefix
        self.models = list(models)
        # array.array: indexing one entry gives a Python number at once (a spec is made
        # per arrival); numpy reads the same buffers for whole columns
        self.submit_s = array("d", np.asarray(submit_s, dtype=np.float64).tobytes())
        self.model_idx = array("q", np.asarray(model_idx, dtype=np.int64).tobytes())
        self.gpus = array("q", np.asarray(gpus, dtype=np.int64).tobytes())
        self.tokens = array("d", np.asarray(tokens, dtype=np.float64).tobytes())
        self._par = template.tp * template.pp
        names = [f.name for f in dataclasses.fields(template)]
        self._values = [getattr(template, f) for f in names]
        (self._at_job_id, self._at_name, self._at_model, self._at_submit, self._at_gpus,
         self._at_dp, self._at_tokens) = (names.index(f) for f in self.VARYING)

    def __len__(self) -> int:
        return len(self.submit_s)

    def spec(self, k: int, job_id: int) -> TrainingJobSpec:
        """Job ``k`` of the stream, numbered ``job_id``."""
        gpus = self.gpus[k]
        v = self._values.copy()  # the template's fields in order; positional: faster
        v[self._at_job_id] = job_id
        v[self._at_name] = f"{self.prefix}-{k}"
        v[self._at_model] = self.models[self.model_idx[k]]
        v[self._at_submit] = self.submit_s[k]
        v[self._at_gpus] = gpus
        v[self._at_dp] = gpus // self._par
        v[self._at_tokens] = self.tokens[k]
        return _make_spec(v)  # TrainingJobSpec(*v), its slots set directly

    def head(self, k: int) -> JobHead:
        """The fields of job ``k`` that queueing needs, without making its spec."""
        t = self.template
        return (f"{self.prefix}-{k}", self.submit_s[k], self.gpus[k], t.tp, t.priority,
                t.preemptible)

    def values(self, name: str) -> list[Any]:
        """Field ``name`` of every job of the stream, in stream order."""
        n = len(self)
        if name == "submit_s":
            return self.submit_s.tolist()
        if name == "n_gpus":
            return self.gpus.tolist()
        if name == "dp":
            return [g // self._par for g in self.gpus]
        if name == "tokens":
            return self.tokens.tolist()
        if name == "model":
            return [self.models[i] for i in self.model_idx]
        if name == "name":
            return [f"{self.prefix}-{k}" for k in range(n)]
        if name == "job_id":
            raise ValueError("job ids are given when the jobs are numbered")
        return [getattr(self.template, name)] * n


_make_spec = slot_maker(TrainingJobSpec)

Source = ListSource | StreamSource


class JobSpecs(Sequence[TrainingJobSpec]):
    """Every training job's spec by job id (``0 .. n-1``), from a few sources."""

    def __init__(self, sources: Sequence[Source], source_of: np.ndarray, index_in: np.ndarray,
                 adjust: Callable[[TrainingJobSpec], TrainingJobSpec] | None = None,
                 adjusted: tuple[str, ...] = ()) -> None:
        """Job ``i`` is ``sources[source_of[i]]``'s entry ``index_in[i]``; ``adjust``, if
        given, is applied to every spec made (changing only the fields ``adjusted``)."""
        self.sources = list(sources)
        self.source_of = np.asarray(source_of, dtype=np.int16)
        self.index_in = np.asarray(index_in, dtype=np.int32)
        self._src = array("h", self.source_of.tobytes())  # quick one-entry reads
        self._idx = array("i", self.index_in.tobytes())
        self.adjust = adjust
        self.adjusted = adjusted
        self._head_adjusted = any(f in adjusted for f in HEAD_FIELDS)

    @classmethod
    def ordered(cls, sources: Sequence[Source]) -> JobSpecs:
        """The jobs of ``sources`` (numbered in that order, then within each) sorted by
        ``(submit time, that number)`` and renumbered ``0, 1, …``; list sources' specs get
        their new ``job_id`` set."""
        sizes = [len(s) for s in sources]
        src = np.repeat(np.arange(len(sources), dtype=np.int16), sizes)
        idx = np.concatenate([np.arange(n, dtype=np.int32) for n in sizes]) if sizes \
            else np.empty(0, dtype=np.int32)
        submit = np.concatenate([np.asarray(s.values("submit_s"), dtype=np.float64)
                                 for s in sources]) if sources else np.empty(0)
        first = np.arange(submit.size)  # the number each job had before sorting
        order = np.lexsort((first, submit))
        out = cls(sources, src[order], idx[order])
        listed = [s for s, source in enumerate(sources) if isinstance(source, ListSource)]
        for i in np.flatnonzero(np.isin(out.source_of, listed)).tolist():
            spec = sources[int(out.source_of[i])].spec(int(out.index_in[i]), i)
            object.__setattr__(spec, "job_id", i)  # made here and shared with no one yet
        return out

    @classmethod
    def of(cls, specs: Sequence[TrainingJobSpec]) -> JobSpecs:
        """Specs already numbered ``0, 1, …`` in order."""
        n = len(specs)
        return cls([ListSource(list(specs))], np.zeros(n, dtype=np.int16),
                   np.arange(n, dtype=np.int32))

    def with_adjustment(self, adjust: Callable[[TrainingJobSpec], TrainingJobSpec],
                        fields: tuple[str, ...]) -> JobSpecs:
        """The same jobs with ``adjust`` applied to each spec made (it may change only
        ``fields``)."""
        return JobSpecs(self.sources, self.source_of, self.index_in, adjust, fields)

    def __len__(self) -> int:
        return int(self.source_of.size)

    def __getitem__(self, i: int | slice) -> Any:  # type: ignore[override]
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        i = int(i)
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(i)
        spec = self.sources[self._src[i]].spec(self._idx[i], i)
        return spec if self.adjust is None else self.adjust(spec)

    def __iter__(self) -> Iterator[TrainingJobSpec]:
        for i in range(len(self)):
            yield self[i]

    def head(self, i: int) -> JobHead | None:
        """Job ``i``'s :data:`HEAD_FIELDS` without making its spec, or ``None`` when making
        it is no dearer (an explicit job's spec exists) or the adjustment changes one of
        them. Most jobs of a deep queue never start, so their specs need never be made."""
        if self._head_adjusted:
            return None
        return self.sources[self._src[i]].head(self._idx[i])

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence) or isinstance(other, str):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other,
                                                                         strict=True))

    __hash__ = None  # type: ignore[assignment]

    def values(self, name: str) -> list[Any]:
        """Field ``name`` of every job, in job order, without making the specs (except for
        a field the adjustment changes)."""
        if name in self.adjusted or name == "job_id":
            return [getattr(s, name) for s in self]
        out = np.empty(len(self), dtype=object)
        for s, source in enumerate(self.sources):
            rows = np.flatnonzero(self.source_of == s)
            if rows.size:
                vals = np.fromiter(source.values(name), dtype=object, count=len(source))
                out[rows] = vals[self.index_in[rows]]
        return out.tolist()
