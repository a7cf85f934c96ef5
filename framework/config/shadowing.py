"""One meaning per key: a value that a deeper value of the same key hides from every reader is refused.

A component reads a constructor argument from its own node, else from the nearest enclosing node that has it
(``framework/config/tree.py``). So ``beta: 2`` at the top never reaches ``method/betatcvae`` when ``method.beta``
is set: the method reads its own. Omnifig would build the run with beta 6 and save ``beta: 2`` beside it; here
the command is refused with the key to use::

    `--beta 2` does not reach method/betatcvae, which reads `method.beta` (6.0, set by m/betatcvae).
    Use `--method.beta 2`.

A value typed on the command line must reach every component that reads its name below it; a value from a
file must reach at least one reader (a top-level default that one component overrides in its own node is a
pattern configs use on purpose). A top-level key that the script itself reads is its own, always reached.
"""
from __future__ import annotations

from typing import Any

from ..errors import ConfigError
from .provenance import is_run_config

META_PREFIX = '_'


def check_shadowing(cfg, script_keys: set[str], readers_of, strict: bool = True) -> None:
    """Raise ``ConfigError`` for every value of ``cfg`` that a deeper value hides from the components reading it.

    ``script_keys``: top-level keys the script reads itself; ``readers_of(type_name)``: the argument names a
    component reads from the config. ``strict=False`` (a script that does not declare its settings, so any
    top-level key may be its own): top-level values from files are not checked.
    """
    data = cfg.to_dict()
    components = [(path, readers_of(node['_type'])) for path, node in component_nodes(data)]
    problems = []
    for path, key in _keys(data, ()):
        if not path and key in script_keys:
            continue
        here = path + (key,)
        label = cfg.root.origin(here)
        if label is not None and is_run_config(label):
            continue                # an older run's saved keys are not checked
        typed = cfg.root.typed_by_user(here)
        if not path and not strict and not typed:
            continue
        below = [c for c, reads in components if c[:len(path)] == path and key in reads]
        if path in below:
            continue                # the component of this node reads it itself
        hiders = {c: _hider(data, path, c, key) for c in below}
        reached = [c for c, hider in hiders.items() if hider is None]
        # a file's default that the user overrides deeper on the command line is overridden, not hidden
        hidden = [c for c, hider in hiders.items()
                  if hider is not None and (typed or not cfg.root.typed_by_user(hider + (key,)))]
        if not hidden or (reached and not typed):
            continue
        problems.append(_message(cfg, here, hidden, typed))
    if problems:
        raise ConfigError(' '.join(problems) + ' Nothing was run.')


def component_nodes(data: dict, path: tuple = ()) -> list[tuple[tuple, dict]]:
    """(path, node) of every component (a mapping with ``_type``) in ``data``, outermost first."""
    found = []
    if isinstance(data, dict):
        if data.get('_type'):
            found.append((path, data))
        for key, value in data.items():
            if not str(key).startswith(META_PREFIX):
                found += component_nodes(value, path + (str(key),))
    return found


def _keys(node: Any, path: tuple):
    """(node path, key) of every key set in ``data`` (not ``_``-keys), depth first."""
    if not isinstance(node, dict):
        return
    for key, value in node.items():
        key = str(key)
        if key.startswith(META_PREFIX):
            continue
        yield path, key
        yield from _keys(value, path + (key,))


def _hider(data: dict, outer: tuple, component: tuple, key: str) -> tuple | None:
    """The innermost node below ``outer`` down to ``component`` (inclusive) that sets ``key`` itself, or None."""
    node, found = data, None
    for part in outer:
        node = node[part]
    for depth in range(len(outer), len(component)):
        node = node[component[depth]]
        if isinstance(node, dict) and key in node:
            found = component[:depth + 1]
    return found


def _message(cfg, here: tuple, hidden: list[tuple], typed: bool) -> str:
    root = cfg.root
    value = root.get('.'.join(here))
    key = here[-1]
    readers = []
    for component in hidden:
        reader = _nearest(root, here[:-1], component, key)
        setter = root.origin(reader) or 'a default'
        type_name = root.get('.'.join(component + ('_type',)))
        readers.append((type_name, '.'.join(reader), root.get('.'.join(reader)), setter))
    described = '; '.join(f'{t} reads `{r}` ({v!r}, set by {s})' for t, r, v, s in readers)
    use = ' or '.join(f'`--{r} {_shown(value)}`' for _, r, _, _ in readers)
    if typed:
        return f'`--{".".join(here)} {_shown(value)}` does not reach what reads it: {described}. Use {use}.'
    source = root.origin(here) or 'a default'
    files = sorted({s for *_, s in readers})
    return (f'`{".".join(here)}: {_shown(value)}` (set by {source}) never reaches a component: {described}. '
            f'Set it there instead (in {" or ".join(files)}, or with {use}), or remove it from {source}.')


def _nearest(root, outer: tuple, component: tuple, key: str) -> tuple:
    """The path of the value of ``key`` that ``component`` reads (the innermost one below ``outer``)."""
    for depth in range(len(component), len(outer), -1):
        candidate = component[:depth] + (key,)
        if root.get('.'.join(candidate), None) is not None or '.'.join(candidate) in root:
            return candidate
    return outer + (key,)


def _shown(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)
