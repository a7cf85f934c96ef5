"""Script settings: one dataclass per script, its fields the script's top-level config keys.

A script declares its settings where it registers (``@register.script('eval-msp', settings=EvalMspSettings)``)
and reads them once with ``settings_from(cfg, EvalMspSettings)``: the defaults live in the dataclass, so the
same key cannot have two defaults in two places, and ``fig <script> -h`` can list every key.
"""
from __future__ import annotations

from typing import TypeVar

from .config.build import build_from_signature

T = TypeVar('T')


def settings_from(cfg, cls: type[T]) -> T:
    """``cls`` built from the config's top-level keys of the same names (dataclass defaults otherwise)."""
    return build_from_signature(cls, cfg)


# Top-level keys that any script may read without declaring them: where runs live and which one to load.
# Everything else a script reads belongs to a dataclass it declares with ``settings=``.
COMMON_KEYS = ('load', 'checkpoint', 'device', 'runs_root')
