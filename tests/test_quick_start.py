"""What a short run or a notebook pays before any work: ``import framework`` imports neither torch nor omnifig,
and a run with nothing to plot does not import matplotlib."""
import subprocess
import sys

from framework.logging import save_loss_curves


def _fresh_python(code: str) -> str:
    return subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, check=True).stdout.strip()


def test_import_framework_imports_neither_torch_nor_omnifig_until_used():
    out = _fresh_python('import sys, framework\n'
                        'print(sorted(m for m in ("torch", "omnifig") if m in sys.modules))\n'
                        'print(len(framework.registry.names("method")) > 10, "torch" in sys.modules)')
    assert out.splitlines() == ['[]', 'True True']


def test_loss_curves_are_drawn_only_where_a_curve_has_two_points(tmp_path):
    csv = tmp_path / 'scalars.csv'
    csv.write_text('step,wall_time,tag,value\n0,1.0,val/loss,709.0\n0,1.0,val/kl,0.003\n')
    assert save_loss_curves(csv, tmp_path / 'one.png') is False and not (tmp_path / 'one.png').exists()
    csv.write_text(csv.read_text() + '10,2.0,train/loss,650.5\n')
    assert save_loss_curves(csv, tmp_path / 'two.png') is True and (tmp_path / 'two.png').stat().st_size > 1000


def test_the_default_validation_is_proportionate_to_the_run_and_a_given_count_is_kept():
    from framework.scripts.train import validation_batches
    assert [validation_batches(None, steps) for steps in (0, 5, 20, 21, 200, 499, 500, 10 ** 6)] == \
        [2, 2, 2, 3, 20, 50, 50, 50]
    assert validation_batches(7, 10 ** 6) == 7 and validation_batches(0, 3) == 0     # 0: the whole split


def test_channels_last_training_gives_the_same_losses_within_round_off(tmp_path):
    import torch
    from framework.config import compose
    from framework.data.base import InMemoryDataset
    from framework.scripts.common import build_method
    from framework.trainer import Trainer, TrainSettings
    images = (torch.rand(64, 1, 32, 32, generator=torch.Generator().manual_seed(0)) > 0.7).to(torch.uint8) * 255
    data = InMemoryDataset(images, torch.zeros(64, 1, dtype=torch.long))
    losses, layouts = {}, {}
    for layout in (False, True):
        torch.manual_seed(0)
        method = build_method(compose('a/dlib', 'm/vae', latent_dim=4), data)
        trainer = Trainer(method, data, TrainSettings(steps=4, batch_size=16, channels_last=layout, progress=False),
                          None, torch.device('cpu'))
        torch.manual_seed(1)
        losses[layout] = torch.stack([trainer.train_step()['loss'] for _ in range(4)])
        conv = next(m for m in method.modules() if isinstance(m, torch.nn.Conv2d))
        layouts[layout] = conv.weight.is_contiguous(memory_format=torch.channels_last) and conv.weight.stride(1) == 1
    assert layouts == {False: False, True: True}
    assert torch.allclose(losses[True], losses[False], rtol=1e-4, atol=0) and losses[False][0] > losses[False][-1]
