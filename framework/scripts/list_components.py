"""``fig list [kind]``: every registered component by kind with its one-line description."""
from __future__ import annotations

from .. import registry
from ..registry import register


@register.script('list')
def list_components(cfg):
    """List registered components: `fig list` for all kinds, `fig list encoder` for one."""
    kind = cfg.pull('kind', None, silent=True)
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
