"""The README's paper-reproduction configs compose (their datasets need downloads, so they are not trained here)."""
import pytest

from framework.config import compose

PAPER = [
    (('a/msp-resnet/3dshapes', 'm/msp', 'd/msp-3ds'), 1.0, 3, 3),
    (('a/msp-resnet/3dshapes', 'm/neural-transition', 'd/msp-3ds'), 1.0, 3, 3),
    (('a/msp-resnet/smallnorb', 'm/msp', 'd/msp-smallnorb'), 1.0, 4, 3),
    (('a/msp-resnet/mnist', 'm/msp', 'd/mnist-seq'), 2.0, 3, 3),
    (('a/msp-resnet/mnist-bg', 'm/msp-fixed-blocks', 'd/mnist-bg-seq'), 4.0, 3, 3),
    (('a/msp-resnet/mnist', 'm/msp-2nd-order', 'd/mnist-accl-seq'), 2.0, 3, 10),
]


@pytest.mark.parametrize('names,k,n_blocks,length', PAPER)
def test_paper_configs_compose(names, k, n_blocks, length):
    cfg = compose(*names)
    assert cfg.pull('encoder.k') == k and cfg.pull('decoder.n_blocks') == n_blocks
    assert cfg.pull('sequence.length') == length
    assert cfg.pull('dim_m') == 256 and cfg.pull('dim_a') == 16 and cfg.pull('bd_wt') == 0.0
    assert cfg.pull('lr') == pytest.approx(3e-4) and cfg.pull('batch_size') == 32


def test_3dshapes_sequences_fix_the_shape():
    cfg = compose('a/msp-resnet/3dshapes', 'm/msp', 'd/msp-3ds')
    assert dict(cfg.pull('sequence.fixed')) == {'shape': 0}
    assert cfg.pull('steps') == 50000 and cfg.pull('step_size') == 40000
