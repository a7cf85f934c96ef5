"""``fig list [kind]``: every registered component by kind with its one-line description."""
from __future__ import annotations

from dataclasses import dataclass

from .. import registry
from ..registry import register


@dataclass
class ListSettings:
    kind: str | None = None           # dataset, encoder, decoder, method, metric or script; `kind` lists the kinds


@register.script('list', settings=ListSettings, positional='kind')
def list_components(cfg):
    """List registered components: `fig list` for all kinds, `fig list encoder` for one, `fig list kind` the kinds."""
    from ..settings import settings_from
    kind = settings_from(cfg, ListSettings).kind
    if kind in ('kind', 'kinds'):
        text = format_kinds()
    else:
        if kind is not None and kind not in registry.KINDS:
            raise registry.UnknownComponentError('kind', str(kind))
        text = format_listing(kind)
    print(text)
    return text


def format_listing(kind: str | None = None) -> str:
    lines = []
    for k in registry.KINDS if kind is None else (kind,):
        entries = registry.entries(k)
        lines.append(f'{k}s ({len(entries)}):')
        width = max((len(e.name) for e in entries), default=0)
        for e in entries:
            lines.append(f'  {e.name:<{width}}  {e.description}')
    return '\n'.join(lines)


def format_kinds() -> str:
    """The component kinds with how many of each are registered (`fig list kind`)."""
    width = max(len(k) for k in registry.KINDS)
    lines = ['Component kinds (`fig list <kind>` lists one):']
    lines += [f'  {k:<{width}}  {len(registry.names(k))} registered' for k in registry.KINDS]
    return '\n'.join(lines)
