"""`fig eval --mode test` and `fig responses` on a tiny SAE-12 run."""
import json

import pytest

from framework.testing import only_run, run_cli

pytestmark = pytest.mark.slow        # end-to-end runs of the command line (.ci/run runs them)

TINY = ['--steps', '3', '--dataset.num_samples', '2000']


@pytest.fixture(scope='module')
def sae_run(tmp_path_factory):
    root = tmp_path_factory.mktemp('sae_runs')
    # --split.test 0.1: d/vec has no test split by default, and `fig eval --mode test` needs one
    run_cli('train', 'hybrid', 'a/e/conv12', 'a/d/strc/12', 'm/ae', 'd/vec', *TINY, '--split.test', '0.1',
            runs_root=root)
    return only_run(root)


def test_eval_on_the_test_split(sae_run):
    run_cli('eval', '--load', sae_run, '--mode', 'test', '--ident', 'test_results')
    result = json.loads((sae_run / 'results' / 'test_results.json').read_text())
    assert result['mode'] == 'test' and result['observations'] == 200 and 'rec_loss' in result['scores']


def test_responses_writes_each_definition_separately(sae_run):
    run_cli('responses', '--load', sae_run, '--num-latent', 200, '--num-response', 20, '--num-groups', 2,
        '--num-traversals', 2, '--traversal-samples', 8, '--continuous-values', 4)
    for year in ('2021', '2022'):
        report = json.loads((sae_run / 'results' / f'responses-{year}.json').read_text())
        assert report['definition'] == year
        assert len(report['latent_response_matrix']) == 12 and len(report['latent_response_matrix'][0]) == 12
        assert len(report['factor_response_matrix']) == 8 and len(report['factor_response_matrix'][0]) == 12
        assert 1 / 8 <= report['score'] <= 1
        assert (sae_run / 'images' / f'responses-{year}-latent.png').exists()
        assert (sae_run / 'images' / f'responses-{year}-factor.png').exists()
    assert 'scales' in json.loads((sae_run / 'results' / 'responses-2021.json').read_text())
