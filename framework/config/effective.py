"""The effective config: the values a script and each component will actually be built with.

The composed YAML says what the files and flags wrote; this says what is read: every script setting (given or
default) and every constructor argument of every component, found in its node or an enclosing one, or its
signature default. Each value is checked on the way (``framework.values.checked``, the one validation path),
so computing it is also the check that runs before a run folder exists. ``fig show`` prints it,
``fig sweep --dry-run`` prints it per run, and a sweep refuses grid points whose effective configs are equal.
"""
from __future__ import annotations

import dataclasses
from typing import Any

from .. import registry
from ..values import argument_specs, checked
from .build import Builder
from .provenance import written
from .saving import plain_value
from .shadowing import component_nodes

SET_BY_SCRIPT = '(set from the data)'          # observation_shape, dataset_size: known once the data exists
SET_BY_OWNER = '(passed by the method)'       # the shapes a method passes to its encoder and decoder
OWNER_SHAPES = {'encoder': ('in_shape', 'out_dim'), 'decoder': ('latent_dim', 'out_shape')}


def effective_config(cfg, settings_classes: tuple = ()) -> dict:
    """``{setting: value, ..., 'method': {'_type': 'method/vae', 'reg_wt': 4.0, ...}, ...}``, every value checked."""
    from ..settings import fields_of
    data = cfg.to_dict()
    out: dict[str, Any] = {}
    for cls in settings_classes:
        for spec in fields_of(cls):
            if spec.nested is not None:
                given = data.get(spec.name) if isinstance(data.get(spec.name), dict) else {}
                out[spec.name] = {inner.name: _setting(cfg, inner, given, (spec.name, inner.name))
                                  for inner in fields_of(spec.nested)}
            else:
                out[spec.name] = _setting(cfg, spec, data, (spec.name,))
    for path, node in component_nodes(data):
        _put(out, path, component_arguments(cfg.root.node('.'.join(path)) if path else cfg.root))
    return out


def component_arguments(node) -> dict:
    """``{'_type': ..., argument: value}`` of the component at ``node`` as it will be built (values checked)."""
    out = {'_type': node.type_name}
    for name, spec, value, path in argument_origins(node):
        out[name] = plain_value(value if path is None else checked(spec, value, '.'.join(path)))
    return out


def argument_origins(node) -> list[tuple]:
    """(name, spec, value, path it is read from or None) for each argument of the component at ``node``, as
    found in the config, unchecked; sub-components are left out (they are listed under their own path)."""
    kind, name = registry.split_type(node.type_name)
    out = []
    for arg, spec in argument_specs(registry.get(kind, name).obj).items():
        if arg in OWNER_SHAPES.get(kind, ()):
            out.append((arg, spec, SET_BY_OWNER, None))
            continue
        found = node.lookup(arg)
        if spec.type is Builder or (found is not None and isinstance(found[1], dict) and found[1].get('_type')):
            continue
        if found is None:
            value = SET_BY_SCRIPT if spec.default is dataclasses.MISSING else spec.default
            out.append((arg, spec, value, None))
        else:
            out.append((arg, spec, found[1], found[0]))
    return out


def differences(a: dict, b: dict, path: tuple = ()) -> list[str]:
    """Dotted keys whose values differ between two effective configs."""
    keys = list(dict.fromkeys([*a, *b]))
    out = []
    for key in keys:
        x, y = a.get(key), b.get(key)
        if isinstance(x, dict) and isinstance(y, dict):
            out += differences(x, y, path + (key,))
        elif x != y:
            out.append('.'.join(path + (key,)))
    return out


def _setting(cfg, spec, data: dict, path: tuple) -> Any:
    if spec.name not in data:
        return None if spec.default is dataclasses.MISSING else plain_value(spec.default)
    value = data[spec.name]
    if isinstance(value, dict):         # omnifig merges a list typed over a number into a mapping: show it as typed
        found = written(cfg.sources, path)
        value = value if found is None else found[1]
    return plain_value(checked(spec, value, '.'.join(path)))


def _put(out: dict, path: tuple, value: dict) -> None:
    if not path:
        out.update(value)
        return
    for part in path[:-1]:
        out = out.setdefault(part, {})
    existing = out.get(path[-1])
    out[path[-1]] = {**existing, **value} if isinstance(existing, dict) else value
