"""The Adam of eager runs is torch's Adam bit for bit and does not import ``torch._dynamo`` (1.6 s of CPU, the
largest fixed cost of a short run)."""
import subprocess
import sys

import torch

from framework.eager_adam import EagerAdam, adam_class


def _train(optimizer_class, steps=20, switch_at=None, schedule=True):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(5, 7), torch.nn.Tanh(), torch.nn.Linear(7, 3))
    optimizer = optimizer_class(model.parameters(), lr=3e-2, betas=(0.8, 0.95), weight_decay=0.01)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 0.9 ** step) if schedule else None
    data = torch.randn(steps, 4, 5, generator=torch.Generator().manual_seed(1))
    for step in range(steps):
        if step == switch_at:       # a checkpoint of one class restored into the other
            other = torch.optim.Adam if optimizer_class is EagerAdam else EagerAdam
            state = optimizer.state_dict()
            optimizer = other(model.parameters(), lr=3e-2, betas=(0.8, 0.95), weight_decay=0.01)
            optimizer.load_state_dict(state)
        optimizer.zero_grad(set_to_none=True)
        (model(data[step]) ** 2).mean().backward()
        optimizer.step()
        if schedule is not None:
            schedule.step()
    return [p.detach().clone() for p in model.parameters()]


def test_eager_adam_updates_exactly_as_torch_adam_and_their_states_are_interchangeable():
    reference, constant = _train(torch.optim.Adam), _train(torch.optim.Adam, schedule=False)
    assert all(torch.equal(a, b) for a, b in zip(reference, _train(EagerAdam)))
    for got in (_train(EagerAdam, switch_at=7, schedule=False), _train(torch.optim.Adam, switch_at=11, schedule=False)):
        assert all(torch.equal(a, b) for a, b in zip(constant, got))
    assert not torch.equal(reference[0], _train(torch.optim.Adam, steps=19)[0])     # the comparison can fail


def test_compiled_runs_keep_torch_adam():
    assert adam_class(compiled=True) is torch.optim.Adam and adam_class(compiled=False) is EagerAdam


def _fresh_python(code: str) -> str:
    return subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, check=True).stdout.strip()


def test_training_steps_with_the_trainers_optimizers_do_not_import_dynamo():
    out = _fresh_python(
        'import sys, torch\n'
        'from types import SimpleNamespace\n'
        'from framework.methods.base import OptimizerSpec\n'
        'from framework.optimizers import build_optimizers\n'
        'model = torch.nn.Linear(3, 2)\n'
        'method = SimpleNamespace(optimizers=lambda s: [OptimizerSpec("main", list(model.parameters()))])\n'
        's = SimpleNamespace(compile=False, lr=1e-3, beta1=0.9, beta2=0.999, weight_decay=0.0, schedule="none")\n'
        'o = build_optimizers(method, s)[0]\n'
        'for _ in range(3):\n'
        '    o.optimizer.zero_grad(); model(torch.ones(4, 3)).sum().backward(); o.optimizer.step(); o.scheduler.step()\n'
        'o.optimizer.load_state_dict(o.optimizer.state_dict())\n'
        'print("torch._dynamo" in sys.modules)')
    assert out == 'False'
