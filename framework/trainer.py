"""The one training loop for every method: plain PyTorch, no Lightning.

Seeding, Adam with an optional cosine or step schedule, gradient clipping, optional bf16 autocast and
``torch.compile``, DDP when launched by ``torchrun``, a tqdm bar, TensorBoard scalars and images, atomic
checkpoints (``last.pt`` is replaced only once the new file is complete), bit-exact resume, a NaN/inf guard
and a clean stop on SIGINT/SIGTERM (a checkpoint is written first).
"""
from __future__ import annotations

import math
import os
import random
import signal
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from tqdm import tqdm

from . import runs
from .data.batches import BatchStream
from .distributed import ProcessGroup
from .errors import ConfigError, RunError, TrainingDiverged
from .logging import RunLogger, image_grids, save_png


@dataclass
class TrainSettings:
    """Training hyperparameters; every field is a top-level config key (``--steps 200``)."""
    steps: int = 100_000
    batch_size: int = 128
    lr: float = 5.0e-4
    beta1: float = 0.9
    beta2: float = 0.999
    weight_decay: float = 0.0
    schedule: str = 'none'            # none | cosine | step
    lr_min: float = 1.0e-4            # cosine: final learning rate
    step_size: int = 10_000           # step: decay every this many steps
    gamma: float = 0.5                # step: decay factor
    grad_clip: float = 0.0            # max gradient norm; 0 disables clipping
    seed: int = 0
    amp: bool = False                 # bf16 autocast where supported
    compile: bool = False             # torch.compile the method's training step
    log_every: int = 100
    viz_every: int = 1000
    ckpt_every: int = 10_000
    keep_checkpoints: int = 0         # periodic checkpoints to keep (0 keeps all)
    progress: bool = True
    hybrid: bool = False              # add hybrid samples to the image grids


def seed_everything(seed: int) -> None:
    """Seed Python, numpy and torch (all devices)."""
    random.seed(seed)
    np.random.seed(seed % 2 ** 32)
    torch.manual_seed(seed)


