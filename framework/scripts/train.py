"""``fig train <configs...>``: train a method on a dataset; ``fig train --load RUN --resume`` continues a run.

The same command runs on one device, or under ``torchrun --nproc_per_node N`` with DistributedDataParallel
(gloo on CPU, NCCL on GPUs): every rank builds the same model and its own slice of each batch, and only rank 0
makes the run directory and writes checkpoints, events, images and results.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from .. import distributed, runs
from ..config import build_from_signature
from ..errors import ConfigError
from ..registry import register
from ..checks import check_observation_shapes
from ..random_state import seed_everything
from ..trainer import Trainer, TrainSettings
from ..settings import settings_from
from .common import RunNameSettings, build_dataset, build_method, run_name_for, runs_root, save_run_config
from .eval import evaluate_split


@dataclass
class TrainRunSettings:
    """What `fig train` reads besides the training hyperparameters."""
    resume: bool = False              # continue the run given by --load from its last checkpoint
    include_eval: bool = True         # score the validation split when training ends
    eval_batches: int = 50            # batches of that evaluation (0: the whole split)


@register.script('train', settings=(TrainSettings, TrainRunSettings, RunNameSettings))
def train(cfg):
    """Train a method on a dataset (a new run, or `--load RUN --resume` to continue one)."""
    settings = build_from_signature(TrainSettings, cfg)
    resume = bool(cfg.pull('resume', False, silent=True))
    load = cfg.pull('load', None, silent=True)
    if resume and load is None:
        raise ConfigError('--resume continues a run: give it with `--load RUN`.')
    if resume and not isinstance(load, (str, Path)):
        raise ConfigError('--resume continues one run: give a single `--load RUN`.')
    device = distributed.resolve_device(cfg.pull('device', 'auto', silent=True))
    group = distributed.init_process_group(device)
    try:
        seed_everything(settings.seed)
        dataset = build_dataset(cfg, 'train')
        method = build_method(cfg, dataset)
        check_observation_shapes(method, dataset)
        # everything that can fail on a bad input is built before a run directory exists
        trainer = Trainer(method, dataset, settings, None, device, group)
        if resume:
            run_dir = Path(load)
        else:
            run_dir = None
            if group.is_main:
                exact = settings_from(cfg, RunNameSettings).run_name
                run_dir = runs.create_run_dir(runs_root(cfg), exact or run_name_for(cfg, method), exact=bool(exact))
                save_run_config(cfg, run_dir)
            run_dir = distributed.broadcast_object(run_dir, group)
        trainer.run_dir = run_dir
        if resume:
            last = run_dir / runs.CHECKPOINT_DIR / runs.LAST_CHECKPOINT
            if last.exists():
                trainer.load_checkpoint(last)
                if group.is_main:
                    tqdm.write(f'Resuming {run_dir.name} at step {trainer.step}')
            elif group.is_main:
                tqdm.write(f'{run_dir.name} has no checkpoint yet; starting it from step 0')
        if group.is_main:
            tqdm.write(f'Run: {run_dir}')
        scalars = trainer.fit()
        if scalars.get('interrupted'):
            return scalars
        if group.is_main and cfg.pull('include_eval', True, silent=True):
            val = build_dataset(cfg, 'val')
            evaluate_split(method, val, trainer.device, run_dir, 'eval', 'val', trainer.step,
                           batch_size=settings.batch_size, max_batches=cfg.pull('eval_batches', 50, silent=True))
        distributed.barrier(group)      # the other ranks wait for rank 0's evaluation before the group closes
        if group.is_main:
            runs.mark_finished(run_dir, trainer.step)
        return scalars
    finally:
        distributed.shutdown(group)
