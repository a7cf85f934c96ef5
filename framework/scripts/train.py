"""``fig train <configs...>``: train a method on a dataset; ``fig train --load RUN --resume`` continues a run.

The same command runs on one device, or under ``torchrun --nproc_per_node N`` with DistributedDataParallel
(gloo on CPU, NCCL on GPUs): every rank builds the same model and its own slice of each batch, and only rank 0
makes the run directory and writes checkpoints, events, images and results.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from .. import distributed, recovery, run_lock, runs
from ..errors import ConfigError
from ..registry import register
from ..checks import check_observation_shapes
from ..random_state import seed_everything
from ..settings import setting, settings_from
from ..trainer import Trainer, TrainSettings
from .common import (RunNameSettings, build_dataset, build_method, run_name_for, runs_root, save_run_config,
                     split_settings)
from .eval import evaluate_split


MAX_DEFAULT_VALIDATION_BATCHES = 50


@dataclass
class TrainRunSettings:
    """What ``fig train`` does around the training loop; top-level config keys like ``TrainSettings``."""
    resume: bool = False              # continue the run given with --load (from last.pt, or --checkpoint NAME)
    include_eval: bool = True         # score the validation split at the end (results/eval.json, val/ scalars)
    eval_batches: int | None = setting(None, 'validation batches scored per evaluation (default: one per 10 training '
                                       'steps, 2 to 50, so that it stays a small part of the run; 0: the whole split)',
                                       min=0)
    restart: bool = False             # with --resume: train a run whose checkpoints are gone again from step 0


@register.script('train', settings=(TrainSettings, TrainRunSettings, RunNameSettings))
def train(cfg):
    """Train a method on a dataset (a new run, or `--load RUN --resume` to continue one)."""
    settings = settings_from(cfg, TrainSettings)
    run_settings = settings_from(cfg, TrainRunSettings)
    load = cfg.get('load', None)
    if run_settings.resume and load is None:
        raise ConfigError('--resume continues a run: give it with `--load RUN`.')
    if run_settings.resume and not isinstance(load, (str, Path)):
        raise ConfigError('--resume continues one run: give a single `--load RUN`.')
    device = distributed.resolve_device(cfg.get('device', 'auto'))
    group = distributed.init_process_group(device)
    owner = None
    try:
        seed_everything(settings.seed)
        dataset = build_dataset(cfg, 'train')
        method = build_method(cfg, dataset)
        check_observation_shapes(method, dataset)
        # everything that can fail on a bad input is built before a run directory exists
        trainer = Trainer(method, dataset, settings, None, device, group)
        val = _validation_split(cfg, settings, run_settings, group)
        checkpoint = None
        if run_settings.resume:
            run_dir = Path(load)
            owner = run_lock.RunLock(run_dir).acquired() if group.is_main else None
            if group.is_main or not run_settings.restart:     # rank 0 alone moves the history aside
                checkpoint = recovery.resume_point(run_dir, cfg.get('checkpoint', None),
                                                   run_settings.restart, settings.ckpt_every, trainer.device)
        else:
            run_dir = None
            if group.is_main:
                exact = settings_from(cfg, RunNameSettings).run_name
                run_dir, owner = run_lock.claim_new_run(runs_root(cfg), exact or run_name_for(cfg, method), bool(exact),
                                                        lambda folder: save_run_config(cfg, folder))
            run_dir = distributed.broadcast_object(run_dir, group)
        trainer.run_dir = run_dir
        path, state, note = checkpoint or (None, None, None)
        if note and group.is_main:
            tqdm.write(note)
        if path is not None:
            trainer.load_checkpoint(path, state)
            if group.is_main:
                tqdm.write(f'Resuming {run_dir.name} at step {trainer.step} from {path.name}')
        elif run_settings.resume and group.is_main:
            tqdm.write(f'{run_dir.name} has no checkpoint yet; starting it from step 0')
        if group.is_main:
            tqdm.write(f'Run: {run_dir}')

        def validate(step: int, final: bool) -> dict | None:
            if final and not run_settings.include_eval:
                return None
            result = evaluate_split(method, val, trainer.device, run_dir, 'eval' if final else 'eval-latest', 'val',
                                    step, batch_size=settings.batch_size,
                                    max_batches=validation_batches(run_settings.eval_batches, settings.steps))
            return result['scores']
        scalars = trainer.fit(validate if val is not None else None)
        if group.is_main and not scalars.get('interrupted'):
            runs.mark_finished(run_dir, trainer.step)       # what `fig sweep` reads to skip a finished run
        return scalars
    finally:
        if owner is not None:
            owner.release()
        distributed.shutdown(group)


def validation_batches(eval_batches: int | None, steps: int) -> int:
    """The batches an evaluation scores: as given, else one per 10 training steps within 2 to 50 (a 20-step check
    is not made to wait for 50 batches of validation; a long run's 50 batches cost little beside it)."""
    if eval_batches is not None:
        return eval_batches
    return min(MAX_DEFAULT_VALIDATION_BATCHES, max(2, math.ceil(steps / 10)))


def _validation_split(cfg, settings: TrainSettings, run_settings: TrainRunSettings, group):
    """The validation split, built before training so that a bad one fails first; None when nothing scores
    it, or when it is empty (``--split.val 0``: a one-line note says the evaluation is skipped)."""
    if not (run_settings.include_eval or settings.eval_every > 0):
        return None
    if split_settings(cfg).val <= 0:
        if group.is_main:
            tqdm.write('note: the validation split is empty (split.val is 0), so no validation is run; '
                       'score another split afterwards with `fig eval --load RUN --mode test`.')
        return None
    return build_dataset(cfg, 'val')
