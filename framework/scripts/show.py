"""``fig show <configs...> [--key value]``: the composed config, each value with the file it came from, then the
values each component will be built with (the effective config), and what ``fig train`` would refuse."""
from __future__ import annotations

from ..config.effective import SET_BY_OWNER, SET_BY_SCRIPT, argument_origins
from ..config.keys import check_config
from ..config.provenance import COMMAND_LINE
from ..config.shadowing import component_nodes
from ..errors import FrameworkError
from ..registry import register
from ..settings import AnyKeys


@register.script('show', settings=AnyKeys)
def show(cfg):
    """Print the composed config and which config file (or flag) each value came from.

    Then the effective config: every constructor argument of every component as it will be built (from its own
    node, an enclosing one, or the signature default). The config is also checked as `fig train` would check it;
    what train would refuse is printed at the end.
    """
    text = format_provenance(cfg) + '\n\n' + format_effective(cfg)
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
    lines = []

    def walk(value, path, depth):
        pad = '  ' * depth
        if isinstance(value, dict):
            for key, child in value.items():
                if isinstance(child, dict) and child:
                    lines.append(f'{pad}{key}:')
                    walk(child, path + (key,), depth + 1)
                else:
                    lines.append(f'{pad}{key}: {child!r}'.ljust(48) + f'  # {_label(cfg, path + (key,))}')
    walk(cfg.to_dict(), (), 0)
    return '\n'.join(lines)


def format_effective(cfg) -> str:
    """Each component's arguments as they will be built, with the key each value is read from."""
    lines = ['# What the components are built with (each argument from its own node, an enclosing node, or the '
             'default):']
    for path, node in component_nodes(cfg.to_dict()):
        lines.append(f'{".".join(path) or "(root)"}: {node["_type"]}')
        try:
            origins = argument_origins(cfg.node('.'.join(path)) if path else cfg)
        except FrameworkError as exc:
            lines.append(f'  # {exc}')
            continue
        for name, _, value, at in origins:
            if value in (SET_BY_OWNER, SET_BY_SCRIPT):
                lines.append(f'  {name}: {value}')
                continue
            where = 'default' if at is None else f'{".".join(at)} ({_label(cfg, at)})'
            lines.append(f'  {name}: {value!r}'.ljust(48) + f'  # {where}')
    return '\n'.join(lines)


def _label(cfg, path: tuple) -> str:
    label = cfg.origin(path)
    if label == COMMAND_LINE:
        return 'command line'
    return label or 'default (constructor signature)'