class Trainer:
    """Runs ``method.training_step`` over batches of ``dataset``; owns the optimiser, schedule and checkpoints."""

    def __init__(self, method, dataset, settings: TrainSettings, run_dir: Path | None, device: torch.device,
                 group: ProcessGroup = ProcessGroup()):
        self.method, self.dataset, self.settings = method.to(device), dataset, settings
        self.run_dir, self.device, self.group = run_dir, device, group
        self.optimizer = torch.optim.Adam(method.parameters(), lr=settings.lr,
                                          betas=(settings.beta1, settings.beta2),
                                          weight_decay=settings.weight_decay)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, _schedule(settings))
        self.stream = BatchStream(len(dataset), settings.batch_size, seed=settings.seed,
                                  rank=group.rank, world_size=group.world_size)
        self.step = 0
        self.model = method
        if group.is_distributed:
            from torch.nn.parallel import DistributedDataParallel
            self.model = DistributedDataParallel(method, device_ids=[device.index] if device.type == 'cuda' else None)
        if settings.compile:
            self.model = torch.compile(self.model)
        self.amp_dtype = torch.bfloat16 if settings.amp else None
        self._stop_signal = None

    # ------------------------------------------------------------------ checkpoints
    @property
    def checkpoint_dir(self) -> Path | None:
        return None if self.run_dir is None else self.run_dir / runs.CHECKPOINT_DIR

    def state_dict(self) -> dict:
        return {'step': self.step, 'method': self.method.state_dict(), 'optimizer': self.optimizer.state_dict(),
                'scheduler': self.scheduler.state_dict(), 'stream': self.stream.state_dict(),
                'rng': _rng_state(), 'settings': asdict(self.settings)}

    def save_checkpoint(self, periodic: bool = True) -> Path | None:
        """Write ``last.pt`` atomically (rank 0 only) and link it as ``ckpt-<step>.pt``."""
        if not self.group.is_main or self.checkpoint_dir is None:
            return None
        last = self.checkpoint_dir / runs.LAST_CHECKPOINT
        runs.save_checkpoint(self.state_dict(), last)
        if periodic:
            numbered = self.checkpoint_dir / f'ckpt-{self.step}.pt'
            if numbered.exists():
                numbered.unlink()
            try:
                os.link(last, numbered)
            except OSError:
                runs.save_checkpoint(self.state_dict(), numbered)
            self._prune_checkpoints()
        return last

    def load_checkpoint(self, path: Path) -> None:
        state = runs.load_checkpoint(path, map_location=self.device)
        check_state_matches(self.method, state['method'], path)
        self.method.load_state_dict(state['method'])
        self.optimizer.load_state_dict(state['optimizer'])
        self.scheduler.load_state_dict(state['scheduler'])
        self.stream.load_state_dict(state['stream'])
        _set_rng_state(state['rng'])
        self.step = int(state['step'])

    def _prune_checkpoints(self) -> None:
        keep = self.settings.keep_checkpoints
        if keep <= 0:
            return
        numbered = sorted(self.checkpoint_dir.glob('ckpt-*.pt'), key=lambda p: int(p.stem.split('-')[1]))
        for old in numbered[:-keep]:
            old.unlink()

    # ------------------------------------------------------------------ the loop
    def fit(self) -> dict[str, float]:
        """Train until ``settings.steps``; returns the last logged scalars. Stops cleanly on SIGINT/SIGTERM."""
        s, main = self.settings, self.group.is_main
        logger = RunLogger(self.run_dir, enabled=main)
        previous_handlers = self._install_signal_handlers()
        bar = tqdm(total=s.steps, initial=self.step, disable=not (main and s.progress), desc='train',
                   dynamic_ncols=True, mininterval=0.5)
        self.method.train()
        sums: dict[str, float] = {}
        count, last_scalars, tick = 0, {}, time.perf_counter()
        try:
            while self.step < s.steps:
                scalars = self.train_step()
                self.step += 1
                bar.update(1)
                for key, value in scalars.items():
                    sums[key] = sums.get(key, 0.0) + value
                count += 1
                if self.step % s.log_every == 0 or self.step == s.steps:
                    elapsed = time.perf_counter() - tick
                    last_scalars = {k: v / count for k, v in sums.items()}
                    logger.scalars(last_scalars, self.step, prefix='train/')
                    logger.scalars({'lr': self.scheduler.get_last_lr()[0], 'steps_per_s': count / elapsed},
                                   self.step, prefix='train/')
                    bar.set_postfix({k: f'{v:.4g}' for k, v in list(last_scalars.items())[:3]})
                    sums, count, tick = {}, 0, time.perf_counter()
                if main and s.viz_every > 0 and self.step % s.viz_every == 0:
                    logger.images(self.grids(), self.step)
                if s.ckpt_every > 0 and self.step % s.ckpt_every == 0 and self.step < s.steps:
                    self.save_checkpoint()
                if self._stop_signal is not None:
                    self.save_checkpoint(periodic=False)
                    bar.close()
                    tqdm.write(f'Stopped by {self._stop_signal} at step {self.step}; checkpoint written. '
                               f'Resume with: fig train --load {self.run_dir} --resume')
                    return {**last_scalars, 'interrupted': 1.0}
            self.save_checkpoint()
            if main and self.run_dir is not None:
                grids = self.grids()
                logger.images(grids, self.step)
                for name, grid in grids.items():
                    save_png(grid, self.run_dir / 'images' / f'{name}.png')
            return last_scalars
        finally:
            bar.close()
            logger.close()
            self._restore_signal_handlers(previous_handlers)

    def train_step(self) -> dict[str, float]:
        """One optimisation step on the next batch; returns the loss terms as floats."""
        indices = next(self.stream)
        batch = {k: v.to(self.device, non_blocking=True) for k, v in self.dataset.batch(indices).items()}
        with torch.autocast(self.device.type, dtype=self.amp_dtype or torch.float32, enabled=self.amp_dtype is not None):
            out = self.model(batch)
        loss = out['loss']
        self._check_finite(loss, out)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.settings.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(self.method.parameters(), self.settings.grad_clip)
        self.optimizer.step()
        self.scheduler.step()
        return {k: float(v.detach()) for k, v in out.items() if torch.is_tensor(v) and v.numel() == 1}

    def grids(self) -> dict[str, torch.Tensor]:
        return image_grids(self.method, self.dataset, self.device, hybrid=self.settings.hybrid)

    def _check_finite(self, loss: torch.Tensor, out: dict) -> None:
        finite = torch.isfinite(loss.detach()).float()
        if self.group.is_distributed:
            dist.all_reduce(finite, op=dist.ReduceOp.MIN)
        if finite.item() < 1:
            terms = ', '.join(f'{k}={float(v.detach()):.4g}' for k, v in out.items()
                              if torch.is_tensor(v) and v.numel() == 1)
            last = self.checkpoint_dir / runs.LAST_CHECKPOINT if self.checkpoint_dir else None
            kept = f' The last good checkpoint is kept at {last}.' if last is not None and last.exists() else ''
            raise TrainingDiverged(
                f'The loss became non-finite at step {self.step + 1} ({terms}).{kept} Try a lower --lr, '
                f'gradient clipping (--grad_clip 1.0), or turning off --amp.')

    def _install_signal_handlers(self):
        import threading
        if threading.current_thread() is not threading.main_thread():
            return None

        def request_stop(signum, frame):
            self._stop_signal = signal.Signals(signum).name
        return {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}

    @staticmethod
    def _restore_signal_handlers(previous) -> None:
        if previous:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def check_state_matches(method: torch.nn.Module, state: dict, path: Path) -> None:
    """A checkpoint from another config fails with the mismatched parameter names and shapes."""
    own = method.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    reshaped = sorted(k for k in set(own) & set(state) if tuple(own[k].shape) != tuple(state[k].shape))
    if missing or unexpected or reshaped:
        lines = []
        if missing:
            lines.append(f'missing from the checkpoint: {", ".join(missing[:10])}')
        if unexpected:
            lines.append(f'not in this model: {", ".join(unexpected[:10])}')
        if reshaped:
            lines.append('different shapes: ' + ', '.join(
                f'{k} {tuple(state[k].shape)} vs {tuple(own[k].shape)}' for k in reshaped[:10]))
        raise RunError(f'Checkpoint {path} does not fit the model built from this config; '
                       + '; '.join(lines) + '. Load it with the config it was trained with (`--load RUN`).')


