"""The README's VLAE / beta-VAE / WAE commands on d/vec, with tiny --steps/--dataset.num_samples/--runs_root."""
import pytest
import yaml

from framework.testing import only_run, run_cli

pytestmark = pytest.mark.slow        # end-to-end runs of the command line (.ci/run runs them)

TINY = ['--steps', '3', '--dataset.num_samples', '2000']


@pytest.mark.parametrize('configs, method, encoder, reg_wt, kl_form, name', [
    (['hybrid', 'a/ladder/12', 'm/vae', 'd/vec'], 'method/vae', 'encoder/ladder', 1.0, 'sae-code',
     'vec_vlae12-beta1_e-ladder_d-ladder_'),                                                          # VLAE-12
    (['hybrid', 'a/conv12', 'sae/vae', 'd/vec', '--reg-wt', '2'], 'method/vae', 'encoder/conv12', 2.0, 'sae-code',
     'vec_vae2_e-conv12_d-conv12_'),                                                                  # beta-VAE
    (['hybrid', 'a/conv12', 'm/wae', 'd/vec'], 'method/wae', 'encoder/conv12', 10.0, None,
     'vec_wae10_e-conv12_d-conv12_'),                                                                 # WAE
])
def test_baseline_commands_train(tmp_path, configs, method, encoder, reg_wt, kl_form, name):
    run_cli('train', *configs, *TINY, runs_root=tmp_path)
    run = only_run(tmp_path)
    assert run.name.startswith(name)
    config = yaml.safe_load((run / 'config.yaml').read_text())
    assert config['method']['_type'] == method and config['encoder']['_type'] == encoder
    assert config['reg_wt'] == reg_wt
    assert config['method'].get('kl_form') == kl_form
