"""The one training loop for every method: plain PyTorch, no Lightning.

Seeding, Adam with an optional cosine or step schedule, gradient clipping, optional bf16 autocast and
``torch.compile``, DDP when launched by ``torchrun``, a tqdm bar, TensorBoard scalars and images, atomic
checkpoints (``last.pt`` is replaced only once the new file is complete), bit-exact resume, a NaN/inf guard
and a clean stop on SIGINT/SIGTERM (a checkpoint is written first).

Random state under DDP: every rank is seeded with ``seed`` before the model is built (identical
initialisation), then the trainer reseeds each rank from ``(seed, rank)`` so that ranks draw independent noise.
A checkpoint holds every rank's random state (``rng_ranks``, gathered to rank 0) next to rank 0's (``rng``), so
resuming with the same number of processes restores each rank's own state; resuming with another number of
processes keeps the data order (index streams are defined on the global batch) and reseeds the random state
from ``(seed, rank, step)``, which is reproducible but not bit-exact with the uninterrupted run.
"""
from __future__ import annotations

import errno
import math
import os
import signal
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
import torch.distributed as dist
from tqdm import tqdm

from . import distributed, runs
from .data.batches import BatchStream
from .distributed import ProcessGroup, rank_seed, state_digest
from .errors import ConfigError, RunError, TrainingDiverged
from .checks import check_state_matches
from .random_state import rng_state, seed_everything, set_rng_state
from .logging import RunLogger, image_grids, save_png


