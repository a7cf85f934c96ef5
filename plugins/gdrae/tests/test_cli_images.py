"""The README's image command at test size: train a/gdrae m/gdrae d/sprites for 2 steps, then gdrae-eval."""
import pytest
import json

from framework.testing import only_run, run_cli as fig

pytestmark = pytest.mark.slow        # end-to-end runs of the command line (.ci/run runs them)


def test_images_train_and_gdrae_eval(tmp_path):
    fig('train', 'hybrid', 'a/gdrae', 'm/gdrae', 'd/sprites', '--steps', '2', '--runs_root', str(tmp_path),
        '--progress', 'false', '--batch_size', '4', '--jacob_batch', '2', '--sv_hidden', '16',
        '--include_eval', 'false')
    run = only_run(tmp_path)
    saved = (run / 'config.yaml').read_text()
    assert 'decoder/gdrae-flow64' in saved and 'encoder/gdrae-conv' in saved and 'lambda_norm_sv: 0.01' in saved
    fig('gdrae-eval', '--load', str(run), '--jacob_points', '2')
    result = json.loads((run / 'results' / 'gdrae.json').read_text())
    assert len(result['predicted_sv']) == 10 and 'jacob_ortho' in result
    assert result['sv_match_err'] == result['sv_match_err_nmae']          # the reference's image definition
    assert (run / 'images' / 'gdrae_traversals.png').stat().st_size > 0
    # the README's `fig eval-metrics --load RUN` (framework suite) reads a gdrae run; one small metric here
    fig('eval-metrics', '--load', str(run), '--metrics', '{mig: {num_train: 200, num_bins: 10}}', '--ident', 'm')
    scores = json.loads((run / 'results' / 'm.json').read_text())
    assert 'mig' in json.dumps(scores)
