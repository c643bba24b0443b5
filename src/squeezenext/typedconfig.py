"""One validation mechanism for every typed configuration: training, hardware, network specs, search spaces.

A configuration is a frozen dataclass whose annotations say what each field holds. :func:`check_fields`
checks an instance against them (choices of a ``Literal``, ``bool``, integers that are not bools, finite
numbers, strings, tuples element by element, nested dataclasses); :func:`from_mapping` builds an instance
from a YAML mapping, refusing unknown and missing keys and naming the source in every message.
"""

from __future__ import annotations

import dataclasses
import math
import types
from collections.abc import Collection, Mapping
from typing import Any, Literal, TypeVar, Union, get_args, get_origin, get_type_hints

from squeezenext.errors import SqueezeNextError

T = TypeVar("T")


def is_int(value: object) -> bool:
    """An integer that is not a bool (``True`` is an ``int`` in Python, never a count here)."""
    return isinstance(value, int) and not isinstance(value, bool)


def describe(expected: Any) -> str:
    """A type annotation in words (``true or false``, ``one of a, b``, ``a list of integers``)."""
    origin = get_origin(expected)
    if origin is Literal:
        return "one of " + ", ".join(map(str, get_args(expected)))
    if origin is tuple:
        items = get_args(expected)
        element = items[0]
        count = "" if len(items) == 2 and items[1] is Ellipsis else f"{len(items)} "
        if get_origin(element) is Literal:
            return f"a list of {count}values from {', '.join(map(str, get_args(element)))}"
        return f"a list of {count}{describe(element).removeprefix('a ').removeprefix('an ')}s"
    if origin in (Union, types.UnionType):
        return " or ".join(describe(option) for option in get_args(expected))
    return {
        bool: "true or false",
        int: "an integer",
        float: "a finite number",
        str: "a string",
        type(None): "null",
    }.get(expected, getattr(expected, "__name__", str(expected)))


def matches(value: Any, expected: Any) -> bool:
    """Whether ``value`` is of the annotated type (ints count as floats; bools never count as numbers)."""
    origin = get_origin(expected)
    if origin is Literal:
        return any(value == choice and type(value) is type(choice) for choice in get_args(expected))
    if origin is tuple:
        items = get_args(expected)
        if not isinstance(value, tuple):
            return False
        if len(items) == 2 and items[1] is Ellipsis:
            return all(matches(v, items[0]) for v in value)
        return len(value) == len(items) and all(matches(v, t) for v, t in zip(value, items, strict=True))
    if origin in (Union, types.UnionType):
        return any(matches(value, option) for option in get_args(expected))
    if expected is bool:
        return isinstance(value, bool)
    if expected is int:
        return is_int(value)
    if expected is float:
        return (is_int(value) or isinstance(value, float)) and math.isfinite(value)
    if expected is type(None):
        return value is None
    return isinstance(value, expected)


def check_fields(instance: Any, error: type[Exception], skip: Collection[str] = ()) -> None:
    """Raise ``error`` naming the first field whose value does not match its annotation."""
    hints = get_type_hints(type(instance))
    for item in dataclasses.fields(instance):
        if item.name in skip:
            continue
        value = getattr(instance, item.name)
        if not matches(value, hints[item.name]):
            raise error(f"{item.name} must be {describe(hints[item.name])}, got {value!r}")


def _convert(value: Any, expected: Any, source: str, key: str, error: type[Exception]) -> Any:
    """YAML's lists become tuples and nested mappings become dataclasses, as the annotation says."""
    origin = get_origin(expected)
    if origin is tuple and isinstance(value, list):
        items = get_args(expected)
        element_types = [items[0]] * len(value) if len(items) == 2 and items[1] is Ellipsis else list(items)
        if len(element_types) != len(value):
            return tuple(value)  # the length is reported by check_fields
        return tuple(_convert(v, t, source, key, error) for v, t in zip(value, element_types, strict=True))
    if dataclasses.is_dataclass(expected) and isinstance(expected, type):
        return from_mapping(expected, value, f"{source}: {key}", error)
    return value


def _has_no_default(item: dataclasses.Field[Any]) -> bool:
    return item.default is dataclasses.MISSING and item.default_factory is dataclasses.MISSING


def from_mapping(cls: type[T], data: Any, source: str, error: type[Exception], required: Collection[str] = ()) -> T:
    """An instance of the dataclass ``cls`` from a mapping; unknown or missing keys and wrong types raise
    ``error`` with ``source`` (a file name, ``preset X``, ...) in front of the message."""
    if not isinstance(data, Mapping):
        raise error(f"{source}: expected a mapping of {cls.__name__} fields, got {type(data).__name__}")
    hints = get_type_hints(cls)
    names = [item.name for item in dataclasses.fields(cls)]  # type: ignore[arg-type]
    unknown = sorted(str(key) for key in data if key not in names)
    if unknown:
        raise error(f"{source}: unknown key(s) {', '.join(unknown)}; valid keys: {', '.join(names)}")
    needed = [*required, *(item.name for item in dataclasses.fields(cls) if _has_no_default(item))]  # type: ignore[arg-type]
    missing = list(dict.fromkeys(name for name in needed if name not in data))
    if missing:
        raise error(f"{source}: missing key(s) {', '.join(missing)}; it must give {', '.join(dict.fromkeys(needed))}")
    values = {key: _convert(value, hints[key], source, key, error) for key, value in data.items()}
    try:
        return cls(**values)
    except SqueezeNextError as problem:
        if str(problem).startswith(source):
            raise
        raise error(f"{source}: {problem}") from None
