"""Script settings: dataclasses whose fields are a script's top-level config keys.

A script declares its settings where it registers (``@register.script('eval-msp', settings=EvalMspSettings)``)
and reads them once with ``settings_from(cfg, EvalMspSettings)``: the defaults live in the dataclass, so the
same key cannot have two defaults in two places, ``fig <script> -h`` lists every key, and a misspelt key is
refused before anything runs (``framework/config/keys.py``).

How a field is written, which is everything ``-h`` and the checks read::

    @dataclass
    class TrainSettings:
        steps: int = setting(100_000, 'optimisation steps', min=0)
        seed: int = setting(0, 'random seed', hint='For several seeds use `fig sweep`.')
        schedule: str = 'none'            # none | cosine | step
        split: SplitSettings = field(default_factory=SplitSettings)     # a nested node: split.val, ...

- the **annotation** is the type a value must have: ``int`` (one integer; ``8.0`` is accepted as 8), ``float``
  (an int is accepted), ``bool``, ``str``, ``list``/``tuple`` (optionally ``list[int]``), ``X | None``; other
  annotations are not checked;
- the **help line** is ``metadata={'help': ...}`` (``setting(default, help)`` writes it), or else the comment at
  the end of the field's line;
- **limits** are metadata: ``min`` and ``max`` (inclusive), ``choices`` (a list of allowed values);
- ``hint`` (metadata) is a sentence added to any error about the key;
- a field whose annotation is itself a dataclass is a **nested node** (``--split.val 0.2``), checked the same way.
"""
from __future__ import annotations

import dataclasses
import functools
import inspect
import re
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

from .config.build import build_from_signature
from .errors import ConfigError

T = TypeVar('T')

# Top-level keys that any script may read without declaring them: where runs live and which one to load.
# Everything else a script reads belongs to a dataclass it declares with ``settings=``.
COMMON_KEYS = ('load', 'checkpoint', 'device', 'runs_root')
COMMON_HELP = {
    'load': 'a run to start from: its name under trained_nets/, a path, several runs or a folder of runs',
    'checkpoint': 'the checkpoint file of a loaded run (default last.pt)',
    'device': 'auto | cpu | cuda | cuda:N',
    'runs_root': 'where runs are written and looked up (default trained_nets/)',
}


@dataclasses.dataclass
class AnyKeys:
    """Declared by a script that reads the whole config as data (``fig show``): its keys are not checked."""


def setting(default: Any = dataclasses.MISSING, help: str = '', *, min: float | None = None,
            max: float | None = None, choices: typing.Sequence | None = None, hint: str | None = None,
            default_factory: Any = dataclasses.MISSING) -> Any:
    """A dataclass field with its help line and limits (``steps: int = setting(100, 'steps', min=0)``)."""
    metadata = {k: v for k, v in dict(help=help, min=min, max=max, choices=choices, hint=hint).items()
                if v is not None and v != ''}
    if isinstance(default, (list, dict, set)):
        default, default_factory = dataclasses.MISSING, (lambda value=default: type(value)(value))
    return dataclasses.field(default=default, default_factory=default_factory, metadata=metadata)


def settings_from(cfg, cls: type[T], prefix: str = '') -> T:
    """``cls`` built from the config's top-level keys of the same names (dataclass defaults otherwise).

    Values are checked against the fields' types and limits; ``prefix`` names a nested node in messages.
    """
    nested = {}
    for spec in fields_of(cls):
        if spec.nested is not None:
            node = cfg.peek(spec.name, None, silent=True)
            nested[spec.name] = spec.default if node is None else \
                settings_from(node, spec.nested, f'{prefix}{spec.name}.')
            continue
        value = cfg.pull(spec.name, _ABSENT, silent=True)
        if value is not _ABSENT:
            check_value(spec, value, prefix + spec.name)
    return build_from_signature(cls, cfg, kwargs=nested)


@dataclasses.dataclass(frozen=True)
class FieldSpec:
    """One key of a settings dataclass as ``-h`` shows it and the checks read it."""
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
def fields_of(cls: type) -> tuple[FieldSpec, ...]:
    """The keys of a settings dataclass, with types, defaults and help lines."""
    try:
        hints = typing.get_type_hints(cls)
    except Exception:           # an annotation that cannot be resolved is simply not checked
        hints = {}
    comments = _trailing_comments(cls)
    specs = []
    for f in dataclasses.fields(cls):
        kind = hints.get(f.name, Any)
        if f.default is not dataclasses.MISSING:
            default = f.default
        elif f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
        else:
            default = dataclasses.MISSING
        nested = kind if dataclasses.is_dataclass(kind) and isinstance(kind, type) else None
        help_line = f.metadata.get('help') or comments.get(f.name, '')
        if not help_line and nested is not None:
            help_line = (nested.__doc__ or '').strip().splitlines()[0] if nested.__doc__ else ''
        specs.append(FieldSpec(f.name, kind, default, help_line, f.metadata, nested))
    return tuple(specs)


def check_value(spec: FieldSpec, value: Any, key: str | None = None) -> None:
    """Refuse a value of the wrong type or outside the field's limits, naming the key and the fix."""
    key = key or spec.name
    hint = spec.metadata.get('hint')
    problem = _type_problem(spec.type, value)
    if problem is None:
        problem = _limit_problem(spec.metadata, value)
    if problem is None:
        return
    default = '' if spec.default is dataclasses.MISSING else f' (default {spec.default!r})'
    message = f'`--{key}` {problem}{default}, got {value!r}.'
    raise ConfigError(message + (f' {hint}' if hint else '') + f' Pass e.g. `--{key} {_example(spec)}`.')


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


_ABSENT = object()


def _type_problem(kind: Any, value: Any) -> str | None:
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        problems = [_type_problem(a, value) for a in args if a is not type(None)]
        return None if any(p is None for p in problems) else problems[0]
    if value is None:
        return None             # None stands for "unset" wherever a script allows it; the script decides
    if kind is int:
        if isinstance(value, bool) or not (isinstance(value, int) or (isinstance(value, float) and value.is_integer())):
            return 'expects one int' if isinstance(value, (list, tuple, dict)) else 'expects an int'
    elif kind is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return 'expects one number' if isinstance(value, (list, tuple, dict)) else 'expects a number'
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
        if item is not None and any(_type_problem(item, v) for v in value):
            return f'expects a list of {type_name(item)}'
    return None


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


_FIELD_LINE = re.compile(r'^\s+(\w+)\s*:[^#]*#\s*(.+?)\s*$')


def _trailing_comments(cls: type) -> dict[str, str]:
    """``{'schedule': 'none | cosine | step'}`` from ``schedule: str = 'none'  # none | cosine | step``."""
    try:
        source = inspect.getsource(cls)
    except (OSError, TypeError):
        return {}
    return {m.group(1): m.group(2) for m in map(_FIELD_LINE.match, source.splitlines()) if m}
