"""The one validation path: every script setting and every component argument is a ``FieldSpec`` (type, default,
limits), and ``checked`` refuses or converts a value the same way for both.

A script's settings are dataclass fields (``framework/settings.py``); a component's are its constructor
arguments, whose annotation carries the limits::

    from framework.values import Count, Weight
    def __init__(self, latent_dim: Count = 12, reg_wt: Weight = 1.0, criterion: str = 'auto'): ...

- the **type** is the annotation, else the default's type: ``int`` (``8.0`` is accepted as 8), ``float`` (an int
  is accepted; NaN and infinities are refused unless the default is one), ``bool``, ``str``, ``list``/``tuple``
  (optionally ``list[int]``), ``X | None``; other types are not checked;
- **limits** are ``min``, ``max`` (inclusive) and ``choices``: ``setting(..., min=0)`` for a dataclass field,
  ``Annotated[float, Limits(min=0)]`` for an argument (``Weight`` and ``Count`` are the common two);
- ``hint`` is a sentence added to any error about the key.
"""
from __future__ import annotations

import dataclasses
import functools
import inspect
import math
import types
import typing
from pathlib import Path
from typing import Annotated, Any

from .errors import ConfigError

_LARGEST_EXACT_INT = 2 ** 53        # a float above this is no longer an exact integer (``--steps 1e20``)


@dataclasses.dataclass(frozen=True)
class Limits:
    """The range or choices of a component argument: ``Annotated[float, Limits(min=0)]``."""
    min: float | None = None
    max: float | None = None
    choices: tuple | None = None
    hint: str | None = None

    def as_metadata(self) -> dict:
        return {k: v for k, v in dataclasses.asdict(self).items() if v is not None}


Weight = Annotated[float, Limits(min=0)]        # a loss weight: the objective needs it non-negative
Count = Annotated[int, Limits(min=1)]           # a size such as latent_dim: at least one


@dataclasses.dataclass(frozen=True)
class FieldSpec:
    """One setting or argument as ``-h`` shows it and the checks read it."""
    name: str
    type: Any
    default: Any
    help: str
    metadata: typing.Mapping
    nested: type | None = None           # a settings dataclass describing a sub-node

    @property
    def type_name(self) -> str:
        return type_name(self.type)


@functools.lru_cache(maxsize=None)
def argument_specs(obj) -> dict[str, FieldSpec]:
    """The constructor arguments of a component (class or function) as specs, by name."""
    target = obj.__init__ if isinstance(obj, type) else obj
    try:
        hints = typing.get_type_hints(target, include_extras=True)
    except Exception:           # an annotation that cannot be resolved is simply not checked
        hints = {}
    specs = {}
    for p in inspect.signature(obj).parameters.values():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        default = dataclasses.MISSING if p.default is p.empty else p.default
        kind = hints.get(p.name, Any if default in (dataclasses.MISSING, None) else type(default))
        kind, metadata = unpack_annotated(kind)
        specs[p.name] = FieldSpec(p.name, kind, default, '', metadata)
    return specs


def unpack_annotated(kind: Any) -> tuple[Any, dict]:
    """``Annotated[float, Limits(min=0)]`` -> ``(float, {'min': 0})``; ``Weight | None`` -> ``(float | None, ...)``."""
    if typing.get_origin(kind) in (typing.Union, types.UnionType):
        parts = [unpack_annotated(arg) for arg in typing.get_args(kind)]
        metadata = {k: v for _, extra in parts for k, v in extra.items()}
        return typing.Union[tuple(base for base, _ in parts)], metadata
    if typing.get_origin(kind) is Annotated:
        base, *extras = typing.get_args(kind)
        metadata = {}
        for extra in extras:
            if isinstance(extra, Limits):
                metadata.update(extra.as_metadata())
        return base, metadata
    return kind, {}


def checked(spec: FieldSpec, value: Any, key: str | None = None) -> Any:
    """``value`` converted to its declared type (``8.0`` -> 8, ``[1, 2]`` -> a tuple); refused with the key
    and the fix when it does not fit."""
    check_value(spec, value, key)
    return convert(spec.type, value)


