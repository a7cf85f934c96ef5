"""Reading YAML as the config files and flags need it: ``1e-3`` is a number, and a broken file names itself.

YAML 1.1 (PyYAML) reads ``1e-3`` as a string; config files, a run's ``config.yaml`` and command-line values are
read with a loader that takes every float literal as a float.
"""
from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import yaml

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
    """Parse YAML text, or a YAML file; a broken or unreadable file names itself and the line in the error."""
    if isinstance(text_or_path, Path):
        try:
            text = text_or_path.read_text(encoding='utf-8')
        except UnicodeDecodeError:
            raise ConfigError(f'{text_or_path} is not a text file (it is not UTF-8), so it cannot be a YAML config. '
                              f'Restore it, or remove it and compose the run again.') from None
        try:
            return yaml.load(text, Loader=_YamlLoader)
        except yaml.YAMLError as exc:
            raise ConfigError(f'{text_or_path} is not valid YAML: {_describe(exc)}. Fix that line of the file.') \
                from None
    return yaml.load(io.StringIO(text_or_path), Loader=_YamlLoader)


def parse_flag_value(text: str) -> Any:
    """A command-line value: YAML where it parses (``4``, ``1e-3``, ``[1, 2]``), else the text itself
    (``--run_name @exp1``); a type check downstream refuses text where a number or list is needed."""
    try:
        return load_yaml(text)
    except yaml.YAMLError:
        return text


def _describe(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, 'problem_mark', None)
    problem = getattr(exc, 'problem', None) or str(exc).splitlines()[0]
    return f'{problem} (line {mark.line + 1}, column {mark.column + 1})' if mark is not None else problem
