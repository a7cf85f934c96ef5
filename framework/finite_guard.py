"""The NaN/inf guard, read without a per-step sync: on a GPU, reading a loss back every step makes each step wait
for the last one to finish, so the host cannot queue the next batch while the device computes.

Each step's loss tensors stay on the device with the step's number and its batch indices (host tensors already,
no copy); ``check`` reads all the steps since the last look in one transfer. The trainer checks where it reads the
logged means anyway and before anything is written or scored (a checkpoint, validation, image grids, the end), so
no checkpoint ever holds a state past a bad step: the last good one on disk stays the last one. The parameters in
memory may have moved on by then (the steps up to the check ran); only the checkpoint on disk is the good state.

The error still names the first step whose loss was non-finite, with that step's terms; when the data is to blame
it names the bad samples: the bad step's batch is gathered again from its indices (``framework/bad_data.py``). A
dataset that draws fresh random sequences for each batch draws new ones, which still hold a stored image's NaN.
"""
from __future__ import annotations

from pathlib import Path

import torch
import torch.distributed as dist

from . import runs
from .bad_data import bad_samples, full_dataset_indices
from .errors import DataError, RunError, TrainingDiverged

NEVER = 2 ** 62             # "no bad step" when the processes agree on the first one (a minimum)
MAX_PENDING = 10_000        # steps kept unread at most: a loop that calls train_step alone is checked this often


class FiniteGuard:
    """Records every step's losses on the device; ``check`` raises for the first non-finite one since the last."""

    def __init__(self, method_name: str, dataset, control_group=None):
        self.method_name, self.dataset, self.control_group = method_name, dataset, control_group
        self.pending: list[tuple[int, dict[str, torch.Tensor], tuple[str, ...], torch.Tensor | None]] = []

    def record(self, step: int, scalars: dict[str, torch.Tensor], loss_keys: list[str], indices=None) -> None:
        """Keep step ``step``'s scalar outputs (detached device tensors) unread; no value leaves the device."""
        missing = [k for k in loss_keys if k not in scalars]
        if missing:
            raise RunError(f'{self.method_name}.training_step returned no scalar {missing[0]!r}, which its '
                           f'optimizers() names as a loss_key; it returned {sorted(scalars)}.')
        self.pending.append((step, scalars, tuple(loss_keys), indices))

    def check(self, checkpoint_dir: Path | None = None, agree: bool = True) -> None:
        """Raise ``TrainingDiverged`` (or ``DataError`` for bad data) if a pending step's loss was non-finite.

        One device-to-host copy for all pending steps. Under DDP (``agree``) the processes agree on the first bad
        step over the host-side ``control_group``, so every process raises at the same point; every process must
        then call this at the same steps. ``agree=False`` looks at this process alone (a loop already failing).
        """
        if not self.pending:
            return
        pending, self.pending = self.pending, []
        losses = torch.stack([_scalar(scalars[k]) for _, scalars, keys, _ in pending for k in keys])
        finite = iter(torch.isfinite(losses).tolist())
        mine = next((step for step, _, keys, _ in pending if not all([next(finite) for _ in keys])), NEVER)
        first = mine
        if agree and self.control_group is not None:
            agreed = torch.tensor([mine], dtype=torch.long)          # a host tensor: the group is gloo
            dist.all_reduce(agreed, op=dist.ReduceOp.MIN, group=self.control_group)
            first = int(agreed[0])
        if first == NEVER:
            return
        _, scalars, _, indices = next(p for p in pending if p[0] == first)
        raise self._error(first, scalars if mine == first else None, indices, checkpoint_dir)

    def _error(self, step: int, scalars: dict | None, indices, checkpoint_dir: Path | None) -> Exception:
        """``scalars`` None: the loss was non-finite on another process (DDP); this one names no terms."""
        if scalars is None:
            terms, indices = 'on another process', None
        else:
            values = torch.stack([v.detach().float().reshape(()) for v in scalars.values()]).tolist()
            terms = ', '.join(f'{k}={v:.4g}' for k, v in zip(scalars, values))
        last = checkpoint_dir / runs.LAST_CHECKPOINT if checkpoint_dir is not None else None
        kept = (f' The last good checkpoint is kept at {last}.' if last is not None and last.exists()
                else ' No checkpoint had been written yet.' if last is not None else '')
        bad = self._bad_samples(indices)
        if bad:
            return DataError(f'The training data holds non-finite values (NaN or inf) at step {step}: {bad}. '
                             f'This is bad data, not a learning-rate problem: repair or drop those samples '
                             f'(or regenerate the dataset file), then resume.{kept}')
        return TrainingDiverged(f'The loss became non-finite at step {step} ({terms}).{kept} Try a lower --lr, '
                                f'gradient clipping (--grad_clip 1.0), or turning off --amp.')

    def _bad_samples(self, indices) -> str:
        """The bad step's batch, gathered again on the host from its indices, looked at for NaN and inf."""
        if indices is None:
            return ''
        return bad_samples(self.dataset.batch(indices), full_dataset_indices(self.dataset, indices))


def _scalar(value: torch.Tensor) -> torch.Tensor:
    """A one-element tensor as a 0-d one; ``torch.stack`` promotes mixed float types (bf16 and float32) itself."""
    return value.reshape(()) if value.dim() else value
