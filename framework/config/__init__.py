"""The config layer: omnifig 1.0.10 composes, everything else reads a plain ``Config``.

Precedence is omnifig's own (a config file listed earlier wins over a later one; ``--key value`` wins over
all), which the papers' commands rely on. One module per job, all names importable from here:

- ``tree``             the plain ``Config`` that scripts read and components are built from (no omnifig);
- ``build``            components built from their constructor signature (``Builder`` for sub-components);
- ``project``          finding the project from any directory, ``compose`` and ``create``, name checks;
- ``keys``             strict configs: every key must be read by a component, the script or the framework;
- ``shadowing``        one meaning per key: a value that a deeper key hides from its reader is refused;
- ``effective``        the values each component will be built with (``fig show``, ``fig sweep --dry-run``);
- ``provenance``       which file (or the command line) each value came from;
- ``yaml_values``      reading YAML (``1e-3`` is a number; a broken file names itself);
- ``omnifig_patches``  lists that replace lists, and the YAML reading above inside omnifig;
- ``saving``           the composed config as plain YAML for a run's ``config.yaml``.

``tests/test_config.py`` pins the omnifig behaviours worked around here.
"""
from omnifig.config.manager import ConfigManager  # noqa: F401  (tests patch and inspect it)

from . import omnifig_patches  # noqa: F401  (applied on import)
from .yaml_values import load_yaml
from .tree import Config
from .build import Builder, build_from_signature, is_builder, missing_component_message
from .saving import UNSAVED_KEYS, dump_yaml, to_plain
from .project import ROOT, attach, check_config_name, compose, config_names, configs_providing, create, project, \
    to_config, validate_types

__all__ = ['ConfigManager', 'load_yaml', 'Config', 'Builder', 'build_from_signature', 'is_builder',
           'missing_component_message', 'UNSAVED_KEYS', 'dump_yaml', 'to_plain', 'ROOT', 'attach',
           'check_config_name', 'compose', 'config_names', 'configs_providing', 'create', 'project',
           'to_config', 'validate_types']
