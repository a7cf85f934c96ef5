"""Finding the experiments: the core's folder, then a ``reproduce/`` folder beside each loaded plugin's module.

The core never names a plugin: a plugin declares experiments by shipping ``reproduce/<name>.yaml`` beside its
``__init__.py`` (or the folder its module names as ``REPRODUCE_DIR``), exactly as it ships ``config/``.
"""
from __future__ import annotations

import difflib
import importlib
from pathlib import Path

from ..config import load_yaml
from ..errors import ConfigError
from .experiment import Experiment, parse_experiment

CORE_DIR = Path(__file__).resolve().parent / 'experiments'


def experiment_dirs() -> list[tuple[str, Path]]:
    """(owner, folder) for the core and each selected plugin that has a reproduce folder."""
    from .. import plugins
    found = [('core', CORE_DIR)]
    for plugin in plugins.load_all():          # every selected plugin (STRUCTREP_PLUGINS), imported once
        module = importlib.import_module(plugin.module)
        declared = getattr(module, 'REPRODUCE_DIR', None)
        folder = Path(declared) if declared else Path(module.__file__).resolve().parent / 'reproduce'
        if folder.is_dir():
            found.append((plugin.name, folder))
    return found


def all_experiments() -> dict[str, tuple[str, Experiment]]:
    """Every experiment by name, with the plugin (or ``core``) that declares it; a name used twice is an error."""
    out: dict[str, tuple[str, Experiment]] = {}
    for owner, folder in experiment_dirs():
        for path in sorted(folder.glob('*.yaml')):
            experiment = parse_experiment(load_yaml(path), path)
            if experiment.name in out:
                other = out[experiment.name][1].source_file
                raise ConfigError(f'Two experiments are named {experiment.name!r}: {other} and {path}. Rename one.')
            out[experiment.name] = (owner, experiment)
    return out


def find_experiment(name: str) -> Experiment:
    """The experiment ``name``; an unknown name lists the known ones with the closest match."""
    known = all_experiments()
    if name in known:
        return known[name][1]
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.3)
    hint = f' Did you mean {close[0]!r}?' if close else ''
    raise ConfigError(f'Unknown experiment {name!r}.{hint} Known experiments: {", ".join(sorted(known))}. '
                      f'`fig reproduce` lists them with their data and cost.')
