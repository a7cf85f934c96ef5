"""A sweep's grid: which configs and flags every run shares, which keys vary, and one point per combination.

``fig sweep demo --seed 0,1,2 --reg-wt 1,4 --steps 200`` gives six points, each ``fig train demo --steps 200``
plus one ``--seed``/``--reg_wt`` pair. The value syntax follows Hydra's multirun, which users know:

- ``a,b,c`` is three values; a comma inside brackets, braces or quotes does not split
  (``--encoder.hidden [64,64],[128,128]`` is two lists), and ``\\,`` is a literal comma;
- ``range(0,5)`` / ``range(0,10,2)`` are Python ranges of integers;
- a value is read as YAML, exactly as ``fig train`` reads it (``1e-3`` is a number, ``"'a,b'"`` one string).
"""
from __future__ import annotations

import hashlib
import itertools
import re
from dataclasses import dataclass, field

from ..errors import ConfigError

_RANGE = re.compile(r'^range\(\s*(-?\d+)\s*,\s*(-?\d+)\s*(?:,\s*(-?\d+)\s*)?\)$')
_UNSAFE = re.compile(r'[^A-Za-z0-9._=+-]+')
MAX_POINT_NAME = 80


@dataclass
class Grid:
    """The parsed sweep command: shared configs and flags, the swept keys with their raw values, in order."""
    configs: list[str]
    fixed: dict[str, str]                       # key -> raw value, the same for every run
    axes: dict[str, list[str]]                  # key -> raw values (two or more), in command-line order
    own: dict[str, object] = field(default_factory=dict)    # the sweep's own flags (--name, --workers, ...)

    def points(self) -> list['Point']:
        """Every combination of the axes' values (the first axis varies slowest), each with a stable name."""
        keys = list(self.axes)
        combos = itertools.product(*(self.axes[k] for k in keys)) if keys else [()]
        points = [Point(dict(zip(keys, values))) for values in combos]
        _name_points(points)
        return points

    def base_command(self) -> list[str]:
        """``<configs...> --key value ...`` shared by every run (how a rerun checks that it is the same sweep)."""
        return list(self.configs) + [term for key, raw in self.fixed.items() for term in (f'--{key}', raw)]


@dataclass
class Point:
    """One run of the grid: the swept keys' raw values, and the run folder name made from them."""
    overrides: dict[str, str]
    name: str = ''

    def flags(self) -> list[str]:
        return [term for key, raw in self.overrides.items() for term in (f'--{key}', raw)]


def parse_sweep_argv(argv: list[str], own_keys: set[str]) -> Grid:
    """Split the sweep's command line (after ``fig sweep``) into configs, shared flags, axes and its own flags.

    ``own_keys`` are the sweep's own settings (``name``, ``workers``, ...): they configure the sweep and are
    not passed to the runs. A key given twice, an empty value (``1,,2``) or a repeated value is an error.
    """
    from ..cli import split_names
    configs, flags = split_names(argv)
    pairs, j = [], 0
    while j < len(flags):
        term = flags[j]
        if not term.startswith('--') or len(term) == 2:
            raise ConfigError(f'Unexpected argument {term!r}: flags are `--key value` (after the config names).')
        key, eq, value = term[2:].partition('=')
        key = key.replace('-', '_')
        if eq:
            j += 1
        elif j + 1 < len(flags) and not flags[j + 1].startswith('--'):
            value, j = flags[j + 1], j + 2
        else:
            value, j = 'true', j + 1
        pairs.append((key, value))
    seen: set[str] = set()
    fixed, axes, own = {}, {}, {}
    for key, raw in pairs:
        if key in seen:
            raise ConfigError(f'--{key} is given twice; give it once, with all its values: `--{key} a,b,c`.')
        seen.add(key)
        if key in own_keys:
            own[key] = raw
            continue
        if key in ('load', 'resume'):
            continue        # `--load RUN` became the run's config.yaml among the configs; the runs are new ones
        values = split_values(key, raw)
        if len(values) == 1:
            fixed[key] = values[0]
        else:
            axes[key] = values
    return Grid(configs, fixed, axes, own)


def split_values(key: str, raw: str) -> list[str]:
    """The values of ``--key raw``: split on top-level commas, or a ``range(...)``; raw strings, read later as YAML."""
    match = _RANGE.match(raw.strip())
    if match:
        start, stop, step = (int(g) if g is not None else None for g in match.groups())
        values = [str(v) for v in range(start, stop, step or 1)]
        if not values:
            raise ConfigError(f'--{key} {raw} is empty (Python ranges stop before their end).')
        return values
    values, current, depth, quote, escaped = [], [], 0, None, False
    for char in raw:
        if escaped:
            current.append(char)
            escaped = False
        elif char == '\\':
            escaped = True
        elif quote:
            current.append(char)
            if char == quote:
                quote = None
        elif char in '\'"':
            quote = char
            current.append(char)
        elif char in '[{(':
            depth += 1
            current.append(char)
        elif char in ']})':
            depth -= 1
            current.append(char)
        elif char == ',' and depth == 0:
            values.append(''.join(current).strip())
            current = []
        else:
            current.append(char)
    if escaped:
        current.append('\\')
    values.append(''.join(current).strip())
    if quote or depth:
        raise ConfigError(f'--{key} {raw}: an unclosed {"quote" if quote else "bracket"}. Quote a value that holds '
                          f'commas for the shell and for YAML: --{key} "\'a,b\'",c')
    if len(values) > 1 and any(v == '' for v in values):
        raise ConfigError(f'--{key} {raw} has an empty value (two commas in a row, or one at an end).')
    repeated = sorted({v for v in values if values.count(v) > 1})
    if repeated:
        raise ConfigError(f'--{key} {raw} repeats {", ".join(repeated)}: each value gives one run.')
    return values


def _name_points(points: list[Point]) -> None:
    """``seed-0_reg_wt-4``; long or clashing names (after making them safe for a folder) get a short hash."""
    names = []
    for point in points:
        parts = [f'{key.split(".")[-1]}-{raw}' for key, raw in point.overrides.items()]
        name = _UNSAFE.sub('-', '_'.join(parts)).strip('-') or 'run'
        names.append(name)
    for point, name in zip(points, names):
        exact = repr(sorted(point.overrides.items())).encode()
        if len(name) > MAX_POINT_NAME or names.count(name) > 1:
            name = f'{name[:MAX_POINT_NAME - 9]}_{hashlib.sha1(exact).hexdigest()[:8]}'
        point.name = name
