"""`fig eval-metrics eval/responses-fast`, `fig responses --variant 2022` and `fig sae-fid` on a tiny SAE-12 run."""
import json
import shutil

import pytest

from framework.testing import only_run, run_cli

pytestmark = pytest.mark.slow        # end-to-end runs of the command line (.ci/run runs them)

TINY = ['--steps', '3', '--dataset.num_samples', '2000']


@pytest.fixture(scope='module')
def sae_run(tmp_path_factory):
    root = tmp_path_factory.mktemp('sae_runs')
    run_cli('train', 'hybrid', 'a/e/conv12', 'a/d/strc/12', 'm/ae', 'd/vec', *TINY, runs_root=root)
    return only_run(root)


def test_eval_metrics_runs_the_registered_response_metrics(sae_run):
    run_cli('eval-metrics', 'eval/responses-fast', '--load', sae_run)
    report = json.loads((sae_run / 'results' / 'metrics-responses-fast.json').read_text())
    assert report['suite'] == 'eval/responses-fast'
    assert 0 < report['metrics']['responses-2021']['values']['disentanglement'] <= 1
    assert 0 < report['metrics']['responses-2022']['values']['cds'] <= 1


def test_fid_skips_with_a_message_without_inception_weights(sae_run, tmp_path):
    done = run_cli('sae-fid', '--load', sae_run, '--inception-weights', tmp_path / 'missing.pth')
    assert 'sae-fid skipped: no Inception weights at' in done.stdout + done.stderr


def test_responses_with_one_definition(sae_run):
    shutil.rmtree(sae_run / 'results')                # a run whose results were deleted still gets its report
    run_cli('responses', '--load', sae_run, '--variant', 2022, '--num-traversals', 2, '--traversal-samples', 8,
        '--num-latent', 100, '--continuous-values', 4, '--mode', 'train')
    report = json.loads((sae_run / 'results' / 'responses-2022.json').read_text())
    assert report['definition'] == '2022' and report['settings']['num_traversals'] == 2
    assert report['settings']['response_base'] == 'prior' and report['cpu_seconds'] > 0
    assert not (sae_run / 'results' / 'responses-2021.json').exists()
