"""``fig show <configs...> [--key value]``: the composed config, each value with the file it came from."""
from __future__ import annotations

from ..config import load_yaml, to_plain
from ..registry import register


@register.script('show')
def show(cfg):
    """Print the composed config and which config file (or flag) each value came from."""
    text = format_provenance(cfg)
    print(text)
    return text


def format_provenance(cfg) -> str:
    sources = _sources(cfg)
    lines = []

    def walk(value, path, depth):
        pad = '  ' * depth
        if isinstance(value, dict):
            for key, child in value.items():
                if isinstance(child, dict) and child:
                    lines.append(f'{pad}{key}:')
                    walk(child, path + (key,), depth + 1)
                else:
                    origin = _origin(sources, path + (key,))
                    lines.append(f'{pad}{key}: {child!r}'.ljust(48) + f'  # {origin}')
    walk(to_plain(cfg), (), 0)
    return '\n'.join(lines)


def _sources(cfg) -> list[tuple[str, dict]]:
    """(label, raw data) from the highest precedence down: the command line, then each file in order."""
    out = [('command line', _flags(cfg.pull('_meta.argv', [], silent=True) or []))]
    manager = cfg.manager
    for name in cfg.cro:
        try:
            raw = load_yaml(manager.find_config_path(name))
        except Exception:
            raw = {}
        out.append((name, raw or {}))
    return out


def _flags(argv) -> dict:
    data, key = {}, None
    for term in argv:
        if term.startswith('--'):
            key, eq, value = term[2:].partition('=')
            if eq:
                _put(data, key, load_yaml(value))
                key = None
            else:
                _put(data, key, True)
        elif key is not None:
            _put(data, key, load_yaml(term))
            key = None
    return data


def _put(data: dict, dotted: str, value) -> None:
    parts = dotted.split('.')
    for part in parts[:-1]:
        data = data.setdefault(part, {})
    data[parts[-1]] = value


def _origin(sources, path) -> str:
    for label, raw in sources:
        node = raw
        for part in path:
            if not isinstance(node, dict) or part not in node:
                break
            node = node[part]
        else:
            return label
    return 'default (constructor signature)'
