"""The README commands, run as subprocesses at test size: train on Sector2D and on sprites, then gdrae-eval."""
import pytest
import json
import math

from framework.testing import only_run, run_cli as fig

SMALL_SECTOR = ['--dataset.num_samples', '512', '--batch_size', '16', '--jacob_batch', '8', '--decoder.width', '32',
                '--decoder.coupling_hidden', '32', '--encoder.hidden', '[32, 32]', '--sv_hidden', '32']


@pytest.mark.slow
def test_sector2d_train_and_gdrae_eval(tmp_path):
    fig('train', 'hybrid', 'm/gdrae', 'd/sector2d', '--steps', '5', '--runs_root', str(tmp_path),
        '--progress', 'false', '--eval_batches', '2', *SMALL_SECTOR)
    run = only_run(tmp_path)
    assert (run / 'checkpoints' / 'last.pt').exists()
    saved = (run / 'config.yaml').read_text()
    assert 'decoder/gdrae-flow' in saved and 'encoder/mlp' in saved and 'lambda_recon: 1000.0' in saved
    fig('gdrae-eval', '--load', str(run), '--num_points', '400', '--jacob_points', '8')
    result = json.loads((run / 'results' / 'gdrae.json').read_text())
    for key in ('angle_best_abs_corr', 'radius_best_abs_corr', 'jacob_ortho', 'sv_match_err', 'power_iteration_err',
                'abs_corr', 'predicted_sv'):
        assert key in result
    assert 0 <= result['angle_best_abs_corr'] <= 1 and len(result['abs_corr']) == 2
    assert result['sv_match_err'] == result['sv_match_err_ratio']         # the reference's Sector2D definition
    assert abs(result['capacity'] - math.exp(result['log_capacity'])) < 1e-6   # "capacity" is C, not log C
    assert result['power_iteration_err'] < 1e-2
    assert abs(result['predicted_sv'][0] * result['predicted_sv'][1] - 1) < 0.5   # Π s = 1 per point
    assert (run / 'images' / 'gdrae_chart.png').stat().st_size > 0
    assert (run / 'images' / 'gdrae_singular_values.png').stat().st_size > 0
    fig('gdrae-eval', '--load', str(run), '--checkpoint', 'ckpt-5.pt', '--ident', 'gdrae_step5', '--num_points', '200',
        '--jacob_points', '4')
    assert json.loads((run / 'results' / 'gdrae_step5.json').read_text())['step'] == 5
    assert (run / 'images' / 'gdrae_step5_chart.png').stat().st_size > 0          # named by ident, not overwritten
    fig('train', '--load', str(run), '--resume', '--steps', '7', '--progress', 'false', '--include_eval', 'false')
    assert (run / 'checkpoints' / 'ckpt-7.pt').exists()


def test_the_reduced_sector_config_shrinks_every_width_and_keeps_the_loss_weights():
    """`a/gdrae-sector-reduced` is listed first, so it wins over m/gdrae's widths and rate but not its weights."""
    from framework.config import compose, to_plain
    cfg = to_plain(compose('hybrid', 'a/gdrae-sector-reduced', 'm/gdrae', 'd/sector2d'))
    assert cfg['encoder'] == {'_type': 'encoder/mlp', 'hidden': [256, 256], 'act': 'relu'}
    assert cfg['decoder']['width'] == cfg['decoder']['coupling_hidden'] == cfg['sv_hidden'] == 256
    assert (cfg['lr'], cfg['steps'], cfg['batch_size'], cfg['jacob_batch'], cfg['sn_power']) == (1e-3, 50000, 64, 64, 5)
    assert (cfg['lambda_recon'], cfg['lambda_jacob_sn'], cfg['lambda_jacob_sv'], cfg['lambda_capacity']) == \
        (1000.0, 1000.0, 1.0, 10.0)
