"""A composed config as plain values: what scripts read and what components are built from.

omnifig composes the config files and the command line (``framework/config/project.py``); everything below
that reads this object, which holds nothing but dicts, lists and scalars::

    cfg = framework.compose('demo', steps=10)
    cfg.get('steps')                  # 10: a key of this node (dotted paths reach deeper: 'split.val')
    cfg.build('dataset')              # the dataset component, built from its constructor signature
    cfg.to_dict()                     # the whole config as a dict

A component's constructor argument that its own node lacks is looked up in the enclosing nodes (``latent_dim``
at the top reaches the method), as omnifig does; ``framework/config/shadowing.py`` refuses any value that this
lookup can never reach, so every value written reaches what reads it.
"""
from __future__ import annotations

import copy
from typing import Any, Iterator

from .. import registry
from ..errors import ConfigError
from .provenance import COMMAND_LINE, origin

MISSING = object()
_ABSENT = object()


class Config:
    """One node of a composed config (the root, or a view of a sub-node sharing the root's data)."""

    def __init__(self, data: dict | None = None, sources: list | None = None):
        self._data = {} if data is None else data
        self._sources = list(sources or [])        # (label, raw data) from the highest precedence down
        self._root, self._path = self, ()
        self._products: dict[tuple, Any] = {}      # built components, by node path (see ``build``)
        self.argv: list[str] = []                  # the command line's flags, where it came from one
        self.verbose = False                       # `fig -v`: print each component argument as it is built

    # ------------------------------------------------------------------ reading

    @property
    def path(self) -> tuple:
        """Where this node sits: ``()`` for the root, ``('method',)`` for the method's node."""
        return self._path

    @property
    def root(self) -> 'Config':
        return self._root

    @property
    def type_name(self) -> str | None:
        """The ``_type`` of this node (``method/vae``), or None for a plain node."""
        value = self._node_data().get('_type')
        return None if value is None else str(value)

    def get(self, key: str, default: Any = MISSING) -> Any:
        """The value at ``key`` (dotted: ``split.val``) below this node; ``default`` where it is absent."""
        node = self._node_data()
        for part in _parts(key):
            if isinstance(node, dict) and part in node:
                node = node[part]
            elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                if default is MISSING:
                    raise ConfigError(f'The config has no `{self._dotted(key)}`.')
                return default
        return node

    def __contains__(self, key: str) -> bool:
        return self.get(key, _ABSENT) is not _ABSENT

    def keys(self) -> Iterator[str]:
        return iter(list(self._node_data()))

    def node(self, key: str) -> 'Config | None':
        """The sub-node at ``key`` as a ``Config`` view, or None where there is no mapping there."""
        value = self.get(key, None)
        if not isinstance(value, dict):
            return None
        return self._view(self._path + _parts(key))

    def lookup(self, key: str) -> tuple[tuple, Any] | None:
        """(path, value) of ``key`` in this node or the nearest enclosing node that has it (None: nowhere).

        This is how a component's constructor argument is found; ``_``-keys are never inherited.
        """
        path = self._path
        while True:
            node = self._root._at(path)
            if isinstance(node, dict) and key in node:
                return path + (key,), node[key]
            if not path or key.startswith('_'):
                return None
            path = path[:-1]

    def to_dict(self) -> dict:
        """This node's data as a deep copy (safe to change)."""
        return copy.deepcopy(self._node_data())

    def origin(self, key: str | tuple) -> str | None:
        """Which config file (or ``the command line``) set ``key`` below this node; None for a default."""
        path = self._path + (_parts(key) if isinstance(key, str) else tuple(key))
        return origin(self._root._sources, path)

    def typed_by_user(self, key: str | tuple) -> bool:
        """Whether the value at ``key`` was typed on the command line (or passed to ``compose``)."""
        return self.origin(key) == COMMAND_LINE

    @property
    def sources(self) -> list:
        return self._root._sources

    # ------------------------------------------------------------------ writing

    def set(self, key: str, value: Any) -> None:
        """Set ``key`` (dotted) below this node, creating nodes on the way; built components that could read
        it are built again next time."""
        parts = _parts(key)
        node = self._node_data()
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f'Cannot set `{self._dotted(key)}`: `{part}` is not a mapping.')
        node[parts[-1]] = value
        self._root._forget(self._path + parts)

    def set_default(self, key: str, value: Any) -> None:
        """Record a default that was used (so a saved config is complete); an existing value stays."""
        if key not in self._node_data():
            self._node_data()[key] = value

    # ------------------------------------------------------------------ building

    def build(self, key: str | None = None) -> Any:
        """The component at ``key`` (or this node), built once and kept: a second call returns the same object."""
        node = self if key is None else self.node(key)
        if node is None or node.type_name is None:
            where = self._dotted(key or '') or 'the config'
            raise ConfigError(f'`{where}` is not a component (no `_type`).')
        products = self._root._products
        if node.path not in products:
            products[node.path] = node.create()
        return products[node.path]

    def create(self, **overrides) -> Any:
        """A fresh component from this node; ``overrides`` (from code, e.g. shapes) win over the config."""
        from .build import build_from_signature
        type_name = self.type_name
        if type_name is None:
            raise ConfigError(f'`{self._dotted("") or "the config"}` is not a component (no `_type`).')
        entry = registry.get(*registry.split_type(type_name))
        return build_from_signature(entry.obj, self, kwargs=overrides)

    # ------------------------------------------------------------------ helpers

    def _view(self, path: tuple) -> 'Config':
        view = Config.__new__(Config)
        view._root, view._path = self._root, tuple(path)
        view.argv, view.verbose = self._root.argv, self._root.verbose
        return view

    def _node_data(self) -> dict:
        node = self._root._at(self._path)
        if not isinstance(node, dict):
            raise ConfigError(f'`{".".join(self._path)}` is not a mapping in the config.')
        return node

    def _at(self, path: tuple) -> Any:
        node = self._data
        for part in path:
            node = node.get(part) if isinstance(node, dict) else None
        return node

    def _forget(self, changed: tuple) -> None:
        """Drop built components whose node contains ``changed``, or which could inherit its key."""
        for path in list(self._products):
            inside = changed[:len(path)] == path
            inherits = path[:len(changed) - 1] == changed[:-1] and changed[-1] in _reads(self._at(path))
            if inside or inherits:
                del self._products[path]

    def _dotted(self, key: str) -> str:
        return '.'.join(self._path + _parts(key))

    def __repr__(self) -> str:
        where = '.'.join(self._path) or 'root'
        return f'Config({where}: {self._node_data()!r})'


def _reads(node: Any) -> set[str]:
    """The argument names the component at ``node`` reads from the config."""
    from ..values import argument_specs
    type_name = node.get('_type') if isinstance(node, dict) else None
    if not type_name:
        return set()
    return set(argument_specs(registry.get(*registry.split_type(type_name)).obj))


def _parts(key: str) -> tuple:
    return tuple(part for part in str(key).split('.') if part)
