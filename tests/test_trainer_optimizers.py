"""``Method.optimizers``: several Adams, each on its own loss and parameters, with its own step rule, checked
against Adam written out by hand; their states go into checkpoints, and older one-optimiser checkpoints load."""
from __future__ import annotations

import math

import pytest
import torch

from framework import runs
from framework.data.base import InMemoryDataset
from framework.errors import ConfigError, RunError
from framework.methods.base import Method, OptimizerSpec
from framework.trainer import Trainer, TrainSettings


class TwoPlayers(Method):
    """loss_a = (a - 1)^2 + a b and loss_b = (b + 2)^2 + a b: each loss also depends on the other's parameter."""

    def __init__(self, every_b: int = 2):
        super().__init__()
        self.a, self.b = torch.nn.Parameter(torch.tensor(0.5)), torch.nn.Parameter(torch.tensor(0.5))
        self.every_b = every_b

    def optimizers(self, settings):
        return [OptimizerSpec('a', [self.a], lr=0.1),
                OptimizerSpec('b', [self.b], lr=0.05, betas=(0.5, 0.9), loss_key='loss_b', every=self.every_b)]

    def training_step(self, batch):
        cross = self.a * self.b
        return {'loss': (self.a - 1) ** 2 + cross, 'loss_b': (self.b + 2) ** 2 + cross}


class HandAdam:
    """Adam (Kingma & Ba 2015, Algorithm 1) on one scalar."""

    def __init__(self, lr, beta1, beta2, eps=1e-8):
        self.lr, self.beta1, self.beta2, self.eps = lr, beta1, beta2, eps
        self.m = self.v = 0.0
        self.t = 0

    def step(self, value, grad):
        self.t += 1
        self.m = self.beta1 * self.m + (1 - self.beta1) * grad
        self.v = self.beta2 * self.v + (1 - self.beta2) * grad * grad
        m_hat, v_hat = self.m / (1 - self.beta1 ** self.t), self.v / (1 - self.beta2 ** self.t)
        return value - self.lr * m_hat / (math.sqrt(v_hat) + self.eps)


def trainer_for(method, steps, run_dir=None):
    settings = TrainSettings(steps=steps, batch_size=2, progress=False, log_every=1, viz_every=0, ckpt_every=0)
    return Trainer(method, InMemoryDataset(torch.zeros(4, 1)), settings, run_dir, torch.device('cpu'))


def test_each_optimiser_follows_its_own_loss_and_step_rule():
    trainer = trainer_for(TwoPlayers(every_b=2), steps=5)
    trainer.fit()
    a, b = 0.5, 0.5
    adam_a, adam_b = HandAdam(0.1, 0.9, 0.999), HandAdam(0.05, 0.5, 0.9)
    for step in range(5):
        grad_a = 2 * (a - 1) + b             # d loss_a / d a, from the same parameters as grad_b
        grad_b = 2 * (b + 2) + a             # d loss_b / d b
        new_a = adam_a.step(a, grad_a)
        new_b = adam_b.step(b, grad_b) if step % 2 == 0 else b       # b steps on steps 0, 2, 4
        a, b = new_a, new_b
    assert trainer.method.a.item() == pytest.approx(a, abs=1e-6)
    assert trainer.method.b.item() == pytest.approx(b, abs=1e-6)
    assert adam_b.t == 3


def test_all_optimiser_states_are_checkpointed_and_restored(tmp_path):
    first = trainer_for(TwoPlayers(), steps=3, run_dir=runs.create_run_dir(tmp_path, 'run'))
    first.fit()
    state = runs.load_checkpoint(first.run_dir / 'checkpoints' / 'last.pt')
    assert set(state['optimizers']) == {'a', 'b'}
    again = trainer_for(TwoPlayers(), steps=5)
    again.load_checkpoint(first.run_dir / 'checkpoints' / 'last.pt')
    for mine, theirs in zip(again.optimizers, first.optimizers):
        assert mine.optimizer.state_dict()['state'][0]['step'] == theirs.optimizer.state_dict()['state'][0]['step']
        assert torch.equal(mine.optimizer.state_dict()['state'][0]['exp_avg'],
                           theirs.optimizer.state_dict()['state'][0]['exp_avg'])


