"""The thin layer over omnifig 1.0.10 that the rest of the project uses: compose, build, save, load.

Precedence is omnifig's own (a config file listed earlier wins over a later one; ``--key value`` wins over
all), which the papers' commands rely on. One module per job, all names importable from here:

- ``omnifig_patches``  reading YAML (``1e-3`` is a number) and lists that replace lists;
- ``build``            components built from their constructor signature (``Builder`` for sub-components);
- ``project``          finding the project from any directory, ``compose`` and ``create``, name checks;
- ``keys``             strict configs: every key must be read by a component, the script or the framework;
- ``provenance``       which file (or the command line) each value came from;
- ``saving``           the composed config as plain YAML for a run's ``config.yaml``.

``tests/test_config.py`` pins the omnifig behaviours worked around here.
"""
from omnifig.config.manager import ConfigManager  # noqa: F401  (tests patch and inspect it)

from .omnifig_patches import load_yaml
from .build import Builder, build_from_signature, coerce, is_builder, missing_component_message
from .saving import UNSAVED_KEYS, dump_yaml, to_plain
from .project import ROOT, attach, check_config_name, compose, config_names, configs_providing, create, project, \
    validate_types

__all__ = ['ConfigManager', 'load_yaml', 'Builder', 'build_from_signature', 'coerce', 'is_builder',
           'missing_component_message', 'UNSAVED_KEYS', 'dump_yaml', 'to_plain', 'ROOT', 'attach',
           'check_config_name', 'compose', 'config_names', 'configs_providing', 'create', 'project',
           'validate_types']
