"""``fig show <configs...> [--key value]``: the composed config, each value with the file it came from."""
from __future__ import annotations

from ..config import to_plain
from ..config.keys import config_sources, origin
from ..registry import register
from ..settings import AnyKeys


@register.script('show', settings=AnyKeys)
def show(cfg):
    """Print the composed config and which config file (or flag) each value came from."""
    text = format_provenance(cfg)
    print(text)
    return text


def format_provenance(cfg) -> str:
    sources = config_sources(cfg)
    lines = []

    def walk(value, path, depth):
        pad = '  ' * depth
        if isinstance(value, dict):
            for key, child in value.items():
                if isinstance(child, dict) and child:
                    lines.append(f'{pad}{key}:')
                    walk(child, path + (key,), depth + 1)
                else:
                    label = origin(sources, path + (key,))
                    label = 'command line' if label == 'the command line' else label
                    lines.append(f'{pad}{key}: {child!r}'.ljust(48) + f'  # {label or "default (constructor signature)"}')
    walk(to_plain(cfg), (), 0)
    return '\n'.join(lines)
