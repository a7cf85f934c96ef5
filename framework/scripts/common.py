"""What the scripts share: building the dataset and method from a config, naming runs, loading a run."""
from __future__ import annotations

import copy
import inspect
from dataclasses import dataclass
from pathlib import Path

import torch

from .. import registry, runs
from ..config import build_from_signature, dump_yaml, to_plain
from ..data.base import GroundTruthDataset, split_dataset
from ..distributed import resolve_device
from ..errors import ConfigError

_NOT_SAVED = ('load', 'resume', 'mode', 'ident', 'kind', 'out', 'run_name')


@dataclass
class SplitSettings:
    """How a dataset is split into train/val/test (top-level ``split:`` in the config)."""
    val: float = 0.1
    test: float = 0.0
    seed: int = 0


@dataclass
class RunNameSettings:
    """Where ``fig train`` puts a new run (``--run_name`` is how ``fig sweep`` gives each grid point its folder)."""
    run_name: str = ''      # exact run folder under runs_root (default: <dataset>_<method>_e-<enc>_d-<dec>_<stamp>)


def split_settings(cfg) -> SplitSettings:
    node = cfg.peek('split', None, silent=True)
    return SplitSettings() if node is None else build_from_signature(SplitSettings, node)


def component_name(cfg, key: str) -> str | None:
    """``conv12`` for ``encoder: {_type: encoder/conv12}``; None when the config has no such component."""
    type_name = cfg.pull(f'{key}._type', None, silent=True)
    return None if type_name is None else registry.split_type(type_name)[1]


def build_dataset(cfg, split: str = 'train') -> GroundTruthDataset:
    """The configured dataset's ``split``; wrapped as sequences when the method trains on sequences."""
    if cfg.peek('dataset', None, silent=True) is None:
        raise ConfigError('No dataset in the config: add one, e.g. `d/vec` (`fig list dataset` shows them).')
    full = cfg.pull('dataset')
    if split != 'train' and getattr(full, 'fresh', False):
        full = copy.copy(full)      # a configured sequence dataset: held-out sequences stay fixed, as as_sequences'
        full.fresh = False
    s = split_settings(cfg)
    dataset = split_dataset(full, split, val=s.val, test=s.test, seed=s.seed)
    method_cls = method_class(cfg)
    if getattr(method_cls, 'batch_form', 'images') == 'sequences' and not getattr(dataset, 'is_sequence', False):
        from ..data.sequences import as_sequences
        settings = cfg.pull('sequence', {}, silent=True) or {}
        dataset = as_sequences(dataset, **settings)
    return dataset


def method_class(cfg):
    type_name = cfg.pull('method._type', None, silent=True)
    if type_name is None:
        raise ConfigError('No method in the config: add one, e.g. `m/vae` (`fig list method` shows them).')
    return registry.get(*registry.split_type(type_name)).obj


def build_method(cfg, dataset: GroundTruthDataset):
    """The configured method for observations shaped like ``dataset``'s (recorded as ``observation_shape``);
    a method whose estimators need the training set's size declares ``dataset_size`` and is given it."""
    cfg.push('observation_shape', list(dataset.observation_shape), silent=True)
    if 'dataset_size' in inspect.signature(method_class(cfg)).parameters:
        cfg.push('dataset_size', len(dataset), silent=True)
    return cfg.pull('method')


def run_name_for(cfg, method=None) -> str:
    """``<dataset>_<method><reg_wt>_e-<enc>_d-<dec>``, e.g. ``vec_vae4_e-conv12_d-conv12``.

    ``framework/runs.py`` adds the time stamp that makes the run folder's name.
    """
    dataset = cfg.pull('dataset_tag', None, silent=True) or component_name(cfg, 'dataset') or 'data'
    name = cfg.pull('method_tag', None, silent=True) or component_name(cfg, 'method')
    reg_wt = getattr(method, 'reg_wt', None)
    if isinstance(reg_wt, (int, float)) and reg_wt > 0:
        name += f'{reg_wt:g}'.replace('.', 'p')
    return runs.run_name(dataset, name, component_name(cfg, 'encoder'), component_name(cfg, 'decoder'))


def runs_root(cfg) -> Path:
    root = cfg.pull('runs_root', None, silent=True)
    return Path(root) if root else runs.default_runs_root()


def save_run_config(cfg, run_dir: Path) -> None:
    data = {k: v for k, v in to_plain(cfg).items() if k not in _NOT_SAVED}
    text = dump_yaml(data).encode()
    runs.atomic_write_bytes(run_dir / runs.RUN_CONFIG_FILE, lambda handle: handle.write(text))


@dataclass
class LoadedRun:
    run_dir: Path
    method: torch.nn.Module
    dataset: GroundTruthDataset
    device: torch.device
    step: int


def load_run(cfg, split: str = 'val', checkpoint: str | None = None) -> LoadedRun:
    """Rebuild a run from its saved config (``--load RUN``) and load a checkpoint (``last.pt`` by default)."""
    load = cfg.pull('load', None, silent=True)
    if load is None:
        raise ConfigError('This script needs a run: `--load RUN` (a name under trained_nets/ or a path).')
    run_dir = Path(load)
    device = resolve_device(cfg.pull('device', 'auto', silent=True))
    dataset = build_dataset(cfg, split)
    method = build_method(cfg, dataset).to(device)
    from ..recovery import load_for_scoring
    path, state = load_for_scoring(run_dir, checkpoint or cfg.pull('checkpoint', None, silent=True), device)
    from ..checks import check_state_matches
    check_state_matches(method, state['method'], path)
    method.load_state_dict(state['method'])
    method.eval()
    return LoadedRun(run_dir, method, dataset, device, int(state['step']))
