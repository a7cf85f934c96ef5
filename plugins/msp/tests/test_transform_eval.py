"""Evaluation on transformation sequences (sequential MNIST's kind): shared velocities, and the CLI end to end."""
import json

import numpy as np
import torch

from plugins.msp.scripts import TransformWalker

from .clihelp import main_py, only_run


class FakeTransforms:
    """Stands in for transform-seq: draw gives per-sequence velocities; batch returns the drawn angles/hues."""
    actions = ('rotation', 'hue', 'translation')
    length, max_length, seed = 3, 9, 0

    class base:
        def __len__(self):
            return 50
    base = base()

    def draw(self, indices):
        g = torch.Generator().manual_seed(self.seed)
        n, t = len(indices), torch.arange(self.length, dtype=torch.float32)[None]
        v, acc = torch.randn(n, 4, generator=g), torch.zeros(n, 4)
        start = torch.rand(n, 4, generator=g)
        return {'angle': start[:, :1] + v[:, :1] * t, 'hue': (start[:, 1:2] + v[:, 1:2] * t) % 1,
                'translation': start[:, None, 2:] + v[:, None, 2:] * t[..., None], 'velocity': v, 'acceleration': acc}

    def batch(self, indices):
        s = self.draw(indices)
        return {'x': torch.cat([s['angle'][..., None], s['hue'][..., None], s['translation']], -1)}


def test_shared_velocity_and_frozen_actions():
    walker = TransformWalker(FakeTransforms(), active=['rotation', 'translation'])
    x = walker.frames(5, 6, np.random.RandomState(0), shared=True)       # (5, 6, 4): angle, hue, tx, ty
    steps = x[:, 1:] - x[:, :-1]
    assert x.shape == (5, 6, 4)
    assert torch.allclose(steps[:, :, 0], steps[:1, :1, 0].expand(5, 5), atol=1e-6)   # one shared angular velocity
    assert torch.allclose(steps[:, :, 2:], steps[:1, :1, 2:].expand(5, 5, 2), atol=1e-6)
    assert torch.allclose(steps[:, :, 1], torch.zeros(5, 5), atol=1e-6)               # hue frozen
    assert len(set(x[:, 0, 0].tolist())) == 5                                          # initial states differ
    own = walker.frames(5, 6, np.random.RandomState(0), shared=False)
    assert not torch.allclose(own[:, 1, 0] - own[:, 0, 0], own[:1, 1, 0] - own[:1, 0, 0])


def test_eval_msp_on_transform_sequences(tmp_path):
    config = tmp_path / 'sprites_seq.yaml'
    config.write_text('_base: [base]\ndataset: {_type: dataset/transform-seq, base: {_type: dataset/sprites, '
                      'size: 16}, length: 3, translation_range: [-2.0, 2.0]}\ndataset_tag: sprites-seq\n')
    main_py('train', 'a/msp-tiny', 'm/msp', str(config), '--steps', '2', '--batch_size', '4',
            '--include_eval', 'false', '--progress', 'false', '--runs_root', tmp_path / 'runs')
    run = only_run(tmp_path / 'runs')
    main_py('eval-msp', '--load', run, '--length', '5', '--num_batches', '1', '--eval_batch_size', '4')
    result = json.loads((run / 'results' / 'eval-msp.json').read_text())
    assert len(result['Lp']) == 3 and np.isfinite(result['Lp_equiv']).all()
