"""The sweep's checks before anything runs: every grid point's config is checked as ``fig train`` checks it.

Unknown configs and ``_type``s, keys that ``fig train`` does not read (with the closest names) and values that
do not fit (``--steps abc``, ``--steps -5``) fail at once, naming the grid point, instead of in one run's log an
hour later. The check is the framework's own (``framework/config/keys.py``), so a sweep accepts exactly the
keys ``fig train`` accepts.
"""
from __future__ import annotations

from ..errors import ConfigError, FrameworkError
from .grid import Grid, Point


BOOKKEEPING = ('run_name', 'runs_root')      # differ between grid points by design; they change no training


def validate(grid: Grid, points: list[Point]) -> list[dict]:
    """Check every point's ``fig train`` command in this process, as the command line would, before anything runs;
    return each point's effective config (the values its components will be built with).

    Points whose effective configs are equal would train the same thing twice under two names: refused, naming
    the flags that changed nothing.
    """
    from ..cli import checked_config
    from ..config.effective import effective_config
    from ..registry import get
    if not grid.configs:
        raise ConfigError('Name the configs to train, as for `fig train`: `fig sweep demo --seed 0,1,2`.')
    shared = [term for key, raw in grid.fixed.items() for term in (f'--{key}', raw)]
    settings = get('script', 'train').settings
    effective = []
    for point in points:
        try:
            cfg, _ = checked_config('train', *grid.configs, *shared, *point.flags())
            values = effective_config(cfg, settings)
        except FrameworkError as exc:
            raise ConfigError(f'Grid point {point.name} ({" ".join(point.flags())}): {exc}') from None
        effective.append({k: v for k, v in values.items() if k not in BOOKKEEPING})
    _refuse_duplicates(points, effective)
    return effective


def _refuse_duplicates(points: list[Point], effective: list[dict]) -> None:
    seen: dict[str, int] = {}
    for i, values in enumerate(effective):
        key = repr(values)
        if key not in seen:
            seen[key] = i
            continue
        first = points[seen[key]]
        point = points[i]
        idle = [k for k in point.overrides if point.overrides[k] != first.overrides.get(k)]
        flags = ', '.join(f'--{k}' for k in idle)
        raise ConfigError(
            f'Grid points {first.name} and {point.name} compose to the same effective config: {flags} changed '
            f'nothing that fig train builds, so both runs would train the same thing. Sweep the key that the '
            f'component reads (`fig show <configs> --{idle[0] if idle else "KEY"} VALUE` prints where each value '
            f'goes), or drop the flag.')
