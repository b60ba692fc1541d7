"""The field names a scenario model accepts at a location, for "did you mean" hints.

A misspelt optional key (``precison``) is an unknown field whose right spelling is not
missing, so the validation error alone cannot suggest it; walking the model's
annotations along the error's location can. Containers (lists, tuples, mappings) are
stepped through by index or key; a location part that names no field (a union's tag, a
mapping key) leaves the candidates as they are.
"""

from __future__ import annotations

import types
import typing
from typing import Annotated, Any, Union

from pydantic import BaseModel

__all__ = ["field_names_at"]


def _expand(annotation: Any) -> list[Any]:
    """The annotations ``annotation`` stands for: unions and ``Annotated`` unwrapped."""
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        return _expand(typing.get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        return [a for arg in typing.get_args(annotation) for a in _expand(arg)]
    return [annotation]


def _step(annotation: Any, key: object) -> list[Any] | None:
    """What ``annotation`` holds under ``key`` (``None``: nothing by that key)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        for name, field in annotation.model_fields.items():
            if key in (name, field.alias):
                return _expand(field.annotation)
        return None
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (list, tuple, set, frozenset) and args and isinstance(key, int):
        return _expand(args[0])
    if origin is dict and len(args) == 2 and isinstance(key, str):
        return _expand(args[1])
    return None


def field_names_at(model: type[BaseModel], loc: tuple[object, ...]) -> list[str]:
    """Field names (aliases where set) of the models that may sit at ``loc`` below
    ``model``; empty when the walk finds none."""
    candidates: list[Any] = [model]
    for key in loc:
        found = [a for c in candidates for a in (_step(c, key) or [])]
        if found:
            candidates = found
    names: list[str] = []
    for c in candidates:
        if isinstance(c, type) and issubclass(c, BaseModel):
            names += [field.alias or name for name, field in c.model_fields.items()]
    return sorted(set(names))
