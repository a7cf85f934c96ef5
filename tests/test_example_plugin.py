"""The example plugin outside the framework tree (examples/structrep-example-plugin), installed as a user would.

It is pip-installed offline into a temporary folder (never into the environment), then used from a subprocess
that has that folder on PYTHONPATH: its entry point must be declared, the framework must find it, and the
registry-driven tests (tests/test_registry_components.py) must pick up its method with no extra code.
"""
from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys

import pytest

from framework.testing import REPO

pytestmark = pytest.mark.slow        # end-to-end runs of the command line (.ci/run runs them)

EXAMPLE = REPO / 'examples' / 'structrep-example-plugin'
DISCOVERY = importlib.util.find_spec('framework.plugins') is not None
needs_discovery = pytest.mark.skipif(
    not DISCOVERY, reason='needs entry-point discovery of plugins (framework/plugins.py, from the "cli" branch)')


@pytest.fixture(scope='module')
def installed(tmp_path_factory):
    """The plugin pip-installed into a fresh target folder, built from a copy (the build writes beside its source)."""
    root = tmp_path_factory.mktemp('example-plugin')
    source, target = root / 'source', root / 'site'
    shutil.copytree(EXAMPLE, source)
    result = subprocess.run([sys.executable, '-m', 'pip', 'install', '--no-deps', '--no-build-isolation', '--no-index',
                             '--quiet', '--target', str(target), str(source)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return source, target


def run_python(target, *args, cwd=REPO, timeout=300):
    """``python ARGS`` with the installed plugin and this repository importable, on one thread."""
    env = {k: v for k, v in os.environ.items() if k != 'STRUCTREP_PLUGINS'}
    env.update(PYTHONPATH=os.pathsep.join([str(target), str(REPO)]), OMP_NUM_THREADS='1', PYTHONUNBUFFERED='1')
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def test_install_declares_the_entry_point_and_ships_the_configs(installed):
    _, target = installed
    assert (target / 'structrep_sparse_ae' / 'config' / 'm' / 'sparse-ae.yaml').is_file()
    code = ("from importlib import metadata; "
            "print(sorted((p.name, p.value) for p in metadata.entry_points(group='structrep.plugins')))")
    result = run_python(target, '-c', code)
    assert result.returncode == 0, result.stderr
    assert "('sparse-ae', 'structrep_sparse_ae')" in result.stdout


def test_importing_the_module_registers_the_method(installed):
    _, target = installed
    result = run_python(target, '-c', 'import framework, structrep_sparse_ae; '
                                      'print(framework.registry.get("method", "sparse-ae").module)')
    assert result.returncode == 0, result.stderr
    assert 'structrep_sparse_ae.method' in result.stdout


@needs_discovery
def test_the_framework_finds_it_by_its_entry_point(installed):
    _, target = installed
    result = run_python(target, 'main.py', 'list', 'method')
    assert result.returncode == 0, result.stdout + result.stderr
    assert 'sparse-ae' in result.stdout


@needs_discovery
def test_registry_driven_tests_pick_it_up(installed):
    _, target = installed
    result = run_python(target, '-m', 'pytest', '-rA', '-p', 'no:cacheprovider', '-k', 'sparse-ae',
                        str(REPO / 'tests' / 'test_registry_components.py'))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert 'PASSED tests/test_registry_components.py::test_method_one_training_step[sparse-ae]' in result.stdout


@needs_discovery
def test_the_plugins_own_tests_pass(installed):
    source, target = installed
    result = run_python(target, '-m', 'pytest', '-p', 'no:cacheprovider', str(source / 'tests'), cwd=source)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
