"""The framework's procedural datasets as MSP factor-walk sequences through the CLI, and the README commands."""
import json

from framework.testing import only_run

from .test_cli import fig

FAST = ['--batch_size', '2', '--include_eval', 'false', '--progress', 'false']


def test_conv12_on_sprites_and_3ds_config(tmp_path):
    """`train hybrid a/conv12 m/msp d/sprites` (32x32 here to stay quick); `a/e/conv12 m/msp d/3ds` composes."""
    fig('train', 'hybrid', 'a/conv12', 'm/msp', 'd/sprites', '--steps', '2', '--dataset.size', '32', *FAST,
            '--runs_root', tmp_path)
    config = (only_run(tmp_path) / 'config.yaml').read_text()
    assert 'encoder/conv12' in config and 'dataset/sprites' in config
    shown = fig('show', 'hybrid', 'a/e/conv12', 'm/msp', 'd/3ds')
    assert 'encoder/conv12' in shown and 'decoder/msp-resnet' in shown and 'method/msp' in shown


def test_readme_reduced_experiment_commands(tmp_path):
    """The README's commands, with --steps 2 and a tiny evaluation."""
    for method in ('msp', 'neural-m'):
        fig('train', 'a/msp-reduced', f'm/{method}', 'd/msp-sprites-16', '--steps', '2', '--lr', '1.0e-3',
                '--step_size', '800', *FAST, '--runs_root', tmp_path / method)
    runs = [only_run(tmp_path / m) for m in ('msp', 'neural-m')]
    fig('eval-msp', '--load', *runs, '--length', '5', '--num_batches', '1', '--eval_batch_size', '4',
            '--out', tmp_path / 'plot')
    result = json.loads((runs[0] / 'results' / 'eval-msp.json').read_text())
    assert result['active_factors'] == ['scale', 'orientation', 'posX', 'posY']
    assert (tmp_path / 'plot' / 'eval-msp.png').exists()


def test_active_factors_from_the_command_line(tmp_path):
    """`--active_factors posX` (one name) and a list both choose the evaluation's moving factors."""
    fig('train', 'a/msp-tiny', 'm/msp', 'd/msp-sprites-16', '--steps', '1', *FAST, '--runs_root', tmp_path)
    run = only_run(tmp_path)
    fig('eval-msp', '--load', run, '--length', '4', '--num_batches', '1', '--eval_batch_size', '2',
        '--active_factors', 'posX')
    assert json.loads((run / 'results' / 'eval-msp.json').read_text())['active_factors'] == ['posX']
    fig('eval-msp', '--load', run, '--length', '4', '--num_batches', '1', '--eval_batch_size', '2',
        '--active_factors', '[scale, posY]')
    assert json.loads((run / 'results' / 'eval-msp.json').read_text())['active_factors'] == ['scale', 'posY']
