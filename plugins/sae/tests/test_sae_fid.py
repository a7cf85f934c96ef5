"""FID: the Fréchet distance by hand, and the FID Inception network's shape and weight loading."""
import os

import numpy as np
import pytest
import torch

from plugins.sae.fid import FIDInception, frechet_distance, inception_features, load_inception


def test_frechet_distance_of_diagonal_gaussians_by_hand():
    # |mu1 - mu2|^2 = 1 + 4; traces 5 + 13; sqrt(S1 S2) = diag(2, 6)  ->  5 + 18 - 16 = 7
    got = frechet_distance(np.zeros(2), np.diag([1.0, 4.0]), np.array([1.0, 2.0]), np.diag([4.0, 9.0]))
    assert got == pytest.approx(7.0)
    cov = np.array([[2.0, 0.5], [0.5, 1.0]])
    assert frechet_distance(np.ones(2), cov, np.ones(2), cov) == pytest.approx(0.0, abs=1e-8)


def test_missing_weights_say_where_to_put_them(tmp_path):
    with pytest.raises(FileNotFoundError, match='pt_inception-2015-12-05'):
        load_inception(tmp_path / 'none.pth')


def test_network_gives_2048_features_and_reloads_its_own_state_dict(tmp_path):
    torch.manual_seed(0)
    net = FIDInception().eval()
    # torchvision's Inception-v3 has 27,161,264 parameters: minus the fc (2,049,000) and the aux head (3,326,696)
    assert sum(p.numel() for p in net.parameters()) == 27_161_264 - 2_049_000 - 3_326_696
    path = tmp_path / 'weights.pth'
    torch.save(net.state_dict(), path)
    loaded = load_inception(path)
    assert all(torch.equal(v, loaded.state_dict()[k]) for k, v in net.state_dict().items())
    assert inception_features(loaded, torch.rand(1, 3, 32, 32)).shape == (1, 2048)


class _RunsCode:
    def __reduce__(self):
        return (os.system, (f'touch {_RunsCode.marker}',))


def test_a_weight_file_with_pickled_objects_is_refused_without_running_them(tmp_path):
    _RunsCode.marker = tmp_path / 'ran'
    path = tmp_path / 'weights.pth'
    torch.save({'Conv2d_1a_3x3.conv.weight': torch.zeros(1), 'payload': _RunsCode()}, path)
    with pytest.raises(ValueError, match='weights_only'):
        load_inception(path)
    assert not _RunsCode.marker.exists()
