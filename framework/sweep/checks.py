"""The sweep's checks before anything runs: every grid point's config is checked as ``fig train`` checks it.

Unknown configs and ``_type``s, keys that ``fig train`` does not read (with the closest names) and values that
do not fit (``--steps abc``, ``--steps -5``) fail at once, naming the grid point, instead of in one run's log an
hour later. The check is the framework's own (``framework/config/keys.py``), so a sweep accepts exactly the
keys ``fig train`` accepts.
"""
from __future__ import annotations

from ..errors import ConfigError, FrameworkError
from .grid import Grid, Point


def validate(grid: Grid, points: list[Point]) -> None:
    """Check every point's ``fig train`` command in this process, as the command line would, before anything runs."""
    from ..cli import check_command
    if not grid.configs:
        raise ConfigError('Name the configs to train, as for `fig train`: `fig sweep demo --seed 0,1,2`.')
    shared = [term for key, raw in grid.fixed.items() for term in (f'--{key}', raw)]
    for point in points:
        try:
            check_command('train', *grid.configs, *shared, *point.flags())
        except FrameworkError as exc:
            raise ConfigError(f'Grid point {point.name} ({" ".join(point.flags())}): {exc}') from None
