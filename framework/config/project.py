"""The project: this repository's configs and components as an omnifig project, found from any directory.

``fig`` and ``python main.py`` activate it through ``framework._figboot`` (named in ``.fig.project.yml``), which
imports the framework and the plugins and then calls ``attach``; from Python, ``compose`` and ``create``
activate it on first use, wherever the current directory is.
"""
from __future__ import annotations

import difflib
from functools import lru_cache
from pathlib import Path

import omnifig as fig

from .. import registry
from ..errors import ConfigError
from .build import component_factory, script_runner
from .omnifig_patches import load_yaml

ROOT = Path(__file__).resolve().parents[2]

_synced: set[tuple[int, str]] = set()


def attach(project) -> None:
    """Mirror the registry into ``project`` and add each plugin's config folder (called while booting)."""
    from .. import plugins
    registry.on_register(lambda entry: _sync_entry(project, entry))
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


def _sync_entry(project, entry: registry.Entry) -> None:
    key = (id(project), entry.type_name)
    if key in _synced or entry.kind == 'metric':
        return
    if entry.kind == 'script':
        project.register_script(entry.name, script_runner(entry), description=entry.description)
    else:
        project.register_artifact('component', entry.type_name, component_factory(entry),
                                  description=entry.description, creator=None)
    _synced.add(key)
