"""Patches on omnifig 1.0.10 internals, pinned by ``tests/test_config.py``.

- YAML 1.1 reads ``1e-3`` as a string; config files and command-line values are read with a loader that takes
  every float literal as a float.
- omnifig merges a list over a list index by index (``[9]`` over ``[1, 2, 3]`` gives ``[9, 2, 3]``); here a
  list replaces a list, as a YAML reader expects.
"""
from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import yaml
from omnifig.config.manager import ConfigManager
from omnifig.config.nodes import ConfigDenseNode, ConfigNode

from ..errors import ConfigError


class _YamlLoader(getattr(yaml, 'CSafeLoader', yaml.SafeLoader)):     # libyaml's parser where installed
    """YAML 1.1 reads ``1e-3`` as a string; this loader reads every float literal as a float."""


_FLOAT = re.compile(r'''^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
    |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
    |\.[0-9_]+(?:[eE][-+][0-9]+)?
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN))$''', re.X)
_YamlLoader.yaml_implicit_resolvers = {k: list(v) for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()}
_YamlLoader.add_implicit_resolver('tag:yaml.org,2002:float', _FLOAT, list('-+0123456789.'))


def load_yaml(text_or_path: str | Path) -> Any:
    """Parse YAML text, or a YAML file, with the float fix; a broken file names itself in the error."""
    if isinstance(text_or_path, Path):
        try:
            return yaml.load(text_or_path.read_text(), Loader=_YamlLoader)
        except yaml.YAMLError as exc:
            raise ConfigError(f'{text_or_path} is not valid YAML: {exc}') from None
    return yaml.load(io.StringIO(text_or_path), Loader=_YamlLoader)


def _load_raw_config(self, path):
    if Path(path).suffix in ('.yaml', '.yml'):
        return load_yaml(Path(path))
    return _original_load_raw_config(self, path)


def _parse_raw_arg(self, arg: str):
    """A command-line value as YAML; text that is not YAML stays text (``fig sweep``'s ``[32,32],[16]``)."""
    try:
        value = load_yaml(arg)
    except yaml.YAMLError:
        value = arg
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
