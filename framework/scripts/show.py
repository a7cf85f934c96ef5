"""``fig show <configs...> [--key value]``: the composed config, each value with the file it came from."""
from __future__ import annotations

from ..config import to_plain
from ..config.keys import check_config
from ..config.provenance import config_sources, origin
from ..errors import FrameworkError
from ..registry import register
from ..settings import AnyKeys


@register.script('show', settings=AnyKeys)
def show(cfg):
    """Print the composed config and which config file (or flag) each value came from.

    The config is also checked as `fig train` would check it; what train would refuse is printed at the end.
    """
    text = format_provenance(cfg)
    verdict = train_verdict(cfg)
    if verdict:
        text += '\n\n' + verdict
    print(text)
    return text


def train_verdict(cfg) -> str:
    """What `fig train` would refuse in this config (unknown keys, bad values), or '' when it would start."""
    try:
        check_config(cfg, 'train')
    except FrameworkError as exc:
        return f'# fig train would refuse this config: {exc}'
    return ''


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
                    label = label or 'default (constructor signature)'
                    lines.append(f'{pad}{key}: {child!r}'.ljust(48) + f'  # {label}')
    walk(to_plain(cfg), (), 0)
    return '\n'.join(lines)
