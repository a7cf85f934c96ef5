"""The trainer's checkpoints: what a bit-exact resume needs, written atomically, read back with checks.

``Trainer`` (``framework/trainer.py``) inherits these; they use its ``method``, ``optimizers``, ``stream``,
``step``, ``settings``, ``group``, ``device`` and ``run_dir``. ``last.pt`` is replaced only once the new file
is complete (``runs.save_checkpoint``); ``ckpt-<step>.pt`` is a separate copy of it (damage to one file in place
leaves the other intact), and the oldest beyond ``keep_checkpoints`` are removed.
"""
from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import torch.distributed as dist
from tqdm import tqdm

from . import distributed, runs, write_errors
from .checks import check_state_matches
from .distributed import rank_seed, state_digest
from .errors import RunError
from .resume_settings import apply_changed_settings, fresh_hyperparameters
from .random_state import rng_state, seed_everything, set_rng_state


class TrainerCheckpoints:
    """Saving and restoring a ``Trainer``'s whole state (a mixin: the trainer holds the attributes)."""

    @property
    def checkpoint_dir(self) -> Path | None:
        return None if self.run_dir is None else self.run_dir / runs.CHECKPOINT_DIR

    def state_dict(self) -> dict:
        """Everything a bit-exact resume needs; under DDP a collective (every rank must call it)."""
        method_state = self.method.state_dict()
        optimizers = {o.spec.name: o.optimizer.state_dict() for o in self.optimizers}
        schedulers = {o.spec.name: o.scheduler.state_dict() for o in self.optimizers}
        first = self.optimizers[0].spec.name     # 'optimizer' and 'scheduler' as single-optimiser runs wrote them
        state = {'step': self.step, 'method': method_state, 'optimizer': optimizers[first],
                 'scheduler': schedulers[first], 'optimizers': optimizers, 'schedulers': schedulers,
                 'stream': self.stream.state_dict(), 'rng': rng_state(self.device), 'settings': asdict(self.settings),
                 'world_size': self.group.world_size,
                 'log_window': {'sums': dict(self.window.sums), 'count': self.window.count}}
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
        """Write ``last.pt`` atomically (rank 0 only) and copy it to ``ckpt-<step>.pt``.

        Every rank calls this (the state is gathered from all of them). A failed write (a full disk, a denied
        permission, a deleted folder) leaves the previous ``last.pt`` intact and no temporary file, and stops every
        rank with a message that names the cause.
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
                    self._copy_numbered(last)
            except (OSError, RuntimeError) as exc:
                if not write_errors.is_write_failure(exc):
                    raise
                failure = self._write_failure(last, exc)
        failure = distributed.broadcast_object(failure, self.group)
        if failure is not None:
            raise RunError(failure)
        return last if self.group.is_main else None

    def _copy_numbered(self, last: Path) -> None:
        runs.copy_atomic(last, self.checkpoint_dir / f'ckpt-{self.step}.pt')
        self._prune_checkpoints()

    def _write_failure(self, last: Path, exc: BaseException, what: str = 'the checkpoint') -> str:
        cause, advice = write_errors.describe(exc, last)
        kept = ''
        if last.exists():
            try:
                kept_step = int(runs.load_checkpoint(last)['step'])
                kept = f' The previous checkpoint {last} (step {kept_step}) is intact.'
            except Exception:       # noqa: BLE001 - the message is what matters here
                kept = f' The previous checkpoint is {last}.'
        return (f'Could not write {what} at step {self.step} because {cause}.{kept} {advice}, then '
                f'continue with `fig train --load {self.run_dir} --resume`.')

    def load_checkpoint(self, path: Path, state: dict | None = None) -> None:
        """Restore everything ``state_dict`` saved (``state``: the file already loaded); leftovers of a write cut
        short by a kill are removed. Checkpoints written before methods could have several optimisers load too."""
        if self.group.is_main:
            runs.remove_stale_temporaries(Path(path).parent)
        if state is None:
            state = runs.load_checkpoint(path, map_location=self.device)
        missing = [k for k in ('step', 'method', 'optimizer', 'scheduler', 'stream', 'rng') if k not in state]
        if missing:
            raise RunError(f'{path} is not a training checkpoint of this framework (no {", ".join(missing)}); '
                           f'resume from one of the run\'s own checkpoints (`--checkpoint ckpt-<step>.pt`).')
        check_state_matches(self.method, state['method'], path)
        optimizers = state.get('optimizers')
        schedulers = state.get('schedulers')
        if optimizers is None:            # one optimiser, saved under the old keys
            name = self.optimizers[0].spec.name if len(self.optimizers) == 1 else 'main'
            optimizers, schedulers = {name: state['optimizer']}, {name: state['scheduler']}
        ours = [o.spec.name for o in self.optimizers]
        if sorted(optimizers) != sorted(ours):
            raise RunError(f'{path} holds the state of optimisers {sorted(optimizers)}, but this method trains with '
                           f'{sorted(ours)}. Load it with the config it was trained with (`--load RUN`).')
        self.method.load_state_dict(state['method'])
        fresh = fresh_hyperparameters(self.optimizers)
        for o in self.optimizers:
            o.optimizer.load_state_dict(optimizers[o.spec.name])
            o.scheduler.load_state_dict(schedulers[o.spec.name])
        self.stream.load_state_dict(state['stream'])
        self.step = int(state['step'])
        window = state.get('log_window') or {}      # the steps since the last logged mean, before the stop
        self.window.sums = {k: v.to(self.device) for k, v in window.get('sums', {}).items()}
        self.window.count = int(window.get('count', 0))
        note = apply_changed_settings(self.optimizers, fresh, self.settings, state.get('settings'))
        if note and self.group.is_main:
            tqdm.write(note)
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
