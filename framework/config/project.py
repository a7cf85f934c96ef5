"""The project: this repository's configs as an omnifig project, found from any directory; ``compose`` turns
config names and values into a plain ``Config`` (``framework/config/tree.py``), and ``create`` builds any
component from plain values.

``fig`` and ``python main.py`` activate it through ``framework._figboot`` (named in ``.fig.project.yml``), which
imports the framework and the plugins and then calls ``attach``; from Python, ``compose`` and ``create``
activate it on first use, wherever the current directory is. omnifig only composes: components are built by
``framework/config/build.py`` and scripts receive the plain ``Config``.
"""
from __future__ import annotations

import difflib
from functools import lru_cache
from pathlib import Path

import omnifig as fig

from .. import registry
from ..errors import ConfigError
from .yaml_values import load_yaml
from .provenance import COMMAND_LINE, command_line, config_sources, put_dotted
from .saving import to_plain
from .tree import Config

ROOT = Path(__file__).resolve().parents[2]

_synced: set[tuple[int, str]] = set()


def attach(project) -> None:
    """Hand the registered scripts to ``project`` and add each plugin's config folder (called while booting)."""
    from .. import plugins
    registry.on_register(lambda entry: _sync_script(project, entry))
    for plugin in plugins.loaded():
        if plugin.config_dir is not None:
            project.register_config_dir(plugin.config_dir, recursive=True)


def project():
    """The activated project of this repository, wherever the current directory is."""
    current = fig.get_current_project()
    if current is None or current.root is None or Path(current.root).resolve() != ROOT:
        current = fig.switch_project(ROOT)      # a Path: omnifig warns about a name mismatch for a str
    current.activate()
    return current


def compose(*config_names: str, **overrides) -> Config:
    """Compose config files (earlier wins) plus overrides (win over all), as the command line does.

    ``overrides`` take dotted keys as flags do (``compose('demo', **{'split.val': 0.2})``) and count as typed by
    the user in the checks and in ``fig show``.
    """
    proj = project()
    overrides = {k.replace('-', '_'): v for k, v in overrides.items()}
    for name in config_names:
        check_config_name(proj, name)
    cfg = proj.create_config(*config_names, **overrides)
    cfg.silent = True
    plain = to_config(cfg)
    if overrides:
        typed: dict = {}
        for key, value in overrides.items():
            put_dotted(typed, key, value)
        plain.sources.insert(0, (COMMAND_LINE, typed))
    validate_types(plain)
    return plain


def to_config(cfg) -> Config:
    """omnifig's composed config as a plain ``Config``, with where each value came from (kept on ``cfg``)."""
    cached = getattr(cfg, '_structrep_plain', None)
    if cached is not None:
        return cached
    data = to_plain(cfg)
    _resolve_references(data, data)
    plain = Config(data, config_sources(cfg))
    plain.argv = command_line(cfg)
    try:
        cfg._structrep_plain = plain
    except AttributeError:
        pass
    return plain


def create(kind: str, name: str, **values):
    """Build any registered component by kind and name from plain values (like timm's ``create_model``).

    ``values`` are its constructor arguments, checked as a config's would be; a ``Builder`` argument takes a
    dict with ``_type`` (``framework.create('method', 'vae', encoder={'_type': 'encoder/mlp'}, ...)``).
    """
    registry.get(kind, name)
    cfg = Config({'_type': f'{kind}/{name}', **values}, [(COMMAND_LINE, dict(values))])
    validate_types(cfg)
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
    walk(cfg.to_dict())


def check_config_name(proj, name: str) -> None:
    """A config named on the command line must exist; otherwise list the closest ones."""
    if Path(name).suffix in ('.yaml', '.yml') and Path(name).exists():
        return
    if proj.find_config(name, None) is not None:
        return
    known = config_names(proj)
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
    hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ''
    raise ConfigError(f'Unknown config {name!r} (looked for config/{name}.yaml and plugins/*/config/{name}.yaml).'
                      f'{hint} `fig -h` lists all configs.')


def config_names(proj=None) -> list[str]:
    """Every config file's name (``a/e/conv12``), sorted."""
    proj = proj or project()
    return sorted(entry.name for entry in proj.iterate_configs())


def configs_providing(key: str) -> list[str]:
    """Config files that choose a ``key`` component themselves (``decoder`` -> ``a/d/conv12``, ...)."""
    return list(_configs_providing(key, tuple(config_names())))


@lru_cache(maxsize=None)
def _configs_providing(key: str, names: tuple[str, ...]) -> tuple[str, ...]:
    proj = project()
    found = []
    for name in names:
        try:
            raw = load_yaml(Path(proj.config_manager.find_config_path(name)))
        except (ConfigError, OSError, TypeError):
            continue
        node = raw.get(key) if isinstance(raw, dict) else None
        if isinstance(node, dict) and node.get('_type'):
            others = sum(isinstance(v, dict) and '_type' in v for k, v in raw.items() if k != key)
            found.append((others, name.count('/') == 0, name.count('/'), name))
    # files that choose only this component first (a/d/conv12), then the families and combined files
    return tuple(name for *_, name in sorted(found))


def _sync_script(project, entry: registry.Entry) -> None:
    """omnifig runs a script with its composed config; the script itself receives the plain ``Config``."""
    key = (id(project), entry.type_name)
    if key in _synced or entry.kind != 'script':
        return

    def run(config, *args, **kwargs):
        return entry.obj(to_config(config), *args, **kwargs)
    run.__name__, run.__module__, run.__doc__ = entry.name, entry.module, entry.description
    project.register_script(entry.name, run, description=entry.description)
    _synced.add(key)


def _resolve_references(node, root) -> None:
    """``method_tag: <>decoder._adaae_tag`` takes the value at that path (omnifig's reference syntax)."""
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, value in list(items):
        if isinstance(value, str) and value.startswith('<>'):
            target = root
            for part in (p for p in value[2:].split('.') if p):
                if not isinstance(target, dict) or part not in target:
                    raise ConfigError(f'`{key}: {value}` refers to `{value[2:]}`, which the config does not set.')
                target = target[part]
            node[key] = target
        else:
            _resolve_references(value, root)
