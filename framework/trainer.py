"""The one training loop for every method: plain PyTorch, no Lightning.

Seeding, one Adam per ``OptimizerSpec`` that the method declares (``Method.optimizers``; one over all
parameters by default) with an optional cosine or step schedule, gradient clipping, optional bf16 autocast
and ``torch.compile``, DDP when launched by ``torchrun``, a tqdm bar that shows the loss from the first step,
TensorBoard scalars and images mirrored in ``scalars.csv``, periodic validation, atomic checkpoints
(``last.pt`` is replaced only once the new file is complete; ``trainer_checkpoints.py``), bit-exact resume, a
NaN/inf guard and a clean stop on SIGINT/SIGTERM (a checkpoint is written first).

Random state under DDP: every rank is seeded with ``seed`` before the model is built (identical
initialisation), then the trainer reseeds each rank from ``(seed, rank)`` so that ranks draw independent noise.
A checkpoint holds every rank's random state (``rng_ranks``, gathered to rank 0) next to rank 0's (``rng``), so
resuming with the same number of processes restores each rank's own state; resuming with another number of
processes keeps the data order (index streams are defined on the global batch) and reseeds the random state
from ``(seed, rank, step)``, which is reproducible but not bit-exact with the uninterrupted run.
"""
from __future__ import annotations

import contextlib
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
import torch.distributed as dist
from tqdm import tqdm

from . import distributed, runs, write_errors
from .bad_data import bad_samples, full_dataset_indices
from .data.batches import BatchStream
from .distributed import ProcessGroup, rank_seed
from .errors import DataError, RunError, TrainingDiverged
from .random_state import rng_state, seed_everything, set_rng_state
from .settings import setting
from .logging import (SCALARS_FILE, RunLogger, ScalarWindow, image_grids, save_latent_scatter, save_loss_curves,
                      save_png)
from .optimizers import average_gradients, build_optimizers
from .trainer_checkpoints import TrainerCheckpoints


def channels_last(batch: dict) -> dict:
    """Images (4-D tensors) in the channels-last layout the conv weights have: the same values, faster convolutions."""
    return {k: v.contiguous(memory_format=torch.channels_last) if torch.is_tensor(v) and v.dim() == 4 else v
            for k, v in batch.items()}


SCHEDULES = ('none', 'cosine', 'step')
FEEDBACK_SECONDS = 1.0      # the bar's loss is refreshed (one device-to-host copy) at most this often


@dataclass
class TrainSettings:
    """Training hyperparameters; every field is a top-level config key (``--steps 200``).

    The limits are declared with each field (``framework.settings.setting``), so a bad value is refused with the
    flag that fixes it before anything runs, and ``fig train -h`` shows them.
    """
    steps: int = setting(100_000, 'optimisation steps in all (a resumed run continues up to this)', min=0)
    batch_size: int = setting(128, 'observations per step (split across processes under torchrun)', min=1)
    lr: float = setting(5.0e-4, 'Adam learning rate', min=0)
    beta1: float = setting(0.9, 'Adam beta1', min=0, max=0.999999)
    beta2: float = setting(0.999, 'Adam beta2', min=0, max=0.999999)
    weight_decay: float = setting(0.0, 'Adam weight decay', min=0)
    schedule: str = setting('none', 'learning-rate schedule: none | cosine | step', choices=SCHEDULES)
    lr_min: float = setting(1.0e-4, 'cosine: final learning rate', min=0)
    step_size: int = setting(10_000, 'step: decay every this many steps', min=1)
    gamma: float = setting(0.5, 'step: decay factor', min=0)
    grad_clip: float = setting(0.0, 'max gradient norm; 0 disables clipping', min=0)
    seed: int = setting(0, 'seeds initialisation, data order and noise', hint='For several seeds, use `fig sweep`.')
    amp: bool = False                 # bf16 autocast where supported
    compile: bool = False             # torch.compile the method's training step
    channels_last: bool = True        # conv weights and image batches channels-last: 1.17x a CPU step (bench/)
    compile_backend: str = 'inductor'  # torch.compile backend ('aot_eager' compiles fast, for checking)
    log_every: int = setting(100, 'steps between logged means (TensorBoard, scalars.csv)', min=1)
    viz_every: int = setting(1000, 'steps between image grids in TensorBoard; 0 turns them off', min=0)
    ckpt_every: int = setting(10_000, 'steps between numbered checkpoints (ckpt-<step>.pt); 0: only at the end',
                              min=0)
    eval_every: int = setting(0, 'steps between validation scores during training; 0: only at the end', min=0)
    keep_checkpoints: int = setting(0, 'periodic checkpoints to keep (0 keeps all)', min=0)
    progress: bool = True             # show the progress bar
    hybrid: bool = False              # add hybrid samples to the image grids
    find_unused_parameters: bool = False  # DDP: allow parameters that a step leaves without gradient


