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

- the **annotation** is the type a value must have, checked as every component argument is
  (``framework/values.py``: ``int``, ``float``, ``bool``, ``str``, ``list[int]``, ``X | None``, ...);
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
import typing
from typing import Any, TypeVar

from .config.saving import plain_value
from .errors import ConfigError
from .values import FieldSpec, check_value, checked, type_name  # noqa: F401  (re-exported: one validation path)

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


@dataclasses.dataclass
class SplitSettings:
    """How a dataset is split into train/val/test (top-level ``split:`` in the config)."""
    val: float = setting(0.1, 'fraction of the data held out for validation', min=0, max=1)
    test: float = setting(0.0, 'fraction of the data held out for testing', min=0, max=1)
    seed: int = setting(0, 'seed of the split (fixed, so every run of a dataset sees the same split)')


def settings_from(cfg, cls: type[T], prefix: str = '') -> T:
    """``cls`` built from the keys of the same names in ``cfg`` (a ``framework.config.Config`` node, or a dict).

    Values are checked against the fields' types and limits (``framework/values.py``); ``prefix`` names a
    nested node in messages. The defaults used are recorded in ``cfg``, so a run's saved config is complete.
    """
    if isinstance(cfg, dict):
        from .config.tree import Config
        cfg = Config(cfg)
    values = {}
    for spec in fields_of(cls):
        if spec.nested is not None:
            node = cfg.node(spec.name)
            if node is None and spec.name not in cfg:
                cfg.set_default(spec.name, {})
                node = cfg.node(spec.name)
            if node is None:
                raise ConfigError(f'`--{prefix}{spec.name}` must be a mapping of {spec.nested.__name__} keys '
                                  f'(`--{prefix}{spec.name}.KEY VALUE`), got {cfg.get(spec.name)!r}.')
            values[spec.name] = settings_from(node, spec.nested, f'{prefix}{spec.name}.')
            continue
        value = cfg.get(spec.name, _ABSENT)
        if value is _ABSENT:
            if spec.default is dataclasses.MISSING:
                raise ConfigError(f'`--{prefix}{spec.name}` is required: no config sets it.')
            cfg.set_default(spec.name, plain_value(spec.default))
            continue
        values[spec.name] = checked(spec, value, prefix + spec.name)
    return cls(**values)


@functools.lru_cache(maxsize=None)
def fields_of(cls: type) -> tuple[FieldSpec, ...]:
    """The keys of a settings dataclass, with types, defaults and help lines."""
    from .values import unpack_annotated
    try:
        hints = typing.get_type_hints(cls, include_extras=True)
    except Exception:           # an annotation that cannot be resolved is simply not checked
        hints = {}
    comments = _trailing_comments(cls)
    specs = []
    for f in dataclasses.fields(cls):
        kind, limits = unpack_annotated(hints.get(f.name, Any))
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
        specs.append(FieldSpec(f.name, kind, default, help_line, {**limits, **f.metadata}, nested))
    return tuple(specs)


_ABSENT = object()


_FIELD_LINE = re.compile(r'^\s+(\w+)\s*:[^#]*#\s*(.+?)\s*$')


def _trailing_comments(cls: type) -> dict[str, str]:
    """``{'schedule': 'none | cosine | step'}`` from ``schedule: str = 'none'  # none | cosine | step``."""
    try:
        source = inspect.getsource(cls)
    except (OSError, TypeError):
        return {}
    return {m.group(1): m.group(2) for m in map(_FIELD_LINE.match, source.splitlines()) if m}
