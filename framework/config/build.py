"""Building components: each constructor argument is read from the config by name, defaults from the signature.

omnifig's own ``fig.Configurable`` builds objects by patching ``__init__`` on the class, which breaks nested
components that share a base class and leaves the class patched after a failed build; components here are
plain classes, built from a plain ``Config`` (``framework/config/tree.py``) by reading their signature.
Every value is checked and converted by ``framework.values.checked``, the path script settings take too.
"""
from __future__ import annotations

import inspect

from ..errors import ConfigError
from ..values import argument_specs, checked


class Builder:
    """A deferred component: the method calls it with the shapes only it knows (``encoder(out_dim=2 * d)``).

    A constructor argument annotated ``Builder`` receives one of these instead of a built object, so a
    method decides its encoder's output size without the config having to repeat it.
    """

    def __init__(self, node):
        self._node = node

    @property
    def type_name(self) -> str | None:
        return self._node.type_name

    def __call__(self, **overrides):
        return self._node.create(**overrides)

    def __repr__(self):
        return f'Builder({self.type_name})'


def build_from_signature(obj, config, args: tuple = (), kwargs: dict | None = None):
    """Call ``obj`` with each constructor argument read from ``config`` (a ``Config`` node) by name.

    An argument missing from the node is looked up in the enclosing nodes; one found nowhere takes its signature
    default, which is recorded in the node so that a saved ``config.yaml`` is complete. ``kwargs`` (from code:
    shapes a method passes to its ``Builder``) win over the config.
    """
    kwargs = dict(kwargs or {})
    specs = argument_specs(obj)
    params = [p for p in inspect.signature(obj).parameters.values()
              if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)][len(args):]
    for p in params:
        if p.name in kwargs:
            continue
        found = config.lookup(p.name)
        if is_builder(p):
            kwargs[p.name] = _builder(config, p, found)
        elif found is None:
            if p.default is p.empty:
                raise ConfigError(f'{_where(config)} needs {p.name!r}, which no config sets. '
                                  f'Pass `--{_dotted(config.path + (p.name,))} VALUE`.')
            if _is_plain(p.default):
                config.set_default(p.name, list(p.default) if isinstance(p.default, tuple) else p.default)
            kwargs[p.name] = p.default
        else:
            path, value = found
            if isinstance(value, dict) and value.get('_type'):
                kwargs[p.name] = config.root.build('.'.join(path))
            else:
                kwargs[p.name] = checked(specs[p.name], value, _dotted(path))
        if config.root.verbose:
            where = 'default' if found is None else _dotted(found[0])
            print(f'| {config.type_name or "config"}: {p.name} = {kwargs[p.name]!r}  ({where})')
    return obj(*args, **kwargs)


def _builder(config, param, found):
    if found is None:
        if param.default is param.empty:
            raise ConfigError(missing_component_message(_where(config), param.name))
        return None
    path, value = found
    if value is None:
        return None
    if not isinstance(value, dict) or not value.get('_type'):
        raise ConfigError(missing_component_message(_where(config), param.name, untyped=True))
    return Builder(config.root.node('.'.join(path)))


def _dotted(path: tuple) -> str:
    return '.'.join(path)


def missing_component_message(where: str, key: str, untyped: bool = False) -> str:
    """``method/vae needs a decoder ...``: names the config files that provide one."""
    from .project import configs_providing
    files = configs_providing(key)
    problem = (f'the config sets options of a {key} without choosing one (no `{key}._type`)' if untyped
               else f'the config has no `{key}`')
    shown = ', '.join(files[:8]) + (f' and {len(files) - 8} more; `fig -h` lists them all' if len(files) > 8 else '')
    fix = (f'Add a {key} config to the command line, e.g. {files[0]} (known: {shown})'
           if files else f'Add a config that sets `{key}: {{_type: {key}/...}}` (`fig list {key}` names them)')
    return f'{where} needs a {key}, but {problem}. {fix}.'



def _is_plain(value) -> bool:
    if isinstance(value, (list, tuple)):
        return all(_is_plain(v) for v in value)
    return value is None or isinstance(value, (bool, int, float, str))


def is_builder(param: inspect.Parameter) -> bool:
    """A constructor argument annotated ``Builder`` (a sub-component the owner builds itself)."""
    return param.annotation is Builder or param.annotation == 'Builder' or \
        (isinstance(param.annotation, str) and param.annotation.startswith('Builder'))


def _where(config) -> str:
    type_name = None if config is None else config.type_name
    return f'component {type_name!r}' if type_name else 'the config'
