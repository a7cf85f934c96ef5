"""Every registered encoder, decoder, method and metric, core and plugins, built and run on tiny inputs.

In the manner of timm's model tests: the tests are parametrised by the registry, so a component is tested the
day it is registered (in ``framework/``, in ``plugins/`` or in an installed plugin), with no new test code.

- **Encoders and decoders** are built with ``framework.create`` for the first of a few tiny observation shapes
  (a 12-vector, a 1x16x16 image, a 3x64x64 image) that they accept, with 12 latents, and must give the declared
  output shape with finite values. A component refuses a shape it is not made for with a ``ConfigError`` (the
  house style: a clear message), which moves the test on to the next shape; any other error is a failure.
- **Methods** are composed from ``m/<name>`` (when that config exists) over a tiny form: the MLP architecture on
  a small ``d/vec``, or on procedural sprites at 16x16 (methods on sequences get walks over the sprites' factors
  and try the images first). One ``training_step`` must give a finite scalar loss and finite gradients;
  ``represent`` gives (B, D) codes; ``decode``, ``reconstruct`` and ``sample``, where the method has them, give
  finite observations of the right shape.
- **Metrics** (their registered protocol forms) score a perfect representation (the factors themselves) and pure
  noise on a small factor grid made here: the headline score (the first one returned) must separate them clearly
  (at least 0.1 apart, the better one at least 1.5 times the worse).

A component that no generic form fits declares ``example_config`` where it is defined: for an encoder or decoder,
constructor arguments (``in_shape``/``out_shape``, ``out_dim``/``latent_dim`` included) that replace the generic
ones; for a method, a config written as a dict, as in a YAML file (``_base`` lists config files, the other keys
override them). A metric whose score falls as the representation improves sets ``lower_is_better = True``.
"""
from __future__ import annotations

import inspect
import math

import pytest
import torch
import torch.nn.functional as F

import framework
from framework import registry
from framework.data.base import InMemoryDataset
from framework.errors import ConfigError


def _load_plugins() -> None:
    """Register every plugin before the tests are parametrised: installed ones (entry points) and this repository's."""
    try:
        from framework.plugins import load_all
    except ImportError:         # before entry-point discovery: importing plugins/ imports the repository's plugins
        import plugins  # noqa: F401
        return
    load_all()


_load_plugins()

LATENT_DIM = 12
SHAPES = ((12,), (1, 16, 16), (3, 64, 64))
BATCH = 4

# Declarations that plugins have not made yet (the lead moves each to its class as ``example_config`` /
# ``lower_is_better``, then deletes it here). Each one is listed, so that nothing is silently untested.
PENDING_EXAMPLES: dict = {}
PENDING_LOWER_IS_BETTER: set = set()


def example_config(kind: str, name: str) -> dict | None:
    declared = getattr(registry.get(kind, name).obj, 'example_config', None)
    return declared if declared is not None else PENDING_EXAMPLES.get((kind, name))


# --------------------------------------------------------------------------- encoders and decoders

@pytest.mark.parametrize('name', registry.names('encoder'))
def test_encoder_on_tiny_input(name):
    encoder, kwargs = _build_on_a_tiny_shape('encoder', name, 'in_shape',
                                             lambda shape: {'in_shape': shape, 'out_dim': 2 * LATENT_DIM})
    with torch.no_grad():
        out = encoder(torch.rand(BATCH, *kwargs['in_shape']))
    assert tuple(out.shape) == (BATCH, kwargs['out_dim'])
    assert torch.isfinite(out).all()


@pytest.mark.parametrize('name', registry.names('decoder'))
def test_decoder_on_tiny_input(name):
    decoder, kwargs = _build_on_a_tiny_shape('decoder', name, 'out_shape',
                                             lambda shape: {'latent_dim': LATENT_DIM, 'out_shape': shape})
    with torch.no_grad():
        out = decoder(torch.randn(BATCH, kwargs['latent_dim']))
    assert tuple(out.shape) == (BATCH, *kwargs['out_shape'])
    assert torch.isfinite(out).all()


def _build_on_a_tiny_shape(kind: str, name: str, shape_key: str, defaults):
    """The first component of ``kind`` that builds on one of the tiny shapes (its ``example_config`` wins over
    ``defaults(shape)``), with its arguments; the test fails listing every shape's error if none builds."""
    declared = example_config(kind, name) or {}
    errors = []
    for shape in _shapes(declared.get(shape_key)):
        kwargs = {**defaults(list(shape)), **declared}
        try:
            return framework.create(kind, name, **kwargs), kwargs
        except ConfigError as exc:
            errors.append(f'{shape}: {exc}')
    pytest.fail(f'{kind} {name!r} accepts none of the tiny shapes; declare example_config:\n' + '\n'.join(errors))


def _shapes(declared_shape):
    return [tuple(declared_shape)] if declared_shape is not None else list(SHAPES)


# --------------------------------------------------------------------------- methods

TINY_FORMS = {
    'vectors': {'_base': ['a/mlp', 'd/vec'], 'dataset': {'num_samples': 64, 'out_dim': 12}},
    'images': {'_base': ['a/mlp', 'd/sprites'], 'dataset': {'size': 16}},
}


