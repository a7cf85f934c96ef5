"""Resuming with new optimiser settings: ``fig train --load RUN --resume --lr 1e-4`` trains on at the new rate.

Loading an optimiser's state restores its hyperparameters too, so without this a changed ``--lr`` (the advice of
the divergence guard) would be silently ignored. The trainer builds its optimisers from the current settings, the
checkpoint then restores the Adam moments and the schedule's position, and :func:`apply_changed_settings` puts
back the current learning rate, betas, weight decay and schedule wherever the command changed one of them. The
new rate shows in ``scalars.csv`` (``train/lr``) from the first logged step, and one note names every change.
"""
from __future__ import annotations

from dataclasses import asdict

OPTIMISER_KEYS = ('lr', 'beta1', 'beta2', 'weight_decay', 'schedule', 'lr_min', 'step_size', 'gamma')


def fresh_hyperparameters(optimizers) -> list[dict]:
    """Each optimiser's hyperparameters as built from the current settings (call before loading a checkpoint)."""
    return [{'groups': [{k: g[k] for k in ('initial_lr', 'betas', 'weight_decay') if k in g}
                        for g in o.optimizer.param_groups],
             'base_lrs': list(o.scheduler.base_lrs), 'lr_lambdas': list(o.scheduler.lr_lambdas)}
            for o in optimizers]


def changed_settings(settings, saved: dict | None) -> dict[str, tuple]:
    """``{key: (checkpoint's value, this command's value)}`` for the optimiser settings that differ."""
    if not saved:
        return {}
    current = asdict(settings)
    keys = list(OPTIMISER_KEYS)
    if current.get('schedule') == 'cosine':
        keys.append('steps')          # the cosine's length
    return {k: (saved[k], current[k]) for k in keys if k in saved and saved[k] != current[k]}


def apply_changed_settings(optimizers, fresh: list[dict], settings, saved: dict | None) -> str | None:
    """Give the restored optimisers the current hyperparameters where the settings changed; the note to print."""
    changes = changed_settings(settings, saved)
    if not changes:
        return None
    for o, built in zip(optimizers, fresh):
        scheduler = o.scheduler
        scheduler.base_lrs = list(built['base_lrs'])
        scheduler.lr_lambdas = list(built['lr_lambdas'])
        rates = []
        for group, base, factor, hyper in zip(o.optimizer.param_groups, scheduler.base_lrs, scheduler.lr_lambdas,
                                              built['groups']):
            group.update(hyper)
            group['lr'] = base * factor(scheduler.last_epoch)
            rates.append(group['lr'])
        scheduler._last_lr = rates
    listed = ', '.join(f'--{k} {new} (was {old})' for k, (old, new) in changes.items())
    return (f'note: resuming with {listed}: applied to the restored optimiser; the learning rate is now '
            f'{optimizers[0].scheduler.get_last_lr()[0]:.4g}.')
