"""The framework core: a registry of components, the config layer, the trainer, runs and baselines.

From Python, with plain values (no omnifig object)::

    import framework
    encoder = framework.create('encoder', 'conv12', in_shape=(3, 64, 64), out_dim=12)
    framework.registry.names('method')              # every method, the plugins' included
    run = framework.load_run('RUN')                 # a trained run: run.method, run.config, run.dataset('test')
    cfg = framework.compose('demo', steps=10)       # the config `fig train demo --steps 10` runs with

``import framework`` imports neither torch nor omnifig: the names below load their modules when first used, and
the core's components (with torch) register themselves at the registry's first lookup. A script or notebook
that only lists or composes pays for what it touches.
"""
import importlib

from . import registry
from .registry import register
from .errors import FrameworkError, ConfigError, DataError, RunError, TrainingDiverged

# public name -> the module that defines it, imported on first access (PEP 562)
_LAZY = {'Builder': 'framework.config', 'Config': 'framework.config', 'compose': 'framework.config',
         'create': 'framework.config', 'Run': 'framework.loading', 'load_run': 'framework.loading'}


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
    else:
        try:     # a submodule used as an attribute (``framework.nn``) after a bare ``import framework``
            value = importlib.import_module(f'{__name__}.{name}')
        except ModuleNotFoundError as exc:
            if exc.name != f'{__name__}.{name}':
                raise
            raise AttributeError(f'module {__name__!r} has no attribute {name!r}') from None
    globals()[name] = value
    return value


registry.enable_plugins()

__all__ = ['registry', 'register', 'create', 'compose', 'load_run', 'Run', 'Config', 'Builder', 'FrameworkError',
           'ConfigError', 'DataError', 'RunError', 'TrainingDiverged']