def check_value(spec: FieldSpec, value: Any, key: str | None = None) -> None:
    """Refuse a value of the wrong type or outside the field's limits, naming the key and the fix."""
    key = key or spec.name
    hint = spec.metadata.get('hint')
    problem = _type_problem(spec.type, value, spec.default)
    if problem is None:
        problem = _limit_problem(spec.metadata, value)
    if problem is None:
        return
    default = '' if spec.default is dataclasses.MISSING else f' (default {spec.default!r})'
    message = f'`--{key}` {problem}{default}, got {value!r}.'
    raise ConfigError(message + (f' {hint}' if hint else '') + f' Pass e.g. `--{key} {_example(spec)}`.')


def convert(kind: Any, value: Any) -> Any:
    """A checked value in the declared type: integral floats to int, ints to float, lists to tuples, numbers
    to text."""
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin in (typing.Union, types.UnionType):
        if value is None:
            return None
        for arg in args:
            if arg is not type(None) and _type_problem(arg, value, dataclasses.MISSING) is None:
                return convert(arg, value)
        return value
    if value is None or isinstance(value, bool):
        return value
    if kind is int and isinstance(value, float):
        return int(value)
    if kind is float and isinstance(value, int):
        return float(value)
    if (kind is tuple or origin is tuple) and isinstance(value, list):
        return tuple(value)
    if kind is str and isinstance(value, (int, float)):
        return str(value)                       # --ident 2 means the name "2"
    return value


def type_name(kind: Any) -> str:
    """``int``, ``float | None``, ``list[int]``: a type as ``-h`` prints it."""
    if kind is Any:
        return 'any'
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin in (typing.Union, types.UnionType):
        return ' | '.join(type_name(a) for a in args).replace('NoneType', 'None')
    if origin is not None:
        inner = ', '.join('...' if a is Ellipsis else type_name(a) for a in args)
        return f'{getattr(origin, "__name__", str(origin))}[{inner}]' if inner else getattr(origin, '__name__', '?')
    return getattr(kind, '__name__', str(kind))


def _type_problem(kind: Any, value: Any, default: Any) -> str | None:
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        problems = [_type_problem(a, value, default) for a in args if a is not type(None)]
        return None if any(p is None for p in problems) else problems[0]
    if value is None:
        return None             # None stands for "unset" wherever a script allows it; the script decides
    if kind is int:
        if isinstance(value, bool) or not (isinstance(value, int) or (isinstance(value, float) and value.is_integer())):
            return 'expects one int' if isinstance(value, (list, tuple, dict)) else 'expects an int'
        if isinstance(value, float) and abs(value) > _LARGEST_EXACT_INT:
            return 'expects an int of at most 2**53'
    elif kind is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return 'expects one number' if isinstance(value, (list, tuple, dict)) else 'expects a number'
        if not math.isfinite(value) and not _non_finite(default):
            return 'expects a finite number'
    elif kind is bool:
        if not isinstance(value, bool):
            return 'expects true or false'
    elif kind in (str, Path):
        if isinstance(value, (list, tuple, dict)):
            return 'expects one text value'
        if not isinstance(value, (str, Path, int, float)) or isinstance(value, bool):
            return 'expects a text value'           # a number is fine: --ident 2 means "2"
    elif kind in (list, tuple) or origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            return 'expects a list such as [1, 2]'
        item = args[0] if args and (origin is list or (len(args) == 2 and args[1] is Ellipsis)) else None
        if item is not None and any(_type_problem(item, v, dataclasses.MISSING) for v in value):
            return f'expects a list of {type_name(item)}'
    return None


def _non_finite(default: Any) -> bool:
    return isinstance(default, float) and not math.isfinite(default)


def _limit_problem(metadata: typing.Mapping, value: Any) -> str | None:
    low, high, choices = metadata.get('min'), metadata.get('max'), metadata.get('choices')
    if choices is not None and value not in choices:
        return f'must be one of {", ".join(str(c) for c in choices)}'
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if low is not None and value < low:
            return 'must be positive' if low == 1 else f'must be at least {low}'
        if high is not None and value > high:
            return f'must be at most {high}'
    return None


def _example(spec: FieldSpec) -> str:
    if spec.metadata.get('choices'):
        return str(spec.metadata['choices'][0])
    if spec.default is not dataclasses.MISSING and spec.default is not None:
        default = spec.default
        return str(default).lower() if isinstance(default, bool) else (
            f'"{list(default)}"' if isinstance(default, (list, tuple)) else str(default))
    return {'int': '1', 'float': '0.5', 'bool': 'true', 'str': 'NAME'}.get(spec.type_name.split(' ')[0], 'VALUE')
