"""The framework as a library: plain values in, components and trained runs out, from any directory."""
from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
import torch

import framework
from framework.errors import ConfigError
from framework.testing import only_run, run_cli

NOTEBOOK = textwrap.dedent('''
    import json, sys, torch
    import framework
    methods = framework.registry.names('method')
    run = framework.load_run(sys.argv[1], device='cpu')
    test = run.dataset('test')
    x = torch.stack([test[i]['x'] for i in range(5)])
    codes = run.method.represent(x)
    traversal = run.method.decode(codes[:1].repeat(3, 1) + torch.linspace(-1, 1, 3)[:, None])
    print(json.dumps({'methods': methods, 'codes': list(codes.shape), 'traversal': list(traversal.shape),
                      'step': run.step, 'reg_wt': run.config['reg_wt'], 'training': run.method.training,
                      'omnifig_config': any('omnifig' in type(v).__module__ for v in vars(run).values())}))
''')


@pytest.mark.slow
def test_a_run_loads_from_outside_the_checkout_with_plain_values(tmp_path):
    runs_root = tmp_path / 'runs'
    run_cli('train', 'demo-vec', '--steps', '3', '--reg-wt', '2', '--include_eval', 'false', runs_root=runs_root)
    run = only_run(runs_root)
    elsewhere = tmp_path / 'notebook'
    elsewhere.mkdir()
    result = subprocess.run([sys.executable, '-c', NOTEBOOK, str(run)], cwd=elsewhere, capture_output=True,
                            text=True, timeout=300, env={'OMP_NUM_THREADS': '1', 'PATH': '/usr/bin:/bin'})
    assert result.returncode == 0, result.stderr[-3000:]
    import json
    out = json.loads(result.stdout.strip().splitlines()[-1])
    for name in ('vae', 'msp', 'liegroup', 'gdrae', 'neural-m'):       # the plugins' methods, right after import
        assert name in out['methods'], name
    assert out['codes'] == [5, 12] and out['traversal'] == [3, 100]
    assert out['step'] == 3 and out['reg_wt'] == 2 and out['training'] is False and not out['omnifig_config']


def test_create_builds_any_component_from_plain_values():
    method = framework.create('method', 'vae', encoder={'_type': 'encoder/mlp', 'hidden': [8]},
                              decoder={'_type': 'decoder/mlp', 'hidden': [8]}, observation_shape=[4], latent_dim=2,
                              reg_wt=3)
    assert method.reg_wt == 3.0 and isinstance(method.reg_wt, float)
    assert method.represent(torch.zeros(5, 4)).shape == (5, 2)
    with pytest.raises(ConfigError, match='`--reg_wt` must be at least 0'):
        framework.create('method', 'vae', encoder={'_type': 'encoder/mlp'}, decoder={'_type': 'decoder/mlp'},
                         observation_shape=[4], reg_wt=-1)


def test_a_composed_config_builds_each_component_once():
    cfg = framework.compose('a/mlp', 'm/ae', 'd/vec', **{'dataset.num_samples': 200})
    assert cfg.build('dataset') is cfg.build('dataset')
    cfg.set('dataset.num_samples', 300)              # a changed value builds the component again
    assert len(cfg.build('dataset')) == 300
    assert cfg.get('dataset._type') == 'dataset/vec' and cfg.origin('dataset.num_samples') == 'the command line'


@pytest.mark.parametrize('channels_last', ['true', 'false'])
def test_a_loaded_run_keeps_the_conv_layout_it_trained_with(tmp_path, channels_last):
    from framework.testing import run_in_process
    root = tmp_path / 'runs'
    code, text = run_in_process('train', 'a/dlib', 'm/vae', 'd/sprites', '--dataset.size', '16', '--steps', '2',
                                '--batch_size', '8', '--channels_last', channels_last, '--include_eval', 'false',
                                '--progress', 'false', '--runs_root', str(root))
    assert code in (0, None), text[-3000:]
    run = framework.load_run(only_run(root), device='cpu')
    conv = [m for m in run.method.modules() if isinstance(m, torch.nn.Conv2d)][1]   # 32 channels in: not both
    assert conv.weight.is_contiguous(memory_format=torch.channels_last) == (channels_last == 'true')
    x = torch.stack([run.dataset('test')[i]['x'] for i in range(4)])
    codes = run.method.represent(x)
    run.method.to(memory_format=torch.contiguous_format)            # the same weights in torch's default layout
    assert torch.allclose(codes, run.method.represent(x), atol=1e-5)
