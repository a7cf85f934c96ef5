"""A trained run from Python: ``framework.load_run(RUN)`` gives its method, config, step and data splits.

The first line of a notebook, from any directory::

    import framework
    run = framework.load_run('vec_vae_e-conv12_d-conv12_251125-141501')    # a name under trained_nets/, or a path
    x = torch.stack([run.dataset('test')[i]['x'] for i in range(16)])
    codes = run.method.represent(x)

The scripts (``fig eval``, ``fig eval-metrics``, the plugins' evaluations) load runs the same way, from the
config they were given (``--load RUN`` plus any flags).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from . import runs
from .distributed import resolve_device
from .errors import ConfigError


@dataclass
class Run:
    """A trained run, rebuilt from its saved config with the weights of one checkpoint."""
    run_dir: Path
    method: torch.nn.Module          # in eval mode, on ``device``
    config: dict                     # the run's composed config as plain values
    step: int                        # the checkpoint's training step
    device: torch.device
    checkpoint: Path
    _cfg: Any = field(repr=False, default=None)
    _splits: dict = field(repr=False, default_factory=dict)

    def dataset(self, split: str = 'test'):
        """The run's ``train``, ``val`` or ``test`` split (or ``full``), as it was split for training."""
        if split not in self._splits:
            from .scripts.common import build_dataset
            self._splits[split] = build_dataset(self._cfg, split)
        return self._splits[split]


def load_run(run, device: str = 'auto', checkpoint: str | None = None, runs_root: str | Path | None = None,
             **overrides) -> Run:
    """Rebuild a run and load a checkpoint (``last.pt`` by default; where that is damaged, the newest intact
    ``ckpt-<step>.pt``, with a note). A run that a trainer is writing now is refused, naming the trainer.

    ``run`` is a run's folder name under ``runs_root`` (default ``trained_nets/``), a path to it, or a composed
    ``Config`` that names it with ``load`` (how scripts call this). ``overrides`` change config values for this
    process only, as flags would (``dataset={'part': 'test'}``).
    """
    from .config import Config, compose
    if isinstance(run, Config):
        cfg = run
    else:
        run_dir = runs.resolve_run(str(run), Path(runs_root) if runs_root else None)
        cfg = compose(str(run_dir / runs.RUN_CONFIG_FILE), load=str(run_dir), device=device, **overrides)
        if checkpoint is not None:
            cfg.set('checkpoint', checkpoint)
    return _load(cfg)


def _load(cfg) -> Run:
    from .checks import check_state_matches
    from .scripts.common import build_dataset, build_method
    load = cfg.get('load', None)
    if load is None:
        raise ConfigError('This script needs a run: `--load RUN` (a name under trained_nets/ or a path).')
    run_dir = Path(load)
    device = resolve_device(cfg.get('device', 'auto'))
    splits = {}
    if cfg.get('observation_shape', None) is None:      # a config saved before shapes were recorded
        splits['train'] = build_dataset(cfg, 'train')
    # the layout the run trained with: channels-last convolutions also encode 1.3 to 1.5x faster on a CPU
    layout = {'memory_format': torch.channels_last} if cfg.get('channels_last', True) else {}
    method = build_method(cfg, splits.get('train')).to(device, **layout)
    from .recovery import load_for_scoring
    path, state = load_for_scoring(run_dir, cfg.get('checkpoint', None), device)   # or the newest intact one
    check_state_matches(method, state['method'], path)
    method.load_state_dict(state['method'])
    method.eval()
    return Run(run_dir, method, cfg.to_dict(), int(state['step']), device, path, cfg, splits)