@pytest.mark.parametrize('name', registry.names('method'))
def test_method_one_training_step(name):
    from framework.scripts.common import build_dataset, build_method
    torch.manual_seed(0)
    errors = []
    for form in _method_forms(name):
        form = dict(form)
        files = form.pop('_base')
        try:
            cfg = framework.compose(*files, **form)
            dataset = build_dataset(cfg, 'train')
            method = build_method(cfg, dataset)
        except ConfigError as exc:
            errors.append(f'{files}: {exc}')
            continue
        _check_method(method, dataset)
        return
    pytest.fail(f'method {name!r} fits none of the tiny forms; declare example_config:\n' + '\n'.join(errors))


def _method_forms(name: str) -> list[dict]:
    declared = example_config('method', name)
    if declared is not None:
        return [declared]
    own = [f'm/{name}'] if framework.config.project().find_config(f'm/{name}', None) is not None else []
    select = {} if own else {'method': {'_type': f'method/{name}'}}
    order = ['vectors', 'images']
    if getattr(registry.get('method', name).obj, 'batch_form', 'images') == 'sequences':
        order.reverse()
    return [{**TINY_FORMS[form], '_base': own + TINY_FORMS[form]['_base'], **select} for form in order]


def _check_method(method, dataset) -> None:
    batch = dataset.batch(torch.arange(BATCH))
    method.train()
    out = method.training_step(batch)
    loss = out['loss']
    assert loss.dim() == 0 and torch.isfinite(loss), out
    for key, value in out.items():
        assert torch.isfinite(torch.as_tensor(value)).all(), (key, value)
    loss.backward()
    gradients = [p.grad for p in method.parameters() if p.grad is not None]
    assert gradients, 'the loss reaches no parameter'
    assert all(torch.isfinite(g).all() for g in gradients)

    method.eval()
    frames = batch['x'][:, 0] if getattr(method, 'batch_form', 'images') == 'sequences' else batch['x']
    shape = tuple(frames.shape[1:])
    with torch.no_grad():
        codes = method.represent(frames)
        assert codes.dim() == 2 and codes.shape[0] == BATCH and torch.isfinite(codes).all()
        if hasattr(method, 'reconstruct'):
            reconstruction = method.reconstruct(frames)
            assert tuple(reconstruction.shape) == (BATCH, *shape) and torch.isfinite(reconstruction).all()
        if hasattr(method, 'decode'):
            decoded = method.decode(codes)
            assert tuple(decoded.shape) == (BATCH, *shape) and torch.isfinite(decoded).all()
        if hasattr(method, 'sample'):
            samples = method.sample(2, generator=torch.Generator().manual_seed(0))
            assert tuple(samples.shape) == (2, *shape) and torch.isfinite(samples).all()


# --------------------------------------------------------------------------- metrics

FACTOR_SIZES = (3, 4, 5)
SMALL_COUNT = 200               # every ``num_*`` sample count of a protocol is cut to this


class FactorGrid(InMemoryDataset):
    """Each combination of three discrete factors once; the observation is the factors' one-hot codes."""
    name = 'factor-grid'

    def __init__(self):
        grid = torch.cartesian_prod(*[torch.arange(size) for size in FACTOR_SIZES])
        observations = torch.cat([F.one_hot(grid[:, i], size).float() for i, size in enumerate(FACTOR_SIZES)], 1)
        super().__init__(observations, grid)
        self.factor_names = ('a', 'b', 'c')
        self.factor_sizes = FACTOR_SIZES


def perfect_codes(x: torch.Tensor) -> torch.Tensor:
    """The factor classes read back from the one-hot blocks."""
    return torch.stack([block.argmax(1).float() for block in x.split(FACTOR_SIZES, 1)], 1)


def perfect_decode(codes: torch.Tensor) -> torch.Tensor:
    classes = codes.round().long()
    return torch.cat([F.one_hot(classes[:, i].clamp(0, size - 1), size).float()
                      for i, size in enumerate(FACTOR_SIZES)], 1)


@pytest.mark.parametrize('name', registry.names('metric'))
def test_metric_separates_perfect_codes_from_noise(name):
    metric = registry.get('metric', name).obj
    params = inspect.signature(metric).parameters
    noise = torch.Generator().manual_seed(1)
    representations = {
        'perfect': (perfect_codes, perfect_decode),
        'noise': (lambda x: torch.randn(x.shape[0], len(FACTOR_SIZES), generator=noise),
                  lambda z: torch.rand(z.shape[0], sum(FACTOR_SIZES), generator=noise)),
    }
    scores = {}
    for label, (represent, decode) in representations.items():
        extra = {'decode': decode} if 'decode' in params else {}
        result = metric(FactorGrid(), represent, torch.Generator().manual_seed(0), **_small_protocol(params), **extra)
        assert result and all(math.isfinite(float(v)) for v in result.values()), result
        scores[label] = float(next(iter(result.values())))
    lower_is_better = getattr(metric, 'lower_is_better', False) or name in PENDING_LOWER_IS_BETTER
    better, worse = (scores['noise'], scores['perfect']) if lower_is_better else (scores['perfect'], scores['noise'])
    assert better - worse >= 0.1 and abs(better) >= 1.5 * abs(worse), scores


def _small_protocol(params) -> dict:
    small = {}
    for p in params.values():
        if p.name.startswith('num_') and isinstance(p.default, int) and p.default > SMALL_COUNT:
            small[p.name] = SMALL_COUNT
        elif p.name == 'batch_size':
            small[p.name] = 16
        elif p.name == 'n_jobs':
            small[p.name] = 1
    return small
