"""The framework core: a registry of components, the config layer, the trainer, runs and baselines.

From Python, with plain values (no omnifig object)::

    import framework
    encoder = framework.create('encoder', 'conv12', in_shape=(3, 64, 64), out_dim=12)
    framework.registry.names('method')              # every method, the plugins' included
    run = framework.load_run('RUN')                 # a trained run: run.method, run.config, run.dataset('test')
    cfg = framework.compose('demo', steps=10)       # the config `fig train demo --steps 10` runs with
"""
from . import registry
from .registry import register
from .errors import FrameworkError, ConfigError, DataError, RunError, TrainingDiverged
from .config import Builder, Config, compose, create
from . import cli  # noqa: F401,E402  (registers the command-line behaviors with omnifig)
from .loading import Run, load_run

# the core components register themselves on import
from . import nn, data, methods, metrics, scripts  # noqa: E402,F401

registry.enable_plugins()

__all__ = ['registry', 'register', 'create', 'compose', 'load_run', 'Run', 'Config', 'Builder', 'FrameworkError',
           'ConfigError', 'DataError', 'RunError', 'TrainingDiverged']
