"""The models a scenario names, resolved once the whole scenario is read.

A model reference is a catalog name or a model described inline somewhere in the same
scenario (an :class:`~workloads.models.InlineModel`, which may be named again elsewhere:
a second service of the same model, a trace replayed as it). Resolving needs the whole
scenario, since a name may be used before its description; it happens here, after every
field is valid, and each problem is reported at its own field
(``tenants.eu.inference.0.model``) with a "did you mean" for a misspelt name. Catalog
names match whatever their case (``Llama3-70B`` is ``llama3-70b``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from pydantic import BaseModel, ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError

from emulator.errors import did_you_mean, short
from workloads.config import InferenceServiceConfig
from workloads.models import MODELS, InlineModel, model_names
from workloads.traces.mapping import GENERIC_MODEL

if TYPE_CHECKING:
    from emulator.scenario import Scenario

__all__ = ["resolve_models"]

Loc = tuple[str | int, ...]


def _references(scenario: Scenario) -> Iterator[tuple[BaseModel, int | None, Loc, bool]]:
    """Every model reference: (config holding it, index in its list or ``None``, its
    location, whether ``generic`` is allowed there)."""
    for tenant_name, tenant in scenario.tenants.items():
        base: Loc = ("tenants", tenant_name)
        for i, svc in enumerate(tenant.inference):
            yield svc, None, (*base, "inference", i, "model"), False
        for i, job in enumerate(tenant.jobs):
            yield job, None, (*base, "jobs", i, "model"), True
        for i, tr in enumerate(tenant.traces):
            yield tr, None, (*base, "traces", i, "model"), True
        for i, wl in enumerate(tenant.training):
            loc: Loc = (*base, "training", i, "model")
            if isinstance(wl.model, str):
                yield wl, None, loc, False
            else:
                for k in range(len(wl.model)):
                    yield wl, k, (*loc, k), False


def _get(config: BaseModel, index: int | None) -> str:
    value = config.model  # type: ignore[attr-defined]
    return value if index is None else value[index]


def _set(config: BaseModel, index: int | None, value: str) -> None:
    """Replace a reference by what it resolves to, in place (the configs are frozen; this
    runs while the scenario is being validated, before anything else can read it)."""
    if index is None:
        object.__setattr__(config, "model", value)
    else:
        names = list(config.model)  # type: ignore[attr-defined]
        names[index] = value
        object.__setattr__(config, "model", names)


def _error(loc: Loc, value: object, message: str) -> ValidationError:
    return ValidationError.from_exception_data("Scenario", [InitErrorDetails(
        type=PydanticCustomError("value_error", "got {value}; expected {expected}",
                                 {"value": short(value), "expected": message}),
        loc=loc, input=value)])


def _recheck(config: BaseModel, loc: Loc) -> None:
    """Run a service's checks against its model again once the reference is resolved (its
    own validation could not look the name up), errors located under ``loc``'s parent."""
    if not isinstance(config, InferenceServiceConfig):
        return
    try:
        config._tokens_within_context()
    except ValidationError as exc:
        raise ValidationError.from_exception_data("Scenario", [InitErrorDetails(
            type=PydanticCustomError(e["type"], "{msg}", {"msg": e["msg"]}),
            loc=(*loc[:-1], *e["loc"]),
            input=e["input"]) for e in exc.errors(include_url=False)]) from None


def resolve_models(scenario: Scenario) -> None:
    """Check every model reference of ``scenario`` and resolve names of inline models and
    catalog names in another case; raises :class:`pydantic.ValidationError` located at the
    first reference that is unknown, or that describes a name differently from an earlier
    description."""
    inline: dict[str, tuple[InlineModel, Loc]] = {}
    for config, index, loc, _ in _references(scenario):
        name = _get(config, index)
        if not isinstance(name, InlineModel):
            continue
        first = inline.setdefault(name, (name, loc))
        if first[0].spec != name.spec:
            where = ".".join(str(p) for p in first[1])
            raise _error(loc, str(name), f"one description per model name (model {str(name)!r} "
                                         f"is described differently at {where}); give one of "
                                         "them another name")
    by_case = {n.lower(): n for n in MODELS} | {n.lower(): n for n in inline}
    for config, index, loc, generic_ok in _references(scenario):
        name = _get(config, index)
        if isinstance(name, InlineModel) or (name in MODELS and name not in inline):
            continue
        if name in inline:
            _set(config, index, inline[name][0])
            _recheck(config, loc)
            continue
        if generic_ok and name == GENERIC_MODEL:
            continue
        canonical = by_case.get(name.lower())
        if canonical is not None:
            _set(config, index, inline[canonical][0] if canonical in inline else canonical)
            _recheck(config, loc)
            continue
        known = sorted({*model_names(), *inline})
        raise _error(loc, name, f"a catalog model ({', '.join(known)}) or one described inline "
                                f"in the scenario{did_you_mean(name, known)}")
