"""GDRAE's Sector2D data: points on the quarter annulus, uniform in area, and its config."""
from __future__ import annotations

import math

import pytest
import torch

import framework
from plugins.gdrae.sector2d import Sector2D


def test_sector2d_points_lie_on_the_sector():
    data = Sector2D(num_samples=4000, seed=1)
    points, factors = data.batch(torch.arange(4000)).values()
    radius, angle = points.norm(dim=1), torch.atan2(points[:, 1], points[:, 0])
    assert radius.min() >= 1 - 1e-5 and radius.max() <= 2 + 1e-5
    assert angle.min() >= -1e-5 and angle.max() <= math.pi / 2 + 1e-5
    assert torch.allclose(factors, torch.stack([angle, radius], 1), atol=1e-5)
    assert (radius < 1.5).float().mean().item() == pytest.approx(1.25 / 3, abs=0.03)   # uniform in area
    assert torch.equal(Sector2D(num_samples=10, seed=1).observations, data.observations[:10])
    linear = Sector2D(num_samples=4000, uniform=False, seed=1)
    assert (linear.observations.norm(dim=1) < 1.5).float().mean().item() == pytest.approx(0.5, abs=0.03)
    embedded = Sector2D(num_samples=100, dim=16, seed=1)
    assert embedded.observation_shape == (16,)
    assert torch.allclose(embedded.observations.norm(dim=1), data.observations[:100].norm(dim=1), atol=1e-5)


def test_the_sector2d_config_builds():
    cfg = framework.compose('d/sector2d')
    dataset = cfg.build('dataset')
    assert dataset.name == 'sector2d' and cfg.get('dataset_tag') == 'sector2d'
    assert len(framework.create('dataset', 'sector2d')) == len(dataset)
