"""Plugin discovery: entry points of the group `structrep.plugins`, or the project's list for a bare checkout."""
import sys
import tomllib

import pytest

from conftest import REPO
from framework import plugins, registry
from framework.config.yaml_values import load_yaml


def fake_installed_plugin(root, module='outside_plugin', name='outside'):
    """What `pip install` of an outside plugin leaves: the module (with config/) and its entry point."""
    package = root / module
    (package / 'config' / 'm').mkdir(parents=True)
    (package / '__init__.py').write_text(
        'from framework import register\n'
        'from framework.methods.ae import Autoencoder\n\n\n'
        f'@register.method("{name}-ae")\n'
        'class OutsideAE(Autoencoder):\n'
        '    """An autoencoder registered by an installed plugin."""\n')
    (package / 'config' / 'm' / f'{name}-ae.yaml').write_text(f'method: {{_type: method/{name}-ae}}\n')
    dist = root / f'{module}-0.1.dist-info'
    dist.mkdir()
    (dist / 'METADATA').write_text(f'Metadata-Version: 2.1\nName: {module}\nVersion: 0.1\n')
    (dist / 'entry_points.txt').write_text(f'[structrep.plugins]\n{name} = {module}\n')


def test_an_installed_plugin_is_found_by_its_entry_point(tmp_path, monkeypatch):
    fake_installed_plugin(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    found = {p.name: p for p in plugins.discover()}
    assert found['outside'].module == 'outside_plugin'
    loaded = plugins.load(found['outside'])
    assert loaded.config_dir == tmp_path / 'outside_plugin' / 'config'
    assert 'outside-ae' in registry.names('method')
    monkeypatch.delitem(sys.modules, 'outside_plugin')


def test_a_bare_checkout_finds_its_plugins_from_the_project_list(monkeypatch):
    monkeypatch.setattr(plugins, '_entry_points', lambda: [])          # not pip-installed
    names = [p.name for p in plugins.discover()]
    assert names == ['gdrae', 'liegroup', 'msp', 'sae']
    assert all(p.module == f'plugins.{p.name}' for p in plugins.discover())


def test_an_entry_point_and_the_project_list_naming_one_module_load_it_once(monkeypatch):
    monkeypatch.setattr(plugins, '_entry_points', lambda: [('msp', 'plugins.msp')])
    modules = [p.module for p in plugins.discover()]
    assert modules.count('plugins.msp') == 1


def test_the_loaded_plugins_bring_their_config_folders():
    loaded = {p.name: p for p in plugins.load_all()}
    assert loaded['msp'].config_dir == REPO / 'plugins' / 'msp' / 'config'
    assert 'msp' in registry.names('method')


def test_structrep_plugins_selects_by_name(monkeypatch):
    monkeypatch.setenv('STRUCTREP_PLUGINS', 'msp, sae')
    assert plugins.selected('msp') and plugins.selected('sae') and not plugins.selected('gdrae')
    monkeypatch.setenv('STRUCTREP_PLUGINS', 'none')
    assert not plugins.selected('msp')
    monkeypatch.delenv('STRUCTREP_PLUGINS')
    assert plugins.selected('anything')


def test_a_plugin_whose_module_is_missing_says_how_to_leave_it_out():
    with pytest.raises(Exception, match='STRUCTREP_PLUGINS'):
        plugins.load(plugins.Plugin('gone', 'no_such_plugin_module'))


def test_pyproject_declares_the_same_plugins_as_the_project_list():
    declared = tomllib.loads((REPO / 'pyproject.toml').read_text())['project']['entry-points']['structrep.plugins']
    listed = load_yaml(REPO / '.fig.project.yml')['plugins']
    assert sorted(declared.values()) == sorted(listed)
    assert all(module == f'plugins.{name}' for name, module in declared.items())


def test_structrep_plugins_limits_what_the_command_line_loads(tmp_path):
    import os
    import subprocess
    env = {**os.environ, 'STRUCTREP_PLUGINS': 'msp', 'PYTHONPATH': str(REPO), 'OMP_NUM_THREADS': '1'}
    result = subprocess.run([sys.executable, str(REPO / 'main.py'), 'list', 'method'], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert '  msp ' in result.stdout and 'gdrae' not in result.stdout and 'liegroup' not in result.stdout
