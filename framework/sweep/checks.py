"""The sweep's checks before anything runs: every grid point's config composes as ``fig train`` would read it.

Unknown configs and ``_type``s, keys that ``fig train`` does not read (with the closest names) and values of
the wrong type (``--steps abc``) fail at once, naming the grid point, instead of in one run's log an hour later.
"""
from __future__ import annotations

import inspect
from dataclasses import fields

from .. import registry
from ..config import coerce, compose, load_yaml, to_plain
from ..errors import ConfigError, FrameworkError
from ..settings import COMMON_KEYS
from .grid import Grid, Point, check_keys


def validate(grid: Grid, points: list[Point]) -> None:
    """Compose every point's config in this process, as ``fig train`` would, before anything runs.

    Catches unknown configs and ``_type``s, keys that ``fig train`` does not read (with the closest names),
    and values of the wrong type (``--steps abc``), and names the point that fails.
    """
    if not grid.configs:
        raise ConfigError('Name the configs to train, as for `fig train`: `fig sweep demo --seed 0,1,2`.')
    base = compose(*grid.configs)          # without the flags: a misspelt flag would add its own key
    check_keys(grid, known_keys(to_plain(base)), f'`fig train {" ".join(grid.configs)}`')
    for point in points:
        overrides = {**grid.fixed, **point.overrides}
        try:
            cfg = compose(*grid.configs, **{k: load_yaml(v) for k, v in overrides.items()})
            _check_types(to_plain(cfg))
        except FrameworkError as exc:
            raise ConfigError(f'Grid point {point.name} ({" ".join(point.flags())}): {exc}') from None


def known_keys(config: dict) -> set[str]:
    """The top-level and dotted keys ``fig train`` reads from this composed config.

    The composed keys themselves, the trainer's settings, the keys every script reads, and every constructor
    argument of every component in the config, as ``node.arg`` and at top level (omnifig looks a missing key
    up in the parent nodes, which is how a top-level ``reg_wt`` reaches the method). A dict without ``_type``
    (``split``, ``sequence``) is free-form: any key under it is accepted.
    """
    from ..scripts.common import RunNameSettings, SplitSettings
    from ..trainer import TrainSettings
    known = set(COMMON_KEYS) | {'resume', 'include_eval', 'eval_batches', 'dataset_tag', 'method_tag'}
    for cls in (TrainSettings, RunNameSettings, *registry.get('script', 'train').settings):
        known |= {f.name for f in fields(cls)}
    known |= {f'split.{f.name}' for f in fields(SplitSettings)}

    def walk(node: dict, prefix: str):
        for key, value in node.items():
            path = f'{prefix}{key}'
            known.add(path)
            if isinstance(value, dict):
                if value.get('_type') is None:
                    known.add(f'{path}.*')
                walk(value, f'{path}.')
        params = _params(node.get('_type'))
        known.update(f'{prefix}{p}' for p in params)
        known.update(params)
    walk(config, '')
    return known


def _params(type_name) -> list[str]:
    if not type_name:
        return []
    try:
        obj = registry.get(*registry.split_type(type_name)).obj
        return [p.name for p in inspect.signature(obj).parameters.values()
                if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    except (FrameworkError, TypeError, ValueError):
        return []


def _check_types(config: dict) -> None:
    """Values of the trainer's settings and of component arguments must fit their defaults' types."""
    from ..trainer import TrainSettings
    settings_params = inspect.signature(TrainSettings).parameters
    for key, value in config.items():
        if key in settings_params:
            coerce(value, settings_params[key])

    def walk(node: dict):
        type_name = node.get('_type')
        if type_name:
            obj = registry.get(*registry.split_type(type_name)).obj
            for p in inspect.signature(obj).parameters.values():
                if p.name in node and p.default is not p.empty:
                    coerce(node[p.name], p, None)
        for value in node.values():
            if isinstance(value, dict):
                walk(value)
    walk(config)
