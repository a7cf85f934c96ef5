"""The README's paper-reproduction configs compose (their datasets need downloads, so they are not trained here)."""
import inspect

import pytest

from framework import registry
from framework.config import compose, to_plain
from plugins.msp.scripts import EvalMspSettings
from plugins.msp.sbd import SbdSettings

PAPER = [
    (('a/msp-resnet/3dshapes', 'm/msp', 'd/msp-3ds'), 1.0, 3, 3),
    (('a/msp-resnet/3dshapes', 'm/neural-transition', 'd/msp-3ds'), 1.0, 3, 3),
    (('a/msp-resnet/smallnorb', 'm/msp', 'd/msp-smallnorb'), 1.0, 4, 3),
    (('a/msp-resnet/mnist', 'm/msp', 'd/msp-mnist'), 2.0, 3, 3),
    (('a/msp-resnet/mnist-bg', 'm/msp-fixed-blocks', 'd/msp-mnist-bg'), 4.0, 3, 3),
    (('a/msp-resnet/mnist', 'm/msp-2nd-order', 'd/msp-mnist-accl'), 2.0, 3, 10),
]


@pytest.mark.parametrize('names,k,n_blocks,length', PAPER)
def test_paper_configs_compose(names, k, n_blocks, length):
    cfg = compose(*names)
    assert cfg.get('encoder.k') == k and cfg.get('decoder.n_blocks') == n_blocks
    assert cfg.get('sequence.length') == length
    assert cfg.get('dim_m') == 256 and cfg.get('dim_a') == 16
    assert cfg.get('lr') == pytest.approx(3e-4) and cfg.get('batch_size') == 32
    assert cfg.get('split.val') == 0.0 and cfg.get('split.test') == 0.0       # the paper trains on all of it


def test_smallnorb_trains_on_the_training_half():
    assert compose('a/msp-resnet/smallnorb', 'm/msp', 'd/msp-smallnorb').get('dataset.part') == 'train'


def test_dead_hyperparameters_are_gone():
    """neural-m has no least-squares solve (no ridge); neural-transition has no M (no ridge, no bd_wt)."""
    params = {name: set(inspect.signature(registry.get('method', name).obj).parameters)
              for name in ('msp', 'neural-m', 'neural-transition')}
    assert {'ridge', 'bd_wt'} <= params['msp']
    assert 'ridge' not in params['neural-m'] and 'bd_wt' in params['neural-m']
    assert not {'ridge', 'bd_wt'} & params['neural-transition']
    assert compose('a/msp-tiny', 'm/neural-transition').get('bd_wt', None) is None


PAPER_EVAL = [('mnist', 10, 31, 'train'), ('3ds', 8, 157, 'test'), ('smallnorb', 6, 157, 'train')]


@pytest.mark.parametrize('name,length,batches,sbd_part', PAPER_EVAL)
def test_paper_evaluation_configs(name, length, batches, sbd_part):
    """The paper's sequence counts and lengths; every key is a field of the script's settings."""
    cfg = compose(f'eval/msp-paper-{name}')
    assert cfg.get('length') == length and cfg.get('num_batches') == batches and cfg.get('eval_batch_size') == 32
    assert cfg.get('eval_part', 'test') == 'test'
    cfg = compose(f'eval/sbd-paper-{name}')
    assert cfg.get('length') == length and cfg.get('num_sequences') == 3232 and cfg.get('num_per_factor') == 110
    assert cfg.get('eval_part', 'test') == sbd_part
    for script, fields in (('msp-paper', EvalMspSettings), ('sbd-paper', SbdSettings)):
        keys = {k for k in to_plain(compose(f'eval/{script}-{name}')) if not k.startswith('_')}
        assert keys <= set(fields.__dataclass_fields__), keys


def test_3dshapes_sequences_fix_the_shape():
    cfg = compose('a/msp-resnet/3dshapes', 'm/msp', 'd/msp-3ds')
    assert dict(cfg.get('sequence.fixed')) == {'shape': 0}
    assert cfg.get('steps') == 50000 and cfg.get('step_size') == 40000