def test_a_checkpoint_from_before_several_optimisers_still_loads(tmp_path):
    class Plain(TwoPlayers):                         # the same parameters, the default single optimiser
        optimizers = Method.optimizers

    first = trainer_for(Plain(), steps=2, run_dir=runs.create_run_dir(tmp_path, 'run'))
    first.fit()
    path = first.run_dir / 'checkpoints' / 'last.pt'
    old = runs.load_checkpoint(path)
    del old['optimizers'], old['schedulers']          # what the framework wrote before OptimizerSpec existed
    runs.save_checkpoint(old, path)
    again = trainer_for(Plain(), steps=4)
    again.load_checkpoint(path)
    assert again.step == 2
    assert torch.equal(again.optimizer.state_dict()['state'][0]['exp_avg'], old['optimizer']['state'][0]['exp_avg'])
    with pytest.raises(RunError, match="optimisers \\['main'\\]"):
        trainer_for(TwoPlayers(), steps=4).load_checkpoint(path)


def test_overlapping_or_empty_optimisers_are_refused():
    class Overlap(TwoPlayers):
        def optimizers(self, settings):
            return [OptimizerSpec('a', [self.a, self.b]), OptimizerSpec('b', [self.b])]

    with pytest.raises(ConfigError, match="share parameters"):
        trainer_for(Overlap(), steps=1)

    class Missing(TwoPlayers):
        def optimizers(self, settings):
            return [OptimizerSpec('a', [self.a]), OptimizerSpec('b', [self.b], loss_key='nope')]

    with pytest.raises(RunError, match="'nope'"):
        trainer_for(Missing(), steps=1).fit()


def test_binary_cross_entropy_matches_torch_and_lets_nan_through():
    import torch.nn.functional as F
    from framework.methods.base import binary_cross_entropy

    r, x = torch.tensor([0.2, 0.9, 0.0, 1.0]), torch.tensor([0.0, 1.0, 1.0, 1.0])
    assert torch.allclose(binary_cross_entropy(r, x), F.binary_cross_entropy(r, x, reduction='none'))
    # by hand: -log(0.8), -log(0.9), log of 0 clamped at -100, 0
    assert torch.allclose(binary_cross_entropy(r, x), torch.tensor([-math.log(0.8), -math.log(0.9), 100.0, 0.0]))
    assert torch.isnan(binary_cross_entropy(torch.tensor([float('nan')]), torch.tensor([1.0]))).all()
    # a sigmoid saturated at exactly 0 or 1 keeps a finite gradient: d/dr = (r - x) / (r (1 - r)) elsewhere
    r = torch.tensor([0.0, 1.0, 0.25], requires_grad=True)
    binary_cross_entropy(r, torch.tensor([0.0, 1.0, 1.0])).sum().backward()
    assert torch.isfinite(r.grad).all() and r.grad[2].item() == pytest.approx((0.25 - 1) / (0.25 * 0.75))


class Annealed(Method):
    """A weight annealed over ``anneal_steps``, as a plugin writes it: the hyperparameter is a constructor
    argument, the step is ``current_step``."""

    def __init__(self, anneal_steps: int = 1000):
        super().__init__()
        self.w = torch.nn.Parameter(torch.tensor(1.0))
        self.anneal_steps, self.seen = anneal_steps, []

    def training_step(self, batch):
        weight = min(1.0, self.current_step / self.anneal_steps)
        self.seen.append((self.current_step, weight))
        return {'loss': weight * self.w ** 2}


def test_a_method_reads_the_training_step_and_its_hyperparameter_from_the_config(tmp_path):
    """`--anneal-steps 4` reaches the method (a top-level key that no node shadows), which anneals over 4 steps."""
    from framework.config import Config
    from framework.registry import add
    if 'test-annealed' not in __import__('framework').registry.names('method'):
        add('method', 'test-annealed', Annealed)
    cfg = Config({'method': {'_type': 'method/test-annealed'}, 'anneal_steps': 4})
    method = cfg.build('method')
    settings = TrainSettings(steps=6, batch_size=2, log_every=1, viz_every=0, ckpt_every=0, progress=False)
    Trainer(method, InMemoryDataset(torch.rand(8, 3)), settings, runs.create_run_dir(tmp_path, 'run'),
            torch.device('cpu')).fit()
    assert method.seen == [(0, 0.0), (1, 0.25), (2, 0.5), (3, 0.75), (4, 1.0), (5, 1.0)]
