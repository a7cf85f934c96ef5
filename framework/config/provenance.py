"""Where each value of a composed config came from: the command line, or which config file.

``fig show`` prints it beside each value, and the strict check names it in its errors (``from d/vec``).
"""
from __future__ import annotations

from pathlib import Path

from .yaml_values import load_yaml, parse_flag_value

COMMAND_LINE = 'the command line'


def config_sources(cfg) -> list[tuple[str, dict]]:
    """(label, raw data) from the highest precedence down: the command line, then each file in order."""
    out = [(COMMAND_LINE, flags_as_dict(command_line(cfg)))]
    manager = cfg.manager
    for name in cfg.cro:
        try:
            raw = load_yaml(Path(manager.find_config_path(name)))
        except (TypeError, OSError):
            raw = {}
        out.append((name, raw if isinstance(raw, dict) else {}))
    return out


def command_line(cfg) -> list[str]:
    """The flags after the config names, as the command-line layer recorded them (``_meta.argv``)."""
    return list(cfg.pull('_meta.argv', [], silent=True) or [])


def origin(sources, path: tuple) -> str | None:
    """The label of the highest-precedence source that sets ``path`` (None: none of them, e.g. a default)."""
    found = written(sources, path)
    return None if found is None else found[0]


def written(sources, path: tuple) -> tuple[str, object] | None:
    """(label, value) of the highest-precedence source that sets ``path``, the value as that source wrote it."""
    for label, raw in sources:
        node = raw
        for part in path:
            if not isinstance(node, dict) or part not in node:
                break
            node = node[part]
        else:
            return label, node
    return None


def flags_as_dict(argv) -> dict:
    """``['--a.b', '1', '--c=x']`` -> ``{'a': {'b': 1}, 'c': 'x'}`` (the keys a command line sets)."""
    data, key = {}, None
    for term in argv:
        if term.startswith('--'):
            key, eq, value = term[2:].partition('=')
            if eq:
                put_dotted(data, key, parse_flag_value(value))
                key = None
            else:
                put_dotted(data, key, True)
        elif key is not None:
            put_dotted(data, key, parse_flag_value(term))
            key = None
    return data


def is_run_config(label: str) -> bool:
    """Whether a config source is a run's saved ``config.yaml`` (added by ``--load RUN``)."""
    from ..runs import RUN_CONFIG_FILE, is_run
    path = Path(label)
    return path.name == RUN_CONFIG_FILE and is_run(path.parent)


def put_dotted(data: dict, dotted: str, value) -> None:
    """``put_dotted(d, 'a.b', 1)``: ``d['a']['b'] = 1``, making the nodes on the way."""
    parts = dotted.split('.')
    for part in parts[:-1]:
        data = data.setdefault(part, {})
    data[parts[-1]] = value
