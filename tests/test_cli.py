"""End-to-end runs of the README's commands through the real command line (tiny step counts)."""
import pytest
import json
import re

import yaml

from conftest import REPO, only_run, run_cli

RUN_NAME = re.compile(r'^vec_vae1_e-mlp_d-mlp_\d{6}-\d{6}$')


@pytest.mark.slow
def test_fig_train_demo_writes_a_complete_run(runs_root):
    result = run_cli('train', 'demo-vec', '--steps', '30', '--ckpt_every', '10', '--log_every', '10',
                     runs_root=runs_root, entry='fig')
    run = only_run(runs_root)
    assert RUN_NAME.match(run.name), run.name
    config = yaml.safe_load((run / 'config.yaml').read_text())       # plain YAML, no python tags
    assert config['steps'] == 30 and config['method']['_type'] == 'method/vae'
    assert config['observation_shape'] == [100]
    assert {p.name for p in (run / 'checkpoints').iterdir()} == {'ckpt-10.pt', 'ckpt-20.pt', 'ckpt-30.pt',
                                                                  'last.pt'}
    assert list(run.glob('events.out.tfevents.*')) and (run / 'scalars.csv').is_file()
    assert {p.name for p in (run / 'images').iterdir()} == {'latents_vs_factors.png', 'loss_curves.png'}
    scores = json.loads((run / 'results' / 'eval.json').read_text())['scores']
    assert {'loss', 'rec_loss', 'kl'} <= set(scores)
    assert 'train' in result.stderr                                    # the tqdm bar


@pytest.mark.slow
def test_main_py_works_from_any_directory_and_evaluates(runs_root, tmp_path):
    run_cli('train', 'demo-vec', '--steps', '5', '--include_eval', 'false', runs_root=runs_root, cwd=tmp_path)
    run = only_run(runs_root)
    assert not (run / 'results' / 'eval.json').exists()
    run_cli('eval', '--load', run.name, '--mode', 'val', '--ident', 'check', runs_root=runs_root)
    result = json.loads((run / 'results' / 'check.json').read_text())
    assert result['mode'] == 'val' and result['step'] == 5 and result['observations'] == 2000


@pytest.mark.slow
def test_composed_flags_and_combined_architecture_files(runs_root):
    run_cli('train', 'hybrid', 'a/conv12', 'm/ae', 'd/vec', '--steps', '3', '--dataset.num-samples', '600',
            '--batch-size', '16', runs_root=runs_root)
    run = only_run(runs_root)
    assert run.name.startswith('vec_ae_e-conv12_d-conv12_')
    config = yaml.safe_load((run / 'config.yaml').read_text())
    assert config['encoder']['_type'] == 'encoder/conv12' and config['decoder']['_type'] == 'decoder/conv12'
    assert config['batch_size'] == 16 and config['dataset']['num_samples'] == 600
    assert config['encoder']['hidden'] == [64] and config['act'] == 'mish'


@pytest.mark.slow
def test_show_reports_where_each_value_came_from():
    out = run_cli('show', 'hybrid', 'a/e/conv12', 'a/d/conv12', 'm/vae', 'd/vec', '--reg-wt', '4').stdout
    lines = {line.split(':')[0].strip(): line for line in out.splitlines()}
    assert '4' in lines['reg_wt'] and 'command line' in lines['reg_wt']
    assert 'd/vec' in lines['lr'] and '0.001' in lines['lr']                 # d/vec's lr beats base's
    assert 'base' in lines['batch_size']
    assert 'hybrid' in lines['hybrid']


@pytest.mark.slow
def test_list_and_help():
    everything = run_cli('list').stdout
    for heading in ('datasets', 'encoders', 'decoders', 'methods', 'metrics', 'scripts'):
        assert heading in everything
    encoders = run_cli('list', 'encoder').stdout
    assert 'conv12' in encoders and 'dlib' in encoders and 'methods' not in encoders
    assert 'vae' in run_cli('list', 'method').stdout
    assert 'train' in run_cli('-h').stdout


@pytest.mark.slow
def test_unknown_names_fail_with_a_message_not_a_traceback():
    bad_script = run_cli('trian', 'demo', check=False)
    assert bad_script.returncode == 2 and "Did you mean 'train'" in bad_script.stderr
    assert 'Traceback' not in bad_script.stderr
    bad_config = run_cli('train', 'hybrid', 'a/conv21', 'm/vae', 'd/vec', check=False)
    assert bad_config.returncode == 2 and 'a/conv12' in bad_config.stderr
    bad_kind = run_cli('list', 'encoders', check=False)
    assert bad_kind.returncode == 2 and "Did you mean 'encoder'" in bad_kind.stderr


@pytest.mark.slow
def test_image_runs_write_png_grids(runs_root):
    run_cli('train', 'hybrid', 'a/dlib', 'm/vae', 'd/sprites', '--dataset.size', '32', '--steps', '3',
            '--batch_size', '8', '--include_eval', 'false', runs_root=runs_root)
    images = {p.name for p in (only_run(runs_root) / 'images').iterdir()}
    assert {'reconstructions.png', 'traversals.png', 'prior_samples.png', 'hybrid_samples.png'} <= images
