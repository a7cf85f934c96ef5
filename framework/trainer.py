"""The one training loop for every method: plain PyTorch, no Lightning.

Seeding, one Adam per ``OptimizerSpec`` that the method declares (``Method.optimizers``; one over all
parameters by default) with an optional cosine or step schedule, gradient clipping, optional bf16 autocast
and ``torch.compile``, DDP when launched by ``torchrun``, a tqdm bar that shows the loss from the first step,
TensorBoard scalars and images mirrored in ``scalars.csv``, periodic validation, atomic checkpoints
(``last.pt`` is replaced only once the new file is complete; ``trainer_checkpoints.py``), bit-exact resume, a
NaN/inf guard and a clean stop on SIGINT/SIGTERM (a checkpoint is written first).

No step reads a value back from the device: the losses are checked where the logged means are read anyway and
before anything is written or scored (``finite_guard.py``), the batch goes through pinned memory on CUDA
(``device_batches.py``), and under DDP the stop signal is agreed on a host-side group, so the host queues the next
step while the GPU runs this one.

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
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
from tqdm import tqdm

from . import distributed, runs, write_errors
from .data.batches import BatchStream
from .device_batches import channels_last, pins_memory, to_device
from .distributed import ProcessGroup, StopAgreement, rank_seed
from .errors import DataError, RunError, TrainingDiverged
from .finite_guard import MAX_PENDING, FiniteGuard
from .random_state import rng_state, seed_everything, set_rng_state
from .settings import setting
from .logging import (SCALARS_FILE, RunLogger, ScalarWindow, image_grids, save_latent_scatter, save_loss_curves,
                      save_png)
from .optimizers import average_gradients, build_optimizers
from .trainer_checkpoints import TrainerCheckpoints


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
    compile_backend: str = 'inductor'  # torch.compile backend ('aot_eager' compiles fast, for checking)
    channels_last: bool = True        # conv weights and image batches channels-last: 1.17x a CPU step (bench/)
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
        self.pin_batches = pins_memory(device)
        self._control = distributed.control_group(group)      # host-side flags under DDP
        self.guard = FiniteGuard(type(method).__name__, dataset, self._control)
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
        agreement = StopAgreement(self._control) if self.group.is_distributed else None
        tick = shown = time.perf_counter()
        try:
            while self.step < s.steps:
                window.add(self.train_step())
                self.step += 1
                bar.update(1)
                if agreement is not None and self._stop_requested is None and \
                        agreement.exchange(self._stop_signal is not None):
                    self._stop_requested = self._stop_signal or 'a signal to another process'
                log_now = self.step % s.log_every == 0 or self.step == s.steps
                feedback = log_now or self.step == first_step or time.perf_counter() - shown > FEEDBACK_SECONDS
                viz_now = s.viz_every > 0 and self.step % s.viz_every == 0
                eval_now = s.eval_every > 0 and self.step % s.eval_every == 0 and self.step < s.steps
                ckpt_now = s.ckpt_every > 0 and self.step % s.ckpt_every == 0 and self.step < s.steps
                stop = self._stop_requested if self.group.is_distributed else self._stop_signal
                if log_now or self.step == first_step or viz_now or eval_now or ckpt_now or stop is not None \
                        or (feedback and not self.group.is_distributed):
                    self.check_finite()       # before anything is logged, drawn, scored or saved (DDP: same steps)
                if feedback:
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
                if main and viz_now:
                    logger.images(self.grids(), self.step)
                if eval_now:
                    self._validate(validate, logger, final=False)
                if ckpt_now:
                    self.save_checkpoint()
                if stop is not None:
                    self.save_checkpoint(periodic=False)
                    bar.close()
                    if main:
                        tqdm.write(f'Stopped by {stop} at step {self.step}; checkpoint written. '
                                   f'Resume with: fig train --load {self.run_dir} --resume')
                    return {**last_scalars, 'interrupted': 1.0}
            self.check_finite()
            self.save_checkpoint()
            bar.close()
            self._validate(validate, logger, final=True)
            if main and self.run_dir is not None:
                self._write_pictures(logger)
            return last_scalars
        except Exception as exc:
            if isinstance(exc, (OSError, RuntimeError)) and write_errors.is_write_failure(exc):
                raise RunError(self._write_failure(self.checkpoint_dir / runs.LAST_CHECKPOINT, exc,
                                                   'the logs')) from exc
            self._blame_divergence(exc)
            raise
        finally:
            bar.close()
            if agreement is not None and sys.exc_info()[0] is None:
                agreement.close()
            self._close_quietly(logger)
            self._restore_signal_handlers(previous_handlers)

    @staticmethod
    def _close_quietly(logger: RunLogger) -> None:
        """Close the logs; when the run is already failing (say its folder is gone), that error is the one shown."""
        try:
            logger.close()
        except OSError:
            if sys.exc_info()[0] is None:
                raise

    def train_step(self) -> dict[str, torch.Tensor]:
        """One optimisation step on the next batch; returns the scalar outputs as detached tensors (no sync).

        Every optimiser due at this step gets the gradient of its own loss in its own parameters only; all of
        them are computed from the same forward pass before any optimiser steps. The losses are recorded for the
        NaN guard unread; ``fit`` checks them (a loop that calls this alone: ``check_finite``).
        """
        indices = next(self.stream)
        batch = to_device(self.dataset.batch(indices), self.device, self.pin_batches)
        if self.settings.channels_last:
            batch = channels_last(batch)
        due = [o for o in self.optimizers if self.step % o.spec.every == 0]
        self.method.current_step = self.step          # read by schedules inside a loss (Method.current_step)
        separate = self.group.is_distributed and not self._one_backward
        with self._ddp.no_sync() if separate else contextlib.nullcontext():
            with torch.autocast(self.device.type, dtype=self.amp_dtype or torch.float32,
                                enabled=self.amp_dtype is not None):
                out = self.model(batch)
            scalars = {k: v.detach() for k, v in out.items() if torch.is_tensor(v) and v.numel() == 1}
            self.guard.record(self.step + 1, scalars, [o.spec.loss_key for o in due] or ['loss'], indices)
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
        if len(self.guard.pending) >= MAX_PENDING:
            self.check_finite()
        return scalars

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

    def check_finite(self) -> None:
        """Raise for the first step since the last check whose loss was non-finite (one read of the device).

        Under DDP a collective: every rank calls it at the same steps, and all of them raise together.
        """
        self.guard.check(self.checkpoint_dir)

    def _blame_divergence(self, exc: Exception) -> None:
        """A loop failing after a non-finite loss (say a solver on NaN input) is reported as the divergence."""
        try:
            self.guard.check(self.checkpoint_dir, agree=False)
        except (TrainingDiverged, DataError) as diverged:
            raise diverged from exc
        except Exception:       # noqa: BLE001 - the device itself may be failing: the first error is shown
            pass

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

