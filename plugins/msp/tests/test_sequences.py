"""Sequence datasets: factor walks keep their velocity (MSP's rules), transformations match independent ones."""
from __future__ import annotations

import math

import pytest
import torch

import framework
from framework.data import InMemoryDataset, Subset, split_dataset
from framework.data.smallnorb import SmallNORB
from framework.data.sprites import Sprites
from framework.errors import ConfigError, DataError
from plugins.msp.image_transforms import colourise, warp
from plugins.msp.sequences import FactorWalk, as_sequences
from plugins.msp.transform_sequences import MNISTSequences, TransformSequences

from test_data_fixtures import write_mnist, write_smallnorb


@pytest.fixture(scope='module')
def sprites():
    return Sprites()


def test_factor_walk_keeps_velocity_and_msp_bounds(sprites):
    walk = FactorWalk(sprites, length=3)
    batch = walk.batch(torch.arange(200))
    y, velocity = batch['y'], batch['velocity']
    assert batch['x'].shape == (200, 3, 1, 64, 64) and y.shape == (200, 3, 5) and walk.is_sequence
    assert walk.observation_shape == (1, 64, 64)
    assert torch.equal(y[:, 1:] - y[:, :-1], velocity[:, None, :].expand(-1, 2, -1))   # constant velocity
    sizes = torch.tensor(sprites.factor_sizes)
    assert (y >= 0).all() and (y < sizes).all()                                         # no wrap-around
    assert (velocity.abs() <= sizes // 3).all() and (velocity != 0).any(0)[1:].all()     # |v| <= n // T
    assert (velocity < 0).any() and (velocity > 0).any()
    frames = sprites.images_for(y.reshape(-1, 5)).reshape(200, 3, 1, 64, 64)
    assert torch.equal(batch['x'], frames)


def test_fixed_factor_walk_is_deterministic_per_index(sprites):
    walk = FactorWalk(sprites, length=4, seed=3, fresh=False)
    a = walk.batch(torch.tensor([5, 17, 5]))
    b = walk.batch(torch.tensor([17, 5]))
    assert torch.equal(a['y'][0], a['y'][2]) and torch.equal(a['y'][:2], b['y'][[1, 0]])
    assert not torch.equal(a['y'][0], a['y'][1])
    other_seed = FactorWalk(sprites, length=4, seed=4, fresh=False)
    assert not torch.equal(other_seed.batch(torch.tensor([5]))['y'][0], a['y'][0])


def test_training_walks_are_fresh_every_batch_and_follow_the_torch_seed(sprites):
    """Like the original datasets, every access draws a new walk; the draws come from torch's default
    generator (which the trainer seeds and checkpoints), so the same seed gives the same batches."""
    walk = FactorWalk(sprites, length=3)
    indices = torch.arange(50)
    torch.manual_seed(0)
    first, second = walk.batch(indices)['y'], walk.batch(indices)['y']
    assert (first != second).any(-1).any(-1).float().mean() > 0.9        # new walks for (almost) every index
    torch.manual_seed(0)
    assert torch.equal(walk.batch(indices)['y'], first) and torch.equal(walk.batch(indices)['y'], second)
    data = TransformSequences(known_images(), length=3, colour=False)
    torch.manual_seed(0)
    a, b = data.batch(torch.tensor([0, 1]))['velocity'], data.batch(torch.tensor([0, 1]))['velocity']
    assert (a != b).all()


def test_sample_sequences_shared_moving_forced_and_reproducible(sprites):
    walk = FactorWalk(sprites, length=3, moving=('scale', 'orientation', 'posX', 'posY'), fixed={'shape': 1})
    assert walk.moving_factors == ('scale', 'orientation', 'posX', 'posY')
    out = walk.sample_sequences(64, 8, torch.Generator().manual_seed(5), shared=True)
    y, v = out['y'], out['velocity']
    assert out['x'].shape == (64, 8, 1, 64, 64) and y.shape == (64, 8, 5)
    assert torch.equal(v, v[:1].expand(64, -1))                              # one group element per batch
    assert torch.equal(y[:, 1:] - y[:, :-1], v[:, None].expand(-1, 7, -1))   # constant velocity, length 8
    sizes = torch.tensor(sprites.factor_sizes)
    assert (v.abs() <= sizes // 8).all() and (y >= 0).all() and (y < sizes).all() and (y[..., 0] == 1).all()
    assert len(set(map(tuple, y[:, 0].tolist()))) > 60                       # starts differ
    again = walk.sample_sequences(64, 8, torch.Generator().manual_seed(5), shared=True)
    assert torch.equal(again['x'], out['x'])
    alone = walk.sample_sequences(32, 6, torch.Generator().manual_seed(6), moving=['posX'], force_moving=True)
    v = alone['velocity']
    assert (v[:, 3] != 0).all() and (v[:, [0, 1, 2, 4]] == 0).all() and (v[:, 3].abs() <= 32 // 6).all()
    with pytest.raises(ConfigError, match='colour'):
        walk.sample_sequences(2, 3, torch.Generator(), moving=['colour'])


def test_sample_sequences_of_transformations_share_one_velocity():
    data = TransformSequences(known_images(), length=3, max_length=9, actions=('rotation', 'translation'),
                              colour=False)
    out = data.sample_sequences(6, 7, torch.Generator().manual_seed(0), shared=True)
    assert out['x'].shape == (6, 7, 1, 16, 16)
    v = out['velocity']
    assert torch.equal(v, v[:1].expand(6, -1)) and v[0, 1] == 0 and v[0, 0] != 0
    steps = out['angle'][:, 1:] - out['angle'][:, :-1]
    assert torch.allclose(steps, v[:, :1].expand(-1, 6), atol=1e-5)
    assert len(set(out['angle'][:, 0].tolist())) == 6                        # initial states differ
    assert v[0, 2:].abs().max() <= 20 / 6                                    # max_length = length: Δp / (T - 1)
    rotation = data.sample_sequences(6, 4, torch.Generator().manual_seed(1), moving=['rotation'])
    assert (rotation['velocity'][:, 1:] == 0).all() and (rotation['velocity'][:, 0] != 0).all()


def test_factor_walk_cyclic_reflect_fixed_and_force_moving(sprites):
    wrap = FactorWalk(sprites, length=6, moving=('orientation',), cyclic=('orientation',), max_speed=9,
                      force_moving=True, fixed={'shape': 2}, fresh=False)
    start, v, _ = wrap.draw(torch.arange(200))
    y = wrap.walk(start, v)
    assert (y[..., 0] == 2).all() and (v[:, 2] != 0).all() and (v[:, [0, 1, 3, 4]] == 0).all()
    assert torch.equal((y[:, 1:, 2] - y[:, :-1, 2]).remainder(40), v[:, None, 2].expand(-1, 5).remainder(40))
    assert (y[:, 0, 2] + 5 * v[:, 2] != y[:, 5, 2]).any()                                # some walks wrapped
    assert (y[:, :, 1] == y[:, :1, 1]).all()                                            # others stay put
    assert torch.equal(wrap.batch(torch.arange(3))['y'], y[:3])
    bounce = FactorWalk(sprites, length=8, moving=('posX',), boundary='reflect', max_speed=12)
    start, v, _ = bounce.draw(torch.arange(200))
    y = bounce.walk(start, v)[..., 3]
    assert (y >= 0).all() and (y < 32).all() and (v[:, 3].abs() > 4).any()
    assert ((y[:, 1:] - y[:, :-1]).abs() <= v[:, None, 3].abs()).all()
    assert ((y[:, 1:] - y[:, :-1]) == -v[:, None, 3]).any()                               # some bounced


def test_factor_walk_keeps_the_nuisance_fixed(tmp_path):
    write_smallnorb(tmp_path)
    norb = SmallNORB(root=str(tmp_path))
    walk = FactorWalk(norb, length=2, moving=('elevation', 'azimuth'))
    for x in (walk.batch(torch.arange(64))['x'], walk.sample_sequences(64, 2, torch.Generator().manual_seed(0))['x']):
        instance_level = (x[:, :, 0, 40, 40] * 255).round()
        assert torch.equal(instance_level[:, 0], instance_level[:, 1])        # one instance per sequence
        assert set(instance_level[:, 0].tolist()) == {1.0, 11.0}              # both instances occur
    first = walk.sample_sequences(64, 2, torch.Generator().manual_seed(0))['x']
    assert torch.equal(walk.sample_sequences(64, 2, torch.Generator().manual_seed(0))['x'], first)


def test_smallnorb_parts_keep_one_published_half(tmp_path):
    """The fixture's training file holds instance 1 (pixel 11), its testing file instance 0 (pixel 1)."""
    write_smallnorb(tmp_path)
    levels = {}
    for part in ('train', 'test', 'all'):
        norb = SmallNORB(root=str(tmp_path), part=part)
        levels[part] = set((norb.batch(torch.arange(len(norb)))['x'][:, 0, 40, 40] * 255).round().tolist())
        assert len(norb) == (32 if part == 'all' else 16) and norb.factor_sizes == (2, 2, 2, 2)
    assert levels == {'train': {11.0}, 'test': {1.0}, 'all': {1.0, 11.0}}
    with pytest.raises(DataError, match='part'):
        SmallNORB(root=str(tmp_path), part='val')


def test_factor_walk_from_config_and_as_sequences_on_a_split(sprites):
    walk = framework.create('dataset', 'factor-walk', base={'_type': 'dataset/sprites'}, length=3)
    assert isinstance(walk, FactorWalk) and len(walk) == len(sprites)
    train = split_dataset(sprites, 'train', val=0.1, seed=0)
    sequences = as_sequences(train, length=3)
    assert isinstance(sequences, Subset) and sequences.is_sequence and len(sequences) == len(train)
    assert sequences.parent.fresh                                               # training: new walks per batch
    val = split_dataset(sprites, 'val', val=0.1, seed=0)
    fixed = as_sequences(val, length=3)
    assert not fixed.parent.fresh                                               # validation: fixed walks
    expected = FactorWalk(sprites, length=3, fresh=False).batch(val.indices[4:5])['y']
    assert torch.equal(fixed.batch(torch.tensor([4]))['y'], expected)
    with pytest.raises(ConfigError, match='lenght'):
        as_sequences(sprites, lenght=3)
    with pytest.raises(ConfigError, match='num_sequences'):
        as_sequences(train, num_sequences=10)


def arrow_image(size=16):
    image = torch.zeros(1, 1, size, size)
    image[0, 0, 3:6, 2:12] = 1.0
    image[0, 0, 6:13, 9:11] = 0.5
    return image


def test_rotation_matches_rot90_and_translation_matches_roll():
    image = arrow_image()
    angles = torch.tensor([0.0, math.pi / 2, math.pi, 3 * math.pi / 2])
    rotated = warp(image.expand(4, -1, -1, -1), angles, torch.zeros(4, 2))
    for k in range(4):
        assert torch.allclose(rotated[k], torch.rot90(image[0], k, dims=(-2, -1)), atol=1e-5)
    shifted = warp(image, torch.zeros(1), torch.tensor([[3.0, -2.0]]))
    expected = torch.roll(image, shifts=(-2, 3), dims=(-2, -1))
    assert torch.allclose(shifted, expected, atol=1e-5)


def test_colourise_grey_and_rgb():
    grey = torch.ones(2, 1, 2, 2)
    rgb = colourise(grey, torch.tensor([0.0, 1 / 3]))
    assert torch.allclose(rgb[0, :, 0, 0], torch.tensor([1.0, 0.0, 0.0]))
    assert torch.allclose(rgb[1, :, 0, 0], torch.tensor([0.0, 1.0, 0.0]), atol=1e-6)
    blue = torch.tensor([0.0, 0.0, 1.0])[None, :, None, None].expand(1, 3, 2, 2)
    assert torch.allclose(colourise(rgb[:1], torch.tensor([2 / 3])), blue, atol=1e-5)      # red + 2/3 turn


def known_images():
    images = torch.cat([arrow_image(), arrow_image().flip(-1)])
    return InMemoryDataset(images, torch.tensor([[0], [1]]))


def test_transform_sequence_of_a_known_image_rotates_by_its_velocity():
    data = TransformSequences(known_images(), length=4, actions=('rotation',), colour=False)
    batch = data.batch(torch.tensor([0, 1]))
    assert batch['x'].shape == (2, 4, 1, 16, 16) and batch['y'].shape == (2, 4, 1)
    omega = batch['velocity'][:, 0]
    assert (omega.abs() <= math.pi / 2).all() and (batch['velocity'][:, 1:] == 0).all()
    assert torch.allclose(batch['angle'][:, 1:] - batch['angle'][:, :-1], omega[:, None].expand(-1, 3), atol=1e-5)
    assert (batch['translation'] == 0).all()
    angles = batch['angle'][0]
    independent = warp(arrow_image().expand(4, -1, -1, -1), angles, torch.zeros(4, 2))
    assert torch.allclose(batch['x'][0], independent, atol=1e-5)
    quarter = TransformSequences(known_images(), length=2, actions=('rotation',), colour=False)
    frames = quarter.render(arrow_image(), torch.tensor([[0.0, math.pi / 2]]), torch.zeros(1, 2), torch.zeros(1, 2, 2))
    assert torch.allclose(frames[0, 1], torch.rot90(arrow_image()[0], 1, dims=(-2, -1)), atol=1e-5)


def test_transform_sequence_hue_translation_acceleration_and_background():
    # fresh=False: the draws come from ``seed`` alone, not from torch's global generator, whose state
    # depends on which tests ran before this one in the same worker
    settings = dict(length=5, max_length=5, angle_accel_ratio=(-0.1, 0.1), hue_accel_ratio=(-0.1, 0.1),
                    translation_accel=(-1.0, 1.0), resize=12, pad=2, seed=7, fresh=False)
    data = TransformSequences(known_images(), background='procedural', **settings)
    indices = torch.tensor([1, 0, 1])
    batch = data.batch(indices)
    assert batch['x'].shape == (3, 5, 3, 16, 16) and data.observation_shape == (3, 16, 16)
    assert torch.equal(batch['x'][0], batch['x'][2])
    second = lambda v: v[:, 2:] - 2 * v[:, 1:-1] + v[:, :-2]           # noqa: E731
    accel = batch['acceleration']
    assert torch.allclose(second(batch['angle']), accel[:, None, 0].expand(-1, 3), atol=1e-4)
    assert torch.allclose(second(batch['translation']), accel[:, None, 2:].expand(-1, 3, -1), atol=1e-4)
    hue_step = (batch['hue'][:, 1:] - batch['hue'][:, :-1] - batch['velocity'][:, None, 1]
                - accel[:, None, 1] * (torch.arange(4) + 0.5)).remainder(1.0)
    assert torch.allclose(torch.minimum(hue_step, 1 - hue_step), torch.zeros(3, 4), atol=1e-4)
    bare = TransformSequences(known_images(), **settings).batch(indices)['x']
    assert torch.equal(bare, TransformSequences(known_images(), **settings).batch(indices)['x'])
    empty = (bare.sum(2, keepdim=True) == 0).expand_as(bare)              # pixels no digit covers
    assert empty.float().mean() > 0.5
    background = data.background_for(indices)[:, None].expand_as(bare)
    assert torch.equal(batch['x'][empty], background[empty])            # the background shows there
    assert (batch['x'][empty] > 0).float().mean() > 0.9


def test_mnist_sequences_and_as_sequences_on_plain_images(tmp_path):
    write_mnist(tmp_path, train=6, test=2)
    data = MNISTSequences(root=str(tmp_path), digits=(1, 4))
    assert data.observation_shape == (3, 32, 32) and len(data) == 2
    batch = data.batch(torch.tensor([0, 1]))
    assert batch['x'].shape == (2, 3, 3, 32, 32) and batch['y'][:, :, 0].tolist() == [[1] * 3, [4] * 3]
    assert batch['velocity'][:, 2:].abs().max() <= 20 / 8
    from framework.data.mnist import MNIST
    sequences = as_sequences(MNIST(root=str(tmp_path)), length=2)
    assert isinstance(sequences, TransformSequences) and sequences.observation_shape == (3, 28, 28)
    with pytest.raises(DataError, match='grid'):
        FactorWalk(MNIST(root=str(tmp_path)))


def test_train_scripts_wrap_a_grid_dataset_for_sequence_methods(monkeypatch):
    from framework.config import compose
    from framework.scripts import common

    class SequenceMethod:
        batch_form = 'sequences'
    monkeypatch.setattr(common, 'method_class', lambda cfg: SequenceMethod)
    cfg = compose('d/sprites', **{'method': {'_type': 'method/ae'}, 'sequence': {'length': 3, 'moving': ['posX']}})
    train = common.build_dataset(cfg, 'train')
    assert train.is_sequence and train.observation_shape == (1, 64, 64)
    batch = train.batch(torch.arange(4))
    assert batch['x'].shape == (4, 3, 1, 64, 64) and (batch['velocity'][:, [0, 1, 2, 4]] == 0).all()


def test_a_configured_sequence_dataset_keeps_its_held_out_sequences_fixed():
    """``d/...`` naming a sequence dataset directly: training draws new walks each batch, validation does not."""
    from framework.config import compose
    from framework.scripts.common import build_dataset
    walks = {'_type': 'dataset/factor-walk', 'base': {'_type': 'dataset/sprites', 'size': 16}, 'length': 3}
    cfg = compose('hybrid', 'a/msp-reduced', 'm/msp', 'd/msp-sprites-16', dataset=walks)
    train, val = build_dataset(cfg, 'train'), build_dataset(cfg, 'val')
    index = torch.arange(4)
    assert not torch.equal(train.batch(index)['x'], train.batch(index)['x'])     # fresh walks every batch
    assert torch.equal(val.batch(index)['x'], val.batch(index)['x'])             # fixed held-out walks
    assert build_dataset(cfg, 'train').batch(index)['x'].shape == val.batch(index)['x'].shape
