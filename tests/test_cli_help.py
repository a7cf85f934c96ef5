"""Help that helps: `fig`, `fig -h`, `fig <script> -h`, `fig list kind`, and the command line from anywhere."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, run_in_process
from framework import cli, registry


def test_bare_fig_prints_usage_scripts_config_folders_and_examples():
    code, text = run_in_process()
    assert code == 0, text
    assert text.startswith('Usage: fig <script>')
    for script in ('train', 'eval', 'show', 'list', 'download-dataset'):
        assert f'\n  {script} ' in text
    for folder in ('a/e/', 'a/d/', 'm/', 'd/', 'eval/'):
        assert f'\n  {folder} ' in text
    assert 'conv12' in text and 'vae' in text and 'Examples:' in text and 'fig train demo' in text
    assert 'earlier wins' in text
    assert run_in_process('-h') == (code, text)


def test_train_help_lists_each_key_with_type_default_and_a_line():
    code, text = run_in_process('train', '-h')
    assert code == 0 and 'Unknown config' not in text, text
    lines = {line.split()[0]: line for line in text.splitlines() if line.startswith('  ') and line.split()}
    assert lines['steps'].split()[1:4] == ['int', '100000', 'optimisation']
    assert lines['batch_size'].split()[1:3] == ['int', '128']
    assert lines['schedule'].split()[1:] == ['str', 'none', 'learning-rate', 'schedule:', 'none', '|', 'cosine', '|', 'step']
    assert lines['include_eval'].split()[1:3] == ['bool', 'true']
    for key in ('load', 'device', 'runs_root', 'dataset', 'method', 'split'):
        assert key in lines
    assert 'How configs compose' in text and '--key value' in text
    assert run_in_process('train', '--help') == (code, text)


@pytest.mark.parametrize('script', ['eval', 'list', 'show', 'download-dataset', 'eval-metrics'])
def test_every_script_has_help(script):
    assert script in registry.names('script')
    code, text = run_in_process(script, '-h')
    assert code == 0 and text.startswith(f'Usage: fig {script}'), text


def test_eval_and_download_help_show_their_keys():
    text = run_in_process('eval', '-h')[1]
    assert 'mode' in text and 'the split to score' in text and 'eval_batches' in text
    text = run_in_process('download-dataset', '-h')[1]
    assert '3dshapes' in text and 'root' in text


def test_list_kind_lists_the_kinds_instead_of_recommending_itself():
    code, text = run_in_process('list', 'kind')
    assert code == 0, text
    for kind in registry.KINDS:
        assert f'\n  {kind} ' in text
    code, text = run_in_process('list', 'encoders')
    assert code == 2 and "Did you mean 'encoder'" in text and 'fig list kind' not in text


def _python(*args, cwd: Path):
    env = {**os.environ, 'PYTHONPATH': str(REPO), 'OMP_NUM_THREADS': '1'}
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.slow
def test_python_dash_m_framework_works_outside_the_repository(tmp_path):
    result = _python('-m', 'framework', 'list', 'kind', cwd=tmp_path)
    assert result.returncode == 0 and 'encoder' in result.stdout, result.stderr
    result = _python(str(REPO / 'main.py'), cwd=tmp_path)                 # bare, from elsewhere: usage
    assert result.returncode == 0 and 'Usage: fig' in result.stdout and 'Traceback' not in result.stderr
    result = _python('-m', 'framework', 'train', 'demo', '--stpes', '1', cwd=tmp_path)
    assert result.returncode == 2 and 'did you mean `steps`' in result.stderr
    assert 'Traceback' not in result.stderr


def test_the_fig_console_script_defers_to_omnifig_inside_another_project(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(cli, 'entry', lambda: calls.append('ours'))
    monkeypatch.setattr(cli.fig, 'entry', lambda: calls.append('omnifig'))
    monkeypatch.chdir(tmp_path)
    cli.fig_entry()                                   # outside any project: this one
    other = tmp_path / 'other'
    (other / 'sub').mkdir(parents=True)
    (other / '.fig.project.yml').write_text('name: other\n')
    monkeypatch.chdir(other / 'sub')
    cli.fig_entry()                                   # inside someone else's omnifig project: theirs
    monkeypatch.chdir(REPO / 'framework')
    cli.fig_entry()                                   # inside this repository: this one
    assert calls == ['ours', 'omnifig', 'ours']
