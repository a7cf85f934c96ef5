"""The metric protocol: a metric states what it needs at registration, the suite hands it the method's functions
by name and skips it, with the reason, where the dataset or the method lacks one."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from framework import registry
from framework.data.base import InMemoryDataset
from framework.errors import ConfigError
from framework.metrics.suite import run_suite


class Grid(InMemoryDataset):
    """Two discrete factors (2 x 3 classes); the observation is the factor values."""
    name = 'grid'

    def __init__(self, sizes=(2, 3)):
        factors = torch.cartesian_prod(*[torch.arange(s) for s in sizes])
        super().__init__(factors.float(), factors)
        self.factor_names, self.factor_sizes = ('a', 'b'), tuple(sizes)


class Continuous(Grid):
    name = 'continuous'

    def __init__(self):
        super().__init__()
        self.factor_sizes = (None, None)


class Encoder(nn.Module):
    """represent(x) = 2x; decode(z) = z / 2, so represent(decode(z)) = z."""

    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.tensor(2.0), requires_grad=False)

    def represent(self, x):
        return x * self.scale


class AutoEncoder(Encoder):
    def decode(self, z):
        return z / self.scale


def _round_trip(dataset, represent, generator, *, decode, num_points: int = 4, device=None):
    """max |represent(decode(z)) - z| over a few codes: 0 for a decoder that inverts the encoder."""
    codes = represent(dataset.images_for(dataset.sample_factors(num_points, generator)).to(device))
    return {'round_trip_error': float((represent(decode(codes)) - codes).abs().max())}


def _uses_classes(dataset, represent, generator, device=None):
    return {'ok': 1.0}


def _bad_need(dataset, represent, generator, device=None):
    return {}


@pytest.fixture(scope='module', autouse=True)
def metrics():
    added = {'test-round-trip': (_round_trip, ('factors', 'decode')),
             'test-classes': (_uses_classes, ('discrete_factors',)),
             'test-typo': (_bad_need, ('decoder',))}
    for name, (fn, needs) in added.items():
        registry.add('metric', name, fn, 'a metric of the needs tests', needs=needs)
    yield
    for name in added:
        registry._index['metric'].pop(name, None)


def test_needs_are_recorded_at_registration():
    assert registry.get('metric', 'test-round-trip').needs == ('factors', 'decode')
    assert registry.get('metric', 'mig').needs == ('discrete_factors',)
    assert registry.get('metric', 'irs').needs == ('factors',)


def test_the_suite_hands_a_method_its_decoder():
    results = run_suite({'test-round-trip': {}}, Grid(), AutoEncoder())
    assert results['test-round-trip']['values'] == {'round_trip_error': 0.0}
    assert results['test-round-trip']['params'] == {'num_points': 4}     # `decode` is not a protocol parameter


def test_a_method_without_the_capability_is_skipped_with_the_reason():
    results = run_suite({'test-round-trip': {}, 'test-classes': {}}, Grid(), Encoder())
    assert results['test-round-trip'] == {'skipped': True, 'params': {'num_points': 4}, 'seed': 0,
                                          'reason': 'Encoder has no decode(), which this metric needs'}
    assert results['test-classes']['values'] == {'ok': 1.0}
    bare = run_suite({'test-round-trip': {}}, Grid(), AutoEncoder().represent)     # a function, not a method
    assert "needs the method's decode(), and only a representation function was given" in \
        bare['test-round-trip']['reason']


def test_dataset_needs_come_before_method_needs():
    results = run_suite({'test-classes': {}, 'test-round-trip': {}}, Continuous(), Encoder())
    assert 'continuous factors (a, b)' in results['test-classes']['reason']
    assert 'no decode()' in results['test-round-trip']['reason']


def test_an_unknown_need_is_a_clear_error():
    with pytest.raises(ConfigError, match=r"declares the need 'decoder'; a metric can need .*'decode'"):
        run_suite({'test-typo': {}}, Grid(), AutoEncoder())
