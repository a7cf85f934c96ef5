"""The 3DShapes settings (S = 400, L2 reconstruction, hy_hes 20) train on the procedural shapes3d-synth."""
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_train_3dshapes_settings_on_shapes3d_synth(tmp_path):
    done = subprocess.run(
        [sys.executable, 'main.py', 'train', 'a/liegroup', 'm/liegroup-3dshapes', 'd/shapes3d-synth',
         '--steps', '2', '--runs_root', str(tmp_path), '--batch_size', '4', '--dataset.size', '32',
         '--eval_batches', '1', '--progress', 'false'],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    (run,) = tmp_path.glob('3ds-synth_liegroup*')
    config = (run / 'config.yaml').read_text()
    assert 'subgroup_sizes_ls:\n- 400' in config or 'subgroup_sizes_ls: [400]' in config
    assert "recons_loss_type: l2" in config and 'hy_hes: 20.0' in config
    scores = json.loads((run / 'results' / 'eval.json').read_text())['scores']
    assert 0 < scores['rec_loss'] <= 3 * 32 * 32           # L2 of a sigmoid output against [0, 1] pixels