class Trainer(TrainerCheckpoints):
    """Runs ``method.training_step`` over batches of ``dataset``; owns the optimiser, schedule and checkpoints."""

    def __init__(self, method, dataset, settings: TrainSettings, run_dir: Path | None, device: torch.device,
                 group: ProcessGroup = ProcessGroup()):
        layout = {'memory_format': torch.channels_last} if settings.channels_last else {}
        self.method, self.dataset, self.settings = method.to(device, **layout), dataset, settings
        self.run_dir, self.device, self.group = run_dir, device, group
        self.optimizers = build_optimizers(method, settings)
        self.optimizer, self.scheduler = self.optimizers[0].optimizer, self.optimizers[0].scheduler
        trainable = [p for p in method.parameters() if p.requires_grad]
        self._one_backward = (len(self.optimizers) == 1 and self.optimizers[0].spec.loss_key == 'loss'
                              and {id(p) for p in self.optimizers[0].spec.params} == {id(p) for p in trainable})
        self.stream = BatchStream(len(dataset), settings.batch_size, seed=settings.seed,
                                  rank=group.rank, world_size=group.world_size)
        self.step = 0
        self.model = self._ddp = method
        if group.is_distributed:
            from torch.nn.parallel import DistributedDataParallel
            self.model = self._ddp = DistributedDataParallel(
                method, device_ids=[device.index] if device.type == 'cuda' else None,
                find_unused_parameters=settings.find_unused_parameters)
            seed_everything(rank_seed(settings.seed, group.rank))     # independent noise on each rank
        if settings.compile:
            self.model = torch.compile(self.model, backend=settings.compile_backend)
        self.amp_dtype = torch.bfloat16 if settings.amp else None
        if settings.amp and device.type == 'cuda' and not torch.cuda.is_bf16_supported():
            tqdm.write('note: --amp asks for bf16 autocast, which this GPU does not support; training in float32.')
            self.amp_dtype = None
        self.window = ScalarWindow()      # the steps since the last logged mean (kept in checkpoints)
        self._stop_signal = None          # set by the signal handler of this process
        self._stop_requested = None       # agreed by all ranks at the last step

    # ------------------------------------------------------------------ the loop
    def fit(self, validate: Callable[[int, bool], dict | None] | None = None) -> dict[str, float]:
        """Train until ``settings.steps``; returns the last logged scalars. Stops cleanly on SIGINT/SIGTERM.

        ``validate(step, final)`` scores held-out data and returns its scalars (or None to skip): called every
        ``eval_every`` steps and once at the end (``final=True``), on rank 0 only; the scores go to TensorBoard
        and ``scalars.csv`` under ``val/``. It must not change the training state (its random draws are undone).
        """
        s, main = self.settings, self.group.is_main
        logger = RunLogger(self.run_dir, enabled=main, start_step=self.step)
        previous_handlers = self._install_signal_handlers()
        bar = tqdm(total=s.steps, initial=self.step, disable=not (main and s.progress), desc='train',
                   dynamic_ncols=True, mininterval=0.5)
        self.method.train()
        window = self.window
        first_step, last_scalars = self.step + 1, {}
        tick = shown = time.perf_counter()
        try:
            while self.step < s.steps:
                window.add(self.train_step())
                self.step += 1
                bar.update(1)
                log_now = self.step % s.log_every == 0 or self.step == s.steps
                if log_now or self.step == first_step or time.perf_counter() - shown > FEEDBACK_SECONDS:
                    means = window.means()            # the only device-to-host copy of the scalars
                    bar.set_postfix({k: f'{v:.4g}' for k, v in list(means.items())[:3]},
                                    refresh=self.step == first_step)    # seen at once, not after mininterval
                    shown = time.perf_counter()
                if log_now:
                    last_scalars = means
                    logger.scalars(means, self.step, prefix='train/')
                    speed = window.count / max(shown - tick, 1e-9)
                    logger.scalars({**self._learning_rates(), 'steps_per_s': speed}, self.step, prefix='train/')
                    window.reset()
                    tick = shown
                if main and s.viz_every > 0 and self.step % s.viz_every == 0:
                    logger.images(self.grids(), self.step)
                if s.eval_every > 0 and self.step % s.eval_every == 0 and self.step < s.steps:
                    self._validate(validate, logger, final=False)
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
            bar.close()
            self._validate(validate, logger, final=True)
            if main and self.run_dir is not None:
                self._write_pictures(logger)
            return last_scalars
        except (OSError, RuntimeError) as exc:
            if not write_errors.is_write_failure(exc):
                raise
            raise RunError(self._write_failure(self.checkpoint_dir / runs.LAST_CHECKPOINT, exc, 'the logs')) from exc
        finally:
            bar.close()
            self._close_quietly(logger)
            self._restore_signal_handlers(previous_handlers)

    @staticmethod
    def _close_quietly(logger: RunLogger) -> None:
        """Close the logs; when the run is already failing (say its folder is gone), that error is the one shown."""
        import sys
        try:
            logger.close()
        except OSError:
            if sys.exc_info()[0] is None:
                raise

    def train_step(self) -> dict[str, torch.Tensor]:
        """One optimisation step on the next batch; returns the scalar outputs as detached tensors (no sync).

        Every optimiser due at this step gets the gradient of its own loss in its own parameters only; all of
        them are computed from the same forward pass before any optimiser steps.
        """
        indices = next(self.stream)
        batch = {k: v.to(self.device, non_blocking=True) for k, v in self.dataset.batch(indices).items()}
        if self.settings.channels_last:
            batch = channels_last(batch)
        due = [o for o in self.optimizers if self.step % o.spec.every == 0]
        self.method.current_step = self.step          # read by schedules inside a loss (Method.current_step)
        separate = self.group.is_distributed and not self._one_backward
        with self._ddp.no_sync() if separate else contextlib.nullcontext():
            with torch.autocast(self.device.type, dtype=self.amp_dtype or torch.float32,
                                enabled=self.amp_dtype is not None):
                out = self.model(batch)
            self._check_finite(out, [o.spec.loss_key for o in due] or ['loss'], batch, indices)
            for o in due:
                o.optimizer.zero_grad(set_to_none=True)
            if self._one_backward:
                if due:
                    out['loss'].backward()
            else:
                for i, o in enumerate(due):
                    out[o.spec.loss_key].backward(inputs=o.spec.params, retain_graph=i < len(due) - 1)
        if separate:
            average_gradients([p for o in due for p in o.spec.params], self.group.world_size)
        for o in due:
            if self.settings.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(o.spec.params, self.settings.grad_clip)
        for o in due:
            o.optimizer.step()
        for o in self.optimizers:
            o.scheduler.step()
        return {k: v.detach() for k, v in out.items() if torch.is_tensor(v) and v.numel() == 1}

    def grids(self) -> dict[str, torch.Tensor]:
        return image_grids(self.method, self.dataset, self.device, hybrid=self.settings.hybrid)

    def _validate(self, validate, logger: RunLogger, final: bool) -> None:
        """Rank 0 scores held-out data (its random draws undone); the other ranks wait for it."""
        if validate is None:
            return
        if self.group.is_main:
            state = rng_state(self.device)
            try:
                scores = validate(self.step, final)
            finally:
                set_rng_state(state, self.device)
            if scores:
                logger.scalars(scores, self.step, prefix='val/')
        distributed.barrier(self.group)

    def _write_pictures(self, logger: RunLogger) -> None:
        """Image grids as PNGs in ``images/`` (image data), latent-against-factor plots (vector data), loss curves."""
        images = self.run_dir / 'images'
        grids = self.grids()
        logger.images(grids, self.step)
        scale = max(1, 64 // int(self.dataset.observation_shape[-1])) if grids else 1
        for name, grid in grids.items():
            save_png(grid, images / f'{name}.png', scale=scale)
        vectors = len(self.dataset.observation_shape) == 1 and not getattr(self.dataset, 'is_sequence', False)
        if vectors and hasattr(self.method, 'represent'):
            save_latent_scatter(self.method, self.dataset, self.device, images / 'latents_vs_factors.png')
        logger.csv.flush()
        save_loss_curves(self.run_dir / SCALARS_FILE, images / 'loss_curves.png')

    def _learning_rates(self) -> dict[str, float]:
        first = self.optimizers[0]
        rates = {'lr': first.scheduler.get_last_lr()[0]}
        rates.update({f'lr_{o.spec.name}': o.scheduler.get_last_lr()[0] for o in self.optimizers[1:]})
        return rates

    def _check_finite(self, out: dict, loss_keys: list[str], batch: dict | None = None, indices=None) -> None:
        """Stop on a non-finite loss on any rank; under DDP the same all-reduce also agrees on a stop signal.

        The batch is looked at only once the loss is non-finite (no cost on a good step): a NaN or inf in the
        data is named as bad data, with its sample indices, not blamed on the learning rate.
        """
        missing = [k for k in loss_keys if k not in out]
        if missing:
            raise RunError(f'{type(self.method).__name__}.training_step returned no {missing[0]!r}, which its '
                           f'optimizers() names as a loss_key; it returned {sorted(out)}.')
        losses = torch.stack([out[k].detach().float().reshape(()) for k in loss_keys])
        finite = torch.isfinite(losses).all().float().reshape(1)
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
            bad = bad_samples(batch or {}, full_dataset_indices(self.dataset, indices))
            if bad:
                raise DataError(f'The training data holds non-finite values (NaN or inf) at step {self.step + 1}: '
                                f'{bad}. This is bad data, not a learning-rate problem: repair or drop those '
                                f'samples (or regenerate the dataset file), then resume.{kept}')
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

