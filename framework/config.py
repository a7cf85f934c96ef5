"""The thin layer over omnifig 1.0.10 that the rest of the project uses: compose, build, save, load.

Precedence is omnifig's own (a config file listed earlier wins over a later one; ``--key value`` wins over
all), which the papers' commands rely on. The traps of omnifig 1.0.10 (``shared/specs/omnifig.md``) are
handled here and pinned by ``tests/test_config.py``:

- P2  a list in a file replaces a list instead of merging index by index;
- P3  components are built from their constructor signature, never through ``fig.Configurable``;
- P4  the project boots through ``framework._figboot`` so ``framework`` and ``plugins`` stay imported;
- P5/P10/P11  a run's config is saved with ``yaml.safe_dump`` of plain values, without ``_meta``/``_base``;
- P9  ``1e-3`` is read as a number, in files and on the command line;
- P12 a duplicate registration is an error (``framework.registry``);
- P16 unknown ``_type``/config/script names list the known ones and the closest match.
"""
from __future__ import annotations

import difflib
import inspect
import io
import re
from pathlib import Path
from typing import Any

import omnifig as fig
import yaml
from omnifig.abstract import AbstractConfig
from omnifig.config.manager import ConfigManager
from omnifig.config.nodes import ConfigDenseNode, ConfigNode

from . import registry
from .errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent
_UNSAVED_KEYS = ('_meta', '_base')


# --------------------------------------------------------------------------- reading YAML (P9)

class _YamlLoader(yaml.SafeLoader):
    """YAML 1.1 reads ``1e-3`` as a string; this loader reads every float literal as a float."""


_FLOAT = re.compile(r'''^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
    |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
    |\.[0-9_]+(?:[eE][-+][0-9]+)?
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN))$''', re.X)
_YamlLoader.yaml_implicit_resolvers = {k: list(v) for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()}
_YamlLoader.add_implicit_resolver('tag:yaml.org,2002:float', _FLOAT, list('-+0123456789.'))


def load_yaml(text_or_path: str | Path) -> Any:
    """Parse YAML text, or a YAML file, with the float fix; a broken file names itself in the error."""
    if isinstance(text_or_path, Path):
        try:
            return yaml.load(text_or_path.read_text(), Loader=_YamlLoader)
        except yaml.YAMLError as exc:
            raise ConfigError(f'{text_or_path} is not valid YAML: {exc}') from None
    return yaml.load(io.StringIO(text_or_path), Loader=_YamlLoader)


def _load_raw_config(self, path):
    if Path(path).suffix in ('.yaml', '.yml'):
        return load_yaml(Path(path))
    return _original_load_raw_config(self, path)


def _parse_raw_arg(self, arg: str):
    value = load_yaml(arg)
    return None if isinstance(value, str) and value in self._config_nones else value


_original_load_raw_config = ConfigManager.load_raw_config
ConfigManager.load_raw_config = _load_raw_config
ConfigManager._parse_raw_arg = _parse_raw_arg


# --------------------------------------------------------------------------- lists replace lists (P2)

_original_update = ConfigNode.update


def _list_replacing_update(self, update, *, clear_product=True):
    if isinstance(update, ConfigDenseNode):
        for key in reversed([k for k, _ in self.named_children()]):
            self.remove(key)
    return _original_update(self, update, clear_product=clear_product)


ConfigDenseNode.update = _list_replacing_update


# --------------------------------------------------------------------------- building components (P3)

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
        if _is_builder(p):
            node = config.peek(p.name, None, silent=True)
            if node is None and p.default is p.empty:
                raise ConfigError(f'{_where(config)} needs a {p.name!r} component, but the config has none. '
                                  f'Add a config that sets `{p.name}: {{_type: {p.name}/...}}`.')
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
        if want is str and not isinstance(value, str):
            raise TypeError
    except (TypeError, ValueError):
        article = 'an' if want.__name__[0] in 'aeiou' else 'a'
        raise ConfigError(f'config key {param.name!r} of {_where(config)} expects {article} {want.__name__} '
                          f'(default {default!r}), got {value!r}.') from None
    return value


