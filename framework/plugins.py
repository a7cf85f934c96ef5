"""Plugin discovery: which packages add components and configs, found without the framework naming them.

A plugin is a Python module that registers its components when imported (``@register.method('msp')``). It is
found in two ways, and each module is imported once:

1. **Entry points** of the group ``structrep.plugins``, for a plugin installed as a package::

       # the plugin's pyproject.toml
       [project.entry-points."structrep.plugins"]
       mymethod = "mymethod"          # name = module to import

2. **The project's list**, ``plugins:`` in ``.fig.project.yml`` (module names), so that a bare checkout that is
   not pip-installed (``python main.py ...``) finds the plugins it ships.

A plugin's configs are the folder ``config/`` beside its module (``<module dir>/config``), or the folder its
module names as ``CONFIG_DIR``; they join the config tree (``fig train m/mymethod ...``).
``STRUCTREP_PLUGINS=msp,sae`` loads only the plugins of those names (``none`` loads none), e.g. to isolate a
broken plugin; a plugin's name is its entry point's name, or the last part of its module name.
"""
from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from .errors import ConfigError

GROUP = 'structrep.plugins'
PROJECT_FILE = Path(__file__).resolve().parent.parent / '.fig.project.yml'


@dataclass(frozen=True)
class Plugin:
    """A discovered plugin: its name (for ``STRUCTREP_PLUGINS``), module and config folder (or None)."""
    name: str
    module: str
    config_dir: Path | None = None


_loaded: dict[str, Plugin] = {}


def discover() -> list[Plugin]:
    """The plugins declared by entry points and by the project's list, in that order, each module once."""
    found: dict[str, Plugin] = {}
    for name, module in _entry_points() + _project_list():
        found.setdefault(module, Plugin(name, module))
    return list(found.values())


def selected(name: str) -> bool:
    """Whether ``STRUCTREP_PLUGINS`` (unset: all) lets the plugin ``name`` load."""
    choice = os.environ.get('STRUCTREP_PLUGINS')
    if choice is None:
        return True
    return name in {part.strip() for part in choice.split(',')}


def load_all() -> list[Plugin]:
    """Import every selected plugin (registering its components); returns them with their config folders."""
    for plugin in discover():
        if selected(plugin.name) and plugin.module not in _loaded:
            _loaded[plugin.module] = load(plugin)
    return loaded()


def loaded() -> list[Plugin]:
    """The plugins imported so far, in the order they were loaded."""
    return list(_loaded.values())


def load(plugin: Plugin) -> Plugin:
    """Import one plugin's module and find its config folder."""
    try:
        module = importlib.import_module(plugin.module)
    except ModuleNotFoundError as exc:
        if exc.name and plugin.module.startswith(exc.name):
            raise ConfigError(f'Plugin {plugin.name!r} names the module {plugin.module!r}, which cannot be imported. '
                              f'Install the plugin, or leave it out with STRUCTREP_PLUGINS=<the others>.') from None
        raise
    declared = getattr(module, 'CONFIG_DIR', None)
    folder = Path(declared) if declared else Path(module.__file__).resolve().parent / 'config'
    return Plugin(plugin.name, plugin.module, folder if folder.is_dir() else None)


def _entry_points() -> list[tuple[str, str]]:
    return sorted((point.name, point.value) for point in metadata.entry_points(group=GROUP))


def _project_list() -> list[tuple[str, str]]:
    if not PROJECT_FILE.is_file():
        return []
    from .config.yaml_values import load_yaml
    modules = (load_yaml(PROJECT_FILE) or {}).get('plugins') or []
    return [(module.rpartition('.')[2], module) for module in modules]
