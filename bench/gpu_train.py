"""Steps/s and GPU utilisation of ``fig train``'s Trainer on the a/dlib β-VAE at 64x64, with and without --amp.

The disentanglement_lib conv nets (``config/a/dlib.yaml``) on 64 px binary images, at batch 64, 128 and 256,
bf16 autocast off and on. Two data sources: ``sprites`` (``config/d/sprites.yaml``, rendered on the host each
batch, as ``fig train a/dlib m/vae d/sprites`` trains) and ``memory`` (uint8 images already in memory, so the
model alone is timed). Utilisation is sampled during the timed steps (``torch.cuda.utilization``, else
``nvidia-smi``); a low figure means the host is the bottleneck. The synchronising calls of the timed steps are
counted (``torch.cuda.set_sync_debug_mode``): a handful (logged steps, the end), not one a step. Every line names
the card.
Each setting: --warmup steps, then --steps timed; about a minute in all on an H100.

    python bench/gpu_train.py [--batches 64 128 256] [--steps 200] [--warmup 20] [--data sprites memory]

``--device cpu`` runs the same code on the CPU, only to check the script (no utilisation, figures meaningless).
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    args = options()
    import torch
    if args.device == 'cuda' and not torch.cuda.is_available():
        sys.exit('bench/gpu_train.py needs a CUDA device and found none (torch.cuda.is_available() is False); '
                 'run it on a GPU machine, or with --device cpu to check the script only.')
    device = torch.device(args.device)
    card = torch.cuda.get_device_name(device) if device.type == 'cuda' else f'CPU ({torch.get_num_threads()} threads)'
    for data in args.data:
        for batch in args.batches:
            for amp in (False, True):
                speed, busy, syncs = measure(data, batch, amp, args.steps, args.warmup, device)
                util = f'{busy:5.1f} %' if busy is not None else '  n/a  '
                print(f'{card} | a/dlib VAE 64x64 | data {data:7s} | batch {batch:4d} | amp {str(amp):5s} | '
                      f'{speed:8.1f} steps/s | {speed * batch:9.0f} images/s | GPU util {util} | '
                      f'syncs {syncs} in {args.steps} steps', flush=True)


def options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--batches', type=int, nargs='+', default=[64, 128, 256])
    parser.add_argument('--steps', type=int, default=200, help='timed steps per setting')
    parser.add_argument('--warmup', type=int, default=20, help='untimed steps first (cuDNN autotuning, allocator)')
    parser.add_argument('--data', nargs='+', choices=('sprites', 'memory'), default=['sprites', 'memory'])
    parser.add_argument('--device', choices=('cuda', 'cpu'), default='cuda')
    return parser.parse_args()


def measure(data: str, batch: int, amp: bool, steps: int, warmup: int, device):
    """Steps/s over ``steps`` after ``warmup`` (one Trainer, ``fit`` twice), the mean utilisation meanwhile and
    the number of synchronising CUDA calls ('n/a' on the CPU)."""
    import warnings
    import torch
    from framework.config import compose
    from framework.data.base import InMemoryDataset
    from framework.scripts.common import build_dataset, build_method
    from framework.trainer import Trainer, TrainSettings

    torch.manual_seed(0)
    cfg = compose('a/dlib', 'm/vae', 'd/sprites', reg_wt=4.0, latent_dim=10)
    dataset = build_dataset(cfg, 'train')
    if data == 'memory':
        images = (torch.rand(4096, 1, 64, 64) > 0.7).to(torch.uint8) * 255
        dataset = InMemoryDataset(images, torch.zeros(4096, 1, dtype=torch.long))
    method = build_method(cfg, dataset)
    settings = TrainSettings(steps=warmup, batch_size=batch, amp=amp, log_every=100, viz_every=0, ckpt_every=0,
                             progress=False)
    trainer = Trainer(method, dataset, settings, None, device)
    trainer.fit()
    settings.steps = warmup + steps
    sampler = UtilisationSampler(device) if device.type == 'cuda' else None
    if device.type == 'cuda':
        torch.cuda.synchronize(device)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        if device.type == 'cuda':
            torch.cuda.set_sync_debug_mode('warn')
        tick = time.perf_counter()
        trainer.fit()
        if device.type == 'cuda':
            torch.cuda.set_sync_debug_mode('default')
            torch.cuda.synchronize(device)
        seconds = time.perf_counter() - tick
    syncs = sum('synchronizing' in str(w.message) for w in caught) if device.type == 'cuda' else 'n/a'
    return steps / seconds, sampler.stop() if sampler else None, syncs


class UtilisationSampler:
    """Samples the GPU's utilisation (percent busy) every 0.1 s in a thread until ``stop``."""

    def __init__(self, device):
        import torch
        self.samples: list[float] = []
        self._done = threading.Event()
        try:
            torch.cuda.utilization(device)
            self._read = lambda: float(torch.cuda.utilization(device))
        except Exception:       # noqa: BLE001 - no pynvml: ask nvidia-smi instead
            index = device.index if device.index is not None else torch.cuda.current_device()
            self._read = lambda: nvidia_smi_utilisation(index)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._done.wait(0.1):
            try:
                self.samples.append(self._read())
            except Exception:   # noqa: BLE001 - no reading: the figure says n/a
                return

    def stop(self) -> float | None:
        self._done.set()
        self._thread.join()
        return sum(self.samples) / len(self.samples) if self.samples else None


def nvidia_smi_utilisation(index: int) -> float:
    out = subprocess.run(['nvidia-smi', '-i', str(index), '--query-gpu=utilization.gpu,name',
                          '--format=csv,noheader,nounits'], capture_output=True, text=True, timeout=5, check=True)
    return float(out.stdout.split(',')[0])


if __name__ == '__main__':
    main()