def _is_builder(param: inspect.Parameter) -> bool:
    return param.annotation is Builder or param.annotation == 'Builder' or \
        (isinstance(param.annotation, str) and param.annotation.startswith('Builder'))


def _where(config) -> str:
    if config is None:
        return 'the config'
    type_name = config.pull('_type', None, silent=True)
    return f'component {type_name!r}' if type_name else 'the config'


def _component_factory(entry: registry.Entry):
    def factory(config, *args, **kwargs):
        return build_from_signature(entry.obj, config, args, kwargs)
    factory.__name__ = getattr(entry.obj, '__name__', entry.name)
    factory.__module__ = entry.module
    factory.__doc__ = entry.description
    return factory


def _script_runner(entry: registry.Entry):
    def run(config, *args, **kwargs):
        return entry.obj(config, *args, **kwargs)
    run.__name__, run.__module__, run.__doc__ = entry.name, entry.module, entry.description
    return run


# --------------------------------------------------------------------------- the project

_synced: set[tuple[int, str]] = set()


def _sync_entry(project, entry: registry.Entry) -> None:
    key = (id(project), entry.type_name)
    if key in _synced or entry.kind == 'metric':
        return
    if entry.kind == 'script':
        project.register_script(entry.name, _script_runner(entry), description=entry.description)
    else:
        project.register_artifact('component', entry.type_name, _component_factory(entry),
                                  description=entry.description, creator=None)
    _synced.add(key)


def attach(project) -> None:
    """Mirror the registry into ``project`` and add each plugin's config folder (called while booting)."""
    registry.on_register(lambda entry: _sync_entry(project, entry))
    from plugins import selected
    for config_dir in sorted((ROOT / 'plugins').glob('*/config')):
        if config_dir.is_dir() and selected(config_dir.parent.name):
            project.register_config_dir(config_dir, recursive=True)


def project():
    """The activated project of this repository, wherever the current directory is."""
    current = fig.get_current_project()
    if current is None or current.root is None or Path(current.root).resolve() != ROOT:
        current = fig.switch_project(str(ROOT))
    current.activate()
    return current


def compose(*config_names: str, **overrides):
    """Compose config files (earlier wins) plus overrides (win over all), as the command line does."""
    proj = project()
    overrides = {k.replace('-', '_'): v for k, v in overrides.items()}
    for name in config_names:
        check_config_name(proj, name)
    cfg = proj.create_config(*config_names, **overrides)
    cfg.silent = True
    validate_types(cfg)
    return cfg


def create(kind: str, name: str, **overrides):
    """Build any registered component by kind and name with its config defaults (like timm's create_model)."""
    registry.get(kind, name)
    cfg = compose(_type=f'{kind}/{name}', **overrides)
    return cfg.create()


def validate_types(cfg) -> None:
    """Every ``_type`` in the composed config must name a registered component."""
    def walk(node):
        if isinstance(node, dict):
            if '_type' in node and node['_type'] is not None:
                registry.get(*registry.split_type(node['_type']))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)
    walk(cfg.to_python())


def check_config_name(proj, name: str) -> None:
    """A config named on the command line must exist; otherwise list the closest ones."""
    if Path(name).suffix in ('.yaml', '.yml') and Path(name).exists():
        return
    if proj.find_config(name, None) is not None:
        return
    known = sorted(entry.name for entry in proj.iterate_configs())
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
    hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ''
    raise ConfigError(f'Unknown config {name!r} (looked for config/{name}.yaml and plugins/*/config/{name}.yaml).'
                      f'{hint} `fig -h` lists all configs.')


# --------------------------------------------------------------------------- saving and loading runs (P5, P10, P11)

def to_plain(cfg) -> dict:
    """The composed config as plain, safely dumpable Python values (no ``_meta``/``_base``)."""
    data = cfg.to_python() if hasattr(cfg, 'to_python') else dict(cfg)
    return {k: _plain(v) for k, v in data.items() if k not in _UNSAVED_KEYS}


def dump_yaml(data: dict) -> str:
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=None)


def _plain(value):
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, 'item') and callable(value.item):     # numpy / torch scalars
        return value.item()
    if isinstance(value, Path):
        return str(value)
    return value