def _schedule(s: TrainSettings):
    if s.schedule == 'none':
        return _constant
    if s.schedule == 'cosine':
        return _Cosine(s.steps, s.lr_min / s.lr if s.lr > 0 else 0.0)
    if s.schedule == 'step':
        return _Step(s.step_size, s.gamma)
    raise ConfigError(f"schedule must be 'none', 'cosine' or 'step', got {s.schedule!r}")


def _constant(step: int) -> float:
    return 1.0


class _Cosine:
    def __init__(self, steps: int, floor: float):
        self.steps, self.floor = max(1, steps), floor

    def __call__(self, step: int) -> float:
        progress = min(step, self.steps) / self.steps
        return self.floor + (1 - self.floor) * 0.5 * (1 + math.cos(math.pi * progress))


class _Step:
    def __init__(self, size: int, gamma: float):
        self.size, self.gamma = max(1, size), gamma

    def __call__(self, step: int) -> float:
        return self.gamma ** (step // self.size)


def _rng_state() -> dict:
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    version, mt, gauss = random.getstate()
    state = {'torch': torch.get_rng_state(), 'python': [version, list(mt), gauss],
             'numpy': {'keys': torch.from_numpy(keys.astype(np.int64)), 'pos': int(pos),
                       'has_gauss': int(has_gauss), 'cached': float(cached)}}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state['cuda'] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict) -> None:
    torch.set_rng_state(state['torch'].cpu())
    version, mt, gauss = state['python']
    random.setstate((version, tuple(mt), gauss))
    n = state['numpy']
    np.random.set_state(('MT19937', n['keys'].numpy().astype(np.uint32), n['pos'], n['has_gauss'], n['cached']))
    if 'cuda' in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in state['cuda']])
