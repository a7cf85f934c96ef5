"""The composed config as plain YAML: what a run saves as ``config.yaml`` and ``--load RUN`` reads back.

omnifig's own export dill-pickles the config with every object built from it, and its ``to_yaml`` writes numpy
scalars as Python tags that no safe loader reads; a run's config is saved here with ``yaml.safe_dump`` of plain
values, without ``_meta`` and ``_base`` (a saved ``_base`` would be resolved again against today's files).
"""
from __future__ import annotations

from pathlib import Path

import yaml

UNSAVED_KEYS = ('_meta', '_base')


def to_plain(cfg) -> dict:
    """The composed config as plain, safely dumpable Python values (no ``_meta``/``_base``)."""
    data = cfg.to_dict() if hasattr(cfg, 'to_dict') else cfg.to_python() if hasattr(cfg, 'to_python') else dict(cfg)
    return {k: plain_value(v) for k, v in data.items() if k not in UNSAVED_KEYS}


def dump_yaml(data: dict) -> str:
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=None)


def plain_value(value):
    """A value as a config holds it: tuples as lists, numpy/torch scalars as numbers, paths as text."""
    if isinstance(value, dict):
        return {str(k): plain_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain_value(v) for v in value]
    if hasattr(value, 'item') and callable(value.item):     # numpy / torch scalars
        return value.item()
    if isinstance(value, Path):
        return str(value)
    return value
