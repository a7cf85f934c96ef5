"""The README's SAE commands on d/vec, unchanged but for tiny --steps/--dataset.num_samples/--runs_root."""
import pytest
import yaml

from ._cli import TINY, fig, only_run


@pytest.mark.parametrize('configs, split, blocks', [
    (['hybrid', 'a/e/conv12', 'a/d/strc/12', 'm/ae', 'd/vec'], True, 12),              # SAE-12
    (['hybrid', 'a/e/conv12', 'a/d/strc/6', 'm/ae', 'd/vec'], True, 6),                # SAE-6
    (['hybrid', 'nosplit', 'a/e/conv12', 'a/d/strc/12', 'm/ae', 'd/vec'], False, 12),  # AdaAE-12
])
def test_structural_commands_train(tmp_path, configs, split, blocks):
    fig('train', *configs, *TINY, '--runs_root', tmp_path)
    config = yaml.safe_load((only_run(tmp_path) / 'config.yaml').read_text())
    assert config['decoder']['_type'] == 'decoder/strc' and config['decoder']['blocks'] == blocks
    assert config['decoder']['split_latent'] is split
    assert config['act'] == 'mish' and config['hybrid'] is True and config['method']['_type'] == 'method/ae'
