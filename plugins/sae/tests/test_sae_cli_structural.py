"""The README's SAE commands on d/vec, unchanged but for tiny --steps/--dataset.num_samples/--runs_root."""
import pytest
import yaml

from framework.testing import only_run, run_cli

pytestmark = pytest.mark.slow        # end-to-end runs of the command line (.ci/run runs them)

TINY = ['--steps', '3', '--dataset.num_samples', '2000']


@pytest.mark.parametrize('configs, split, blocks, name', [
    (['hybrid', 'a/e/conv12', 'a/d/strc/12', 'm/ae', 'd/vec'], True, 12, 'vec_sae12_e-conv12_d-strc_'),
    (['hybrid', 'a/e/conv12', 'a/d/strc/6', 'm/ae', 'd/vec'], True, 6, 'vec_sae6_e-conv12_d-strc_'),
    (['hybrid', 'nosplit', 'a/e/conv12', 'a/d/strc/12', 'm/ae', 'd/vec'], False, 12, 'vec_adaae12_e-conv12_d-strc_'),
])
def test_structural_commands_train(tmp_path, configs, split, blocks, name):
    run_cli('train', *configs, *TINY, runs_root=tmp_path)
    run = only_run(tmp_path)
    assert run.name.startswith(name)
    config = yaml.safe_load((run / 'config.yaml').read_text())
    assert config['decoder']['_type'] == 'decoder/strc' and config['decoder']['blocks'] == blocks
    assert config['decoder']['split_latent'] is split
    assert config['act'] == 'mish' and config['hybrid'] is True and config['method']['_type'] == 'method/ae'
