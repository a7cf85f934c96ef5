"""Building components: each constructor argument is pulled from the config by name, defaults from the signature.

omnifig's own ``fig.Configurable`` builds objects by patching ``__init__`` on the class, which breaks nested
components that share a base class and leaves the class patched after a failed build; components here are
plain classes and a factory reads their signature instead.
"""
from __future__ import annotations

import inspect

from omnifig.abstract import AbstractConfig

from .. import registry
from ..errors import ConfigError


class Builder:
    """A deferred component: the method calls it with the shapes only it knows (``encoder(out_dim=2 * d)``).

    A constructor argument annotated ``Builder`` receives one of these instead of a built object, so a
    method decides its encoder's output size without the config having to repeat it.
    """

    def __init__(self, node):
        self._node = node

    @property
    def type_name(self) -> str | None:
        return self._node.pull('_type', None, silent=True)

    def __call__(self, **overrides):
        return self._node.create(**overrides)

    def __repr__(self):
        return f'Builder({self.type_name})'


def build_from_signature(obj, config, args: tuple = (), kwargs: dict | None = None):
    """Call ``obj`` with each constructor argument pulled from ``config`` by name (signature defaults)."""
    kwargs = dict(kwargs or {})
    params = [p for p in inspect.signature(obj).parameters.values()
              if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)][len(args):]
    for p in params:
        if p.name in kwargs:
            continue
        if is_builder(p):
            node = config.peek(p.name, None, silent=True)
            if node is None and p.default is p.empty:
                raise ConfigError(missing_component_message(_where(config), p.name))
            if node is not None and node.pull('_type', None, silent=True) is None:
                raise ConfigError(missing_component_message(_where(config), p.name, untyped=True))
            kwargs[p.name] = None if node is None else Builder(node)
        elif p.default is p.empty:
            try:
                kwargs[p.name] = config.pull(p.name)
            except AbstractConfig.SearchFailed:
                raise ConfigError(f'{_where(config)} needs {p.name!r}, which no config sets. '
                                  f'Pass `--{p.name} VALUE`.') from None
        else:
            value = config.pull(p.name, _ABSENT, silent=True)
            if value is _ABSENT:            # record the default, so a saved config.yaml is complete
                value = p.default
                if _is_plain(value):
                    config.push(p.name, list(value) if isinstance(value, tuple) else value, silent=True)
            kwargs[p.name] = coerce(value, p, config)
    return obj(*args, **kwargs)


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


_ABSENT = object()


def _is_plain(value) -> bool:
    if isinstance(value, (list, tuple)):
        return all(_is_plain(v) for v in value)
    return value is None or isinstance(value, (bool, int, float, str))


def coerce(value, param: inspect.Parameter, config=None):
    """Convert a config value to the type of its constructor default; refuse what cannot be converted."""
    default = param.default
    if value is None or default is None or value is default:
        return value
    want = type(default)
    try:
        if want is bool:
            if isinstance(value, bool):
                return value
            raise TypeError
        if want is float and isinstance(value, (int, float, str)) and not isinstance(value, bool):
            return float(value)
        if want is int and not isinstance(value, bool):
            if isinstance(value, int):
                return value
            if isinstance(value, float) and value.is_integer():
                return int(value)
            raise TypeError
        if want is tuple and isinstance(value, (list, tuple)):
            return tuple(value)
        if want is str and isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)                       # --ident 2 means the name "2"
        if want is str and not isinstance(value, str):
            raise TypeError
    except (TypeError, ValueError):
        article = 'an' if want.__name__[0] in 'aeiou' else 'a'
        raise ConfigError(f'config key {param.name!r} of {_where(config)} expects {article} {want.__name__} '
                          f'(default {default!r}), got {value!r}.') from None
    return value


def is_builder(param: inspect.Parameter) -> bool:
    """A constructor argument annotated ``Builder`` (a sub-component the owner builds itself)."""
    return param.annotation is Builder or param.annotation == 'Builder' or \
        (isinstance(param.annotation, str) and param.annotation.startswith('Builder'))


def _where(config) -> str:
    if config is None:
        return 'the config'
    type_name = config.pull('_type', None, silent=True)
    return f'component {type_name!r}' if type_name else 'the config'


def component_factory(entry: registry.Entry):
    """What omnifig calls to build ``entry`` from a config node."""
    def factory(config, *args, **kwargs):
        return build_from_signature(entry.obj, config, args, kwargs)
    factory.__name__ = getattr(entry.obj, '__name__', entry.name)
    factory.__module__ = entry.module
    factory.__doc__ = entry.description
    return factory


def script_runner(entry: registry.Entry):
    """What omnifig calls to run the script ``entry`` on the composed config."""
    def run(config, *args, **kwargs):
        return entry.obj(config, *args, **kwargs)
    run.__name__, run.__module__, run.__doc__ = entry.name, entry.module, entry.description
    return run
