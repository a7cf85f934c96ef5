"""Procedural datasets: deterministic per index, factors change the image as they say, dSprites' measured geometry."""
from __future__ import annotations

import math

import pytest
import torch

import framework
from framework.data.shapes3d_synth import Shapes3DSynth
from framework.data.sprites import Sprites


@pytest.fixture(scope='module')
def sprites():
    return Sprites()


def centroid(image):
    rows, cols = image[0].nonzero(as_tuple=True)
    return cols.float().mean().item(), rows.float().mean().item()


def test_sprites_grid_and_round_trip(sprites):
    assert sprites.factor_sizes == (3, 6, 40, 32, 32) and len(sprites) == 737280
    indices = torch.randint(len(sprites), (500,), generator=torch.Generator().manual_seed(0))
    factors = sprites.indices_to_factors(indices)
    assert torch.equal(sprites.factors_to_indices(factors), indices)
    batch = sprites.batch(indices[:8])
    assert torch.equal(batch['y'], factors[:8]) and batch['x'].shape == (8, 1, 64, 64)
    assert set(batch['x'].unique().tolist()) <= {0.0, 1.0}
    assert Sprites(keep_color=True).factor_sizes == (1, 3, 6, 40, 32, 32)


def test_sprites_deterministic_and_factor_sensitive(sprites):
    indices = torch.tensor([0, 12345, 700000])
    assert torch.equal(sprites.batch(indices)['x'], sprites.batch(indices)['x'])
    base = torch.tensor([1, 3, 5, 10, 20])
    for factor in range(5):
        changed = base.clone()
        changed[factor] = (changed[factor] + 1) % sprites.factor_sizes[factor]
        x = sprites.images_for(torch.stack([base, changed]))
        assert not torch.equal(x[0], x[1]), sprites.factor_names[factor]


def test_sprites_shapes_differ_with_measured_areas(sprites):
    x = sprites.images_for(torch.tensor([[s, 5, 0, 16, 16] for s in range(3)]))
    areas = x.sum((1, 2, 3))
    assert areas.tolist() == pytest.approx([370, 289, 226], rel=0.06)       # real dSprites frames, scale 1
    for a in range(3):
        for b in range(a + 1, 3):
            overlap = (x[a] * x[b]).sum() / ((x[a] + x[b]).clamp(max=1)).sum()
            assert overlap < 0.9
    small = sprites.images_for(torch.tensor([[0, 0, 0, 16, 16]])).sum()
    assert small.item() == pytest.approx(370 * 0.25, rel=0.12)


def test_sprites_position_moves_centroid(sprites):
    x = sprites.images_for(torch.tensor([[1, 5, 0, 0, 16], [1, 5, 0, 31, 16], [1, 5, 0, 16, 0], [1, 5, 0, 16, 31]]))
    (c0, r0), (c1, _), (_, r2), (_, r3) = (centroid(img) for img in x)
    assert c0 == pytest.approx(15.9, abs=0.6) and c1 == pytest.approx(15.9 + 31.5, abs=0.6)
    assert r2 == pytest.approx(15.4, abs=0.6) and r3 == pytest.approx(15.4 + 31.7, abs=0.6)
    assert r0 == pytest.approx(15.4 + 31.7 * 16 / 31, abs=0.6)


def test_sprites_orientation_is_counter_clockwise(sprites):
    orientation_class = 5                                          # 5/39 of a turn: about 46 degrees
    x = sprites.images_for(torch.tensor([[1, 5, orientation_class, 16, 16]]))[0, 0]
    rows, cols = x.nonzero(as_tuple=True)
    dx, dy = cols.float() - cols.float().mean(), -(rows.float() - rows.float().mean())    # y up
    angle = 0.5 * math.atan2(2 * (dx * dy).mean(), ((dx ** 2) - (dy ** 2)).mean())
    assert math.degrees(angle) == pytest.approx(360 * orientation_class / 39, abs=4)


@pytest.fixture(scope='module')
def scenes():
    return Shapes3DSynth()


def test_shapes3d_synth_round_trip_and_determinism(scenes):
    assert scenes.factor_sizes == (10, 10, 10, 8, 4, 15) and len(scenes) == 480000
    indices = torch.tensor([0, 1234, 479999, 1234])
    factors = scenes.indices_to_factors(indices)
    assert torch.equal(scenes.factors_to_indices(factors), indices)
    first, second = scenes.batch(indices), scenes.batch(indices)
    assert torch.equal(first['x'], second['x']) and torch.equal(first['y'], factors)
    assert first['x'].shape == (4, 3, 64, 64) and 0 <= first['x'].min() and first['x'].max() <= 1


def test_shapes3d_synth_factors_change_their_region(scenes):
    base = torch.tensor([0, 3, 6, 4, 0, 7])
    variants = [base.clone() for _ in range(6)]
    for factor, value in enumerate([5, 8, 1, 7, 2, 0]):
        variants[factor][factor] = value
    x = scenes.images_for(torch.stack([base, *variants]))
    changed = [(x[0] - x[k + 1]).abs().sum(0) > 1e-3 for k in range(6)]
    for k in range(6):
        assert changed[k].any(), scenes.factor_names[k]
    assert changed[0][-1].all() and not changed[0][:20].any()             # floor: bottom rows only
    assert changed[1][0].all() and not changed[1][-1].any()               # walls: top row only
    assert changed[2][32, 32] and not changed[2][0].any() and not changed[2][-1].any()   # object: centre


@pytest.mark.parametrize('name', ['sprites', 'shapes3d-synth'])
def test_procedural_configs_build(name):
    from framework.config import compose
    cfg = compose(f'd/{name}')
    dataset = cfg.build('dataset')
    assert dataset.name == name and cfg.get('dataset_tag')
    assert len(framework.create('dataset', name)) == len(dataset)
