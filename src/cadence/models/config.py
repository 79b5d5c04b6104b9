"""Typed, self-checking config dataclasses (the base of model and training configs).

A config is a frozen-free ``@dataclass`` subclassing :class:`Config`. On construction every
field is checked against its annotation (``int``, ``float``, ``bool``, ``str``, a ``Literal``,
``tuple[float, ...]`` or a nested ``Config``) and then against the class's own
:meth:`Config.validate`. Any problem raises :class:`~cadence.errors.CadenceError` (a
``ValueError``) whose one line names the field and the value received, as in MidiTok's
``TokenizerConfig``. ``from_dict`` rejects unknown keys the same way.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any, ClassVar, Literal, TypeVar, get_args, get_origin

from cadence.errors import CadenceError

C = TypeVar("C", bound="Config")


def config_error(section: str, name: str, value: object, expected: str) -> CadenceError:
    """The one-line error naming the field, the value received and what was expected."""
    where = ".".join(part for part in (section, name) if part)
    return CadenceError(f"config {where} = {value!r}: {expected}")


def _check_type(section: str, name: str, value: object, hint: object) -> object:
    """``value`` coerced to ``hint`` (int → float, list → tuple), or a CadenceError."""
    origin = get_origin(hint)
    if origin is Literal:
        allowed = get_args(hint)
        if value not in allowed:
            raise config_error(section, name, value, f"expected one of {list(allowed)}")
        return value
    if origin is tuple:
        args = get_args(hint)
        if not isinstance(value, list | tuple):
            raise config_error(section, name, value, "expected a list")
        elem = args[0]
        fixed = len(args) != 2 or args[1] is not Ellipsis  # tuple[a, b] rather than tuple[a, ...]
        if fixed and len(value) != len(args):
            raise config_error(section, name, value, f"expected {len(args)} values")
        return tuple(_check_type(section, name, v, elem) for v in value)
    if origin in (typing.Union, types.UnionType):  # only ``X | None`` is used
        args = [a for a in get_args(hint) if a is not type(None)]
        return None if value is None else _check_type(section, name, value, args[0])
    if hint is bool:
        if not isinstance(value, bool):
            raise config_error(section, name, value, "expected true or false")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise config_error(section, name, value, "expected an integer")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise config_error(section, name, value, "expected a number")
        if value != value or value in (float("inf"), float("-inf")):
            raise config_error(section, name, value, "expected a finite number")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise config_error(section, name, value, "expected a string")
        return value
    return value


@dataclasses.dataclass
class Config:
    """Base of every config: type checks on construction, dict round trip, unknown keys."""

    section: ClassVar[str] = ""

    def __post_init__(self) -> None:
        hints = typing.get_type_hints(type(self))
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, Config):
                continue
            setattr(self, f.name, _check_type(self.section, f.name, value, hints[f.name]))
        self.validate()

    def validate(self) -> None:
        """Range checks of the subclass; raise with :meth:`fail`."""

    def fail(self, name: str, expected: str) -> CadenceError:
        return config_error(self.section, name, getattr(self, name), expected)

    def require(self, name: str, ok: bool, expected: str) -> None:
        """Raise the field's error unless ``ok``."""
        if not ok:
            raise self.fail(name, expected)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON/TOML-able values (tuples become lists)."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, Config):
                value = value.to_dict()
            elif isinstance(value, tuple):
                value = list(value)
            out[f.name] = value
        return out

    @classmethod
    def from_dict(cls: type[C], data: dict[str, Any]) -> C:
        """Build from a dict; an unknown key raises a CadenceError naming it."""
        if not isinstance(data, dict):
            raise config_error(cls.section, "", data, "expected a table of settings")
        known = {f.name for f in dataclasses.fields(cls) if f.init}
        for key in data:
            if key not in known:
                raise config_error(
                    cls.section,
                    key,
                    data[key],
                    f"unknown key; known keys: {', '.join(sorted(known))}",
                )
        return cls(**data)

    def replace(self: C, **changes: Any) -> C:
        """A copy with some fields changed (checked again)."""
        return dataclasses.replace(self, **changes)
