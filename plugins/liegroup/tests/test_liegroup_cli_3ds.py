"""The 3DShapes settings (S = 400, L2 reconstruction, hy_hes 20) train on the procedural shapes3d-synth."""
import json

from framework.config import compose, to_plain
from framework.testing import run_cli


def test_the_paper_runs_train_on_the_whole_dataset():
    for config in ('m/liegroup-3dshapes', 'm/liegroup-dsprites'):
        assert to_plain(compose('a/liegroup', config, 'd/sprites'))['split'] == {'val': 0.0, 'test': 0.0, 'seed': 0}
    assert to_plain(compose('a/liegroup', 'm/liegroup', 'd/sprites'))['split']['val'] == 0.1


def test_train_3dshapes_settings_on_shapes3d_synth(tmp_path):
    # a held-out split asked for explicitly, so that the end-of-training evaluation has data
    run_cli('train', 'a/liegroup', 'm/liegroup-3dshapes', 'd/shapes3d-synth', '--steps', '2', '--runs_root',
            tmp_path, '--batch_size', '4', '--dataset.size', '32', '--eval_batches', '1', '--progress', 'false',
            '--split.val', '0.1')
    (run,) = tmp_path.glob('3ds-synth_liegroup*')
    config = (run / 'config.yaml').read_text()
    assert 'subgroup_sizes_ls:\n- 400' in config or 'subgroup_sizes_ls: [400]' in config
    assert "recons_loss_type: l2" in config and 'hy_hes: 20.0' in config
    scores = json.loads((run / 'results' / 'eval.json').read_text())['scores']
    assert 0 < scores['rec_loss'] <= 3 * 32 * 32           # L2 of a sigmoid output against [0, 1] pixels
