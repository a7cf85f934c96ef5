"""The framework core: a registry of components, the config layer, the trainer, runs and baselines.

From Python::

    import framework
    encoder = framework.create('encoder', 'conv12', in_shape=(3, 64, 64), out_dim=12)
    framework.registry.names('method')
"""
from . import registry
from .registry import register
from .errors import FrameworkError, ConfigError, DataError, RunError, TrainingDiverged
from .config import Builder, compose, create
from . import cli  # noqa: F401,E402  (registers the command-line behaviors with omnifig)

# the core components register themselves on import
from . import nn, data, methods, metrics, scripts  # noqa: E402,F401

__all__ = ['registry', 'register', 'create', 'compose', 'Builder', 'FrameworkError', 'ConfigError',
           'DataError', 'RunError', 'TrainingDiverged']
