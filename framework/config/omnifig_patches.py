"""Patches on omnifig 1.0.10 internals, pinned by ``tests/test_config.py``.

- YAML 1.1 reads ``1e-3`` as a string; config files and command-line values are read with a loader that takes
  every float literal as a float.
- omnifig merges a list over a list index by index (``[9]`` over ``[1, 2, 3]`` gives ``[9, 2, 3]``); here a
  list replaces a list, as a YAML reader expects.
"""
from __future__ import annotations

from pathlib import Path

from omnifig.config.manager import ConfigManager
from omnifig.config.nodes import ConfigDenseNode, ConfigNode

from .yaml_values import load_yaml, parse_flag_value


def _load_raw_config(self, path):
    if Path(path).suffix in ('.yaml', '.yml'):
        return load_yaml(Path(path))
    return _original_load_raw_config(self, path)


def _parse_raw_arg(self, arg: str):
    """A command-line value as YAML; text that is not YAML stays text (``--run_name @exp1``)."""
    value = parse_flag_value(arg)
    return None if isinstance(value, str) and value in self._config_nones else value


_original_load_raw_config = ConfigManager.load_raw_config
ConfigManager.load_raw_config = _load_raw_config
ConfigManager._parse_raw_arg = _parse_raw_arg


# --------------------------------------------------------------------------- lists replace lists

_original_update = ConfigNode.update


def _list_replacing_update(self, update, *, clear_product=True):
    if isinstance(update, ConfigDenseNode):
        for key in reversed([k for k, _ in self.named_children()]):
            self.remove(key)
    return _original_update(self, update, clear_product=clear_product)


ConfigDenseNode.update = _list_replacing_update