@dataclass
class TrainSettings:
    """Training hyperparameters; every field is a top-level config key (``--steps 200``)."""
    steps: int = field(default=100_000, metadata={'help': 'optimisation steps', 'min': 0})
    batch_size: int = field(default=128, metadata={'help': 'observations per step (all ranks together)', 'min': 1})
    lr: float = 5.0e-4
    beta1: float = 0.9
    beta2: float = 0.999
    weight_decay: float = 0.0
    schedule: str = 'none'            # none | cosine | step
    lr_min: float = 1.0e-4            # cosine: final learning rate
    step_size: int = 10_000           # step: decay every this many steps
    gamma: float = 0.5                # step: decay factor
    grad_clip: float = 0.0            # max gradient norm; 0 disables clipping
    seed: int = field(default=0, metadata={'help': 'random seed of initialisation, data order and noise',
                                           'hint': 'For several seeds, use `fig sweep`.'})
    amp: bool = False                 # bf16 autocast where supported
    compile: bool = False             # torch.compile the method's training step
    compile_backend: str = 'inductor'  # torch.compile backend ('aot_eager' compiles fast, for checking)
    log_every: int = 100
    viz_every: int = 1000
    ckpt_every: int = 10_000
    keep_checkpoints: int = 0         # periodic checkpoints to keep (0 keeps all)
    progress: bool = True
    hybrid: bool = False              # add hybrid samples to the image grids
    find_unused_parameters: bool = False  # DDP: allow parameters that a step leaves without gradient


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
            self.model = DistributedDataParallel(method, device_ids=[device.index] if device.type == 'cuda' else None,
                                                 find_unused_parameters=settings.find_unused_parameters)
            seed_everything(rank_seed(settings.seed, group.rank))     # independent noise on each rank
        if settings.compile:
            self.model = torch.compile(self.model, backend=settings.compile_backend)
        self.amp_dtype = torch.bfloat16 if settings.amp else None
        if settings.amp and device.type == 'cuda' and not torch.cuda.is_bf16_supported():
            tqdm.write('note: --amp asks for bf16 autocast, which this GPU does not support; training in float32.')
            self.amp_dtype = None
        self._stop_signal = None          # set by the signal handler of this process
        self._stop_requested = None       # agreed by all ranks at the last step

    # ------------------------------------------------------------------ checkpoints
    @property
    def checkpoint_dir(self) -> Path | None:
        return None if self.run_dir is None else self.run_dir / runs.CHECKPOINT_DIR

    def state_dict(self) -> dict:
        """Everything a bit-exact resume needs; under DDP a collective (every rank must call it)."""
        method_state = self.method.state_dict()
        state = {'step': self.step, 'method': method_state, 'optimizer': self.optimizer.state_dict(),
                 'scheduler': self.scheduler.state_dict(), 'stream': self.stream.state_dict(),
                 'rng': rng_state(self.device), 'settings': asdict(self.settings), 'world_size': self.group.world_size}
        if self.group.is_distributed:
            mine = {'rng': state['rng'], 'digest': state_digest(method_state)}
            gathered = [None] * self.group.world_size if self.group.is_main else None
            dist.gather_object(mine, gathered, dst=0)
            if self.group.is_main:
                state['rng_ranks'] = [g['rng'] for g in gathered]
                state['param_digests'] = [g['digest'] for g in gathered]
                if len(set(state['param_digests'])) > 1:
                    tqdm.write(f'warning: the {self.group.world_size} processes hold different parameters at step '
                               f'{self.step} (digests {state["param_digests"]}); rank 0\'s are saved.')
        return state

    def save_checkpoint(self, periodic: bool = True) -> Path | None:
        """Write ``last.pt`` atomically (rank 0 only) and link it as ``ckpt-<step>.pt``.

        Every rank calls this (the state is gathered from all of them). A failed write (e.g. a full disk)
        leaves the previous ``last.pt`` intact and no temporary file, and stops every rank with a message.
        """
        if self.checkpoint_dir is None:
            return None
        state = self.state_dict()
        last = self.checkpoint_dir / runs.LAST_CHECKPOINT
        failure = None
        if self.group.is_main:
            try:
                runs.save_checkpoint(state, last)
                if periodic:
                    self._link_numbered(last, state)
            except OSError as exc:
                failure = self._write_failure(last, exc)
        failure = distributed.broadcast_object(failure, self.group)
        if failure is not None:
            raise RunError(failure)
        return last if self.group.is_main else None

    def _link_numbered(self, last: Path, state: dict) -> None:
        numbered = self.checkpoint_dir / f'ckpt-{self.step}.pt'
        if numbered.exists():
            numbered.unlink()
        try:
            os.link(last, numbered)        # a second name for the same complete file
        except OSError as exc:
            if exc.errno == errno.ENOSPC:
                raise
            runs.save_checkpoint(state, numbered)
        self._prune_checkpoints()

    def _write_failure(self, last: Path, exc: OSError) -> str:
        reason = 'the disk is full' if exc.errno == errno.ENOSPC else f'{exc.__class__.__name__}: {exc}'
        kept = ''
        if last.exists():
            try:
                kept_step = int(runs.load_checkpoint(last)['step'])
                kept = f' The previous checkpoint {last} (step {kept_step}) is intact.'
            except Exception:       # noqa: BLE001 - the message is what matters here
                kept = f' The previous checkpoint is {last}.'
        return (f'Could not write the checkpoint at step {self.step} because {reason}.{kept} Free some space '
                f'(or lower --keep_checkpoints), then continue with `fig train --load {self.run_dir} --resume`.')

    def load_checkpoint(self, path: Path) -> None:
        """Restore everything ``state_dict`` saved; leftovers of a write cut short by a kill are removed."""
        if self.group.is_main:
            runs.remove_stale_temporaries(Path(path).parent)
        state = runs.load_checkpoint(path, map_location=self.device)
        missing = [k for k in ('step', 'method', 'optimizer', 'scheduler', 'stream', 'rng') if k not in state]
        if missing:
            raise RunError(f'{path} is not a training checkpoint of this framework (no {", ".join(missing)}); '
                           f'resume from a run\'s checkpoints/last.pt.')
        check_state_matches(self.method, state['method'], path)
        self.method.load_state_dict(state['method'])
        self.optimizer.load_state_dict(state['optimizer'])
        self.scheduler.load_state_dict(state['scheduler'])
        self.stream.load_state_dict(state['stream'])
        self.step = int(state['step'])
        ranks = state.get('rng_ranks')
        if not self.group.is_distributed and int(state.get('world_size', 1)) == 1:
            set_rng_state(state['rng'], self.device)
        elif ranks is not None and len(ranks) == self.group.world_size:
            set_rng_state(ranks[self.group.rank], self.device)
        else:
            seed_everything(rank_seed(self.settings.seed, self.group.rank, self.step))
            if self.group.is_main:
                tqdm.write(f'note: {path} was written by {state.get("world_size", 1)} process(es) and this run has '
                           f'{self.group.world_size}; data order continues exactly, random state is reseeded '
                           f'from (seed, rank, step).')

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
                stop = self._stop_requested if self.group.is_distributed else self._stop_signal
                if stop is not None:
                    self.save_checkpoint(periodic=False)
                    bar.close()
                    if main:
                        tqdm.write(f'Stopped by {stop} at step {self.step}; checkpoint written. '
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
        """Stop on a non-finite loss on any rank; under DDP the same all-reduce also agrees on a stop signal."""
        finite = torch.isfinite(loss.detach()).float().reshape(1)
        if self.group.is_distributed:
            not_stopping = torch.ones_like(finite) * (0.0 if self._stop_signal is not None else 1.0)
            flags = torch.cat([finite, not_stopping])
            dist.all_reduce(flags, op=dist.ReduceOp.MIN)
            finite = flags[:1]
            if flags[1].item() < 1 and self._stop_requested is None:
                self._stop_requested = self._stop_signal or 'a signal to another process'
        if finite.item() < 1:
            terms = ', '.join(f'{k}={float(v.detach()):.4g}' for k, v in out.items()
                              if torch.is_tensor(v) and v.numel() == 1)
            last = self.checkpoint_dir / runs.LAST_CHECKPOINT if self.checkpoint_dir else None
            kept = (f' The last good checkpoint is kept at {last}.' if last is not None and last.exists()
                    else ' No checkpoint had been written yet.' if last is not None else '')
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

