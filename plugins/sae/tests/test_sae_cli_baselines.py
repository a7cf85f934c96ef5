"""The README's VLAE / beta-VAE / WAE commands on d/vec, with tiny --steps/--dataset.num_samples/--runs_root."""
import pytest
import yaml

from ._cli import TINY, fig, only_run


@pytest.mark.parametrize('configs, method, encoder, reg_wt', [
    (['hybrid', 'a/ladder/12', 'm/vae', 'd/vec'], 'method/vae', 'encoder/ladder', 1.0),           # VLAE-12
    (['hybrid', 'a/conv12', 'm/vae', 'd/vec', '--reg-wt', '2'], 'method/vae', 'encoder/conv12', 2.0),  # beta-VAE
    (['hybrid', 'a/conv12', 'm/wae', 'd/vec'], 'method/wae', 'encoder/conv12', 10.0),               # WAE
])
def test_baseline_commands_train(tmp_path, configs, method, encoder, reg_wt):
    fig('train', *configs, *TINY, '--runs_root', tmp_path)
    config = yaml.safe_load((only_run(tmp_path) / 'config.yaml').read_text())
    assert config['method']['_type'] == method and config['encoder']['_type'] == encoder
    assert config['reg_wt'] == reg_wt
