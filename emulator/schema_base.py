"""The base of every scenario model: frozen, unknown keys rejected, numbers finite.

pydantic's lax mode would take ``median: true`` as 1 and ``1e400`` as infinity; a
scenario value like that is always a mistake, so the base refuses both (``bool`` is
accepted only where the field's type names ``bool``), and the error names the field.
"""

from __future__ import annotations

import types
import typing
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, StringConstraints, ValidationError, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from emulator.errors import PATTERN_WORDS, short

__all__ = ["LABEL_PATTERN", "Label", "ScenarioModel", "field_error", "mentions_bool"]

LABEL_PATTERN = r"^[^\[\]\s\x00-\x1f\x7f]{1,128}$"
"""A name shown in tables and logs: 1-128 characters, no whitespace, no control characters
and no square brackets (which terminal markup would read as a style)."""

PATTERN_WORDS[LABEL_PATTERN] = ("a name of 1-128 characters without spaces, control "
                                 "characters or square brackets")

Label = Annotated[str, StringConstraints(pattern=LABEL_PATTERN)]
"""A name matching :data:`LABEL_PATTERN`."""


def field_error(model: type[BaseModel] | str, loc: tuple[str | int, ...], value: object,
                expected: str, shown: str | None = None) -> ValidationError:
    """An error on the field ``loc`` (relative to the model being validated) for a check
    across fields, to raise from a ``model_validator``: it is reported at that field with
    its own value (``tenants.lab.training.0.gpus: got 12; expected …``), not at the model
    with the whole mapping. ``value`` is shown shortened (:func:`emulator.errors.short`),
    or as ``shown`` where given (a distribution by its mean)."""
    title = model if isinstance(model, str) else model.__name__
    return ValidationError.from_exception_data(title, [InitErrorDetails(
        type=PydanticCustomError("value_error", "got {value}; expected {expected}",
                                 {"value": short(value) if shown is None else shown,
                                  "expected": expected}),
        loc=loc, input=value)])


def mentions_bool(annotation: object) -> bool:
    """Whether a field's type annotation (recursively) admits ``bool``."""
    if annotation is bool or annotation is Any:
        return True
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return mentions_bool(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return any(mentions_bool(a) for a in typing.get_args(annotation))
    if origin is typing.Literal:
        return any(isinstance(a, bool) for a in typing.get_args(annotation))
    return False


class ScenarioModel(BaseModel):
    """Frozen, ``extra="forbid"``, no infinities or NaNs, no booleans as numbers."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _no_bool_numbers(cls, data: object) -> object:
        if isinstance(data, dict):
            for key, value in data.items():
                field = cls.model_fields.get(key) if isinstance(key, str) else None
                if (isinstance(value, bool) and field is not None
                        and not mentions_bool(field.annotation)):
                    raise ValueError(f"got {key}: {str(value).lower()}; expected a "
                                     f"{_kind(field.annotation)}, not true/false")
        return data


def _kind(annotation: object) -> str:
    text = str(annotation)
    if "float" in text or "int" in text:
        return "number"
    return "value of this field's type"
