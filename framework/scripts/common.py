"""What the scripts share: building the dataset and method from a plain config, naming runs, saving its config.

Loading a trained run is ``framework.load_run`` (``framework/loading.py``).
"""
from __future__ import annotations

import copy
import inspect
from dataclasses import dataclass
from pathlib import Path

from .. import registry, runs
from ..config import dump_yaml, to_plain
from ..data.base import GroundTruthDataset, split_dataset
from ..data.forms import in_form
from ..errors import ConfigError
from ..settings import SplitSettings, settings_from

_NOT_SAVED = ('load', 'resume', 'mode', 'ident', 'kind', 'out', 'run_name')


@dataclass
class RunNameSettings:
    """Where ``fig train`` puts a new run (``--run_name`` is how ``fig sweep`` gives each grid point its folder)."""
    run_name: str = ''      # exact run folder under runs_root (default: <dataset>_<method>_e-<enc>_d-<dec>_<stamp>)


def split_settings(cfg) -> SplitSettings:
    node = cfg.node('split')
    return SplitSettings() if node is None else settings_from(node, SplitSettings, 'split.')


def component_name(cfg, key: str) -> str | None:
    """``conv12`` for ``encoder: {_type: encoder/conv12}``; None when the config has no such component."""
    type_name = cfg.get(f'{key}._type', None)
    return None if type_name is None else registry.split_type(type_name)[1]


def build_dataset(cfg, split: str = 'train') -> GroundTruthDataset:
    """The configured dataset's ``split``, in the form the method trains on (``framework/data/forms.py``)."""
    if cfg.node('dataset') is None:
        raise ConfigError('No dataset in the config: add one, e.g. `d/vec` (`fig list dataset` shows them).')
    full = cfg.build('dataset')
    if split != 'train' and getattr(full, 'fresh', False):
        full = copy.copy(full)      # a dataset that draws afresh per batch: held-out draws stay fixed
        full.fresh = False
    s = split_settings(cfg)
    dataset = split_dataset(full, split, val=s.val, test=s.test, seed=s.seed)
    return in_form(dataset, method_class(cfg), lambda key: cfg.get(key, None))


def method_class(cfg):
    type_name = cfg.get('method._type', None)
    if type_name is None:
        raise ConfigError('No method in the config: add one, e.g. `m/vae` (`fig list method` shows them).')
    return registry.get(*registry.split_type(type_name)).obj


def build_method(cfg, dataset: GroundTruthDataset | None = None):
    """The configured method for observations shaped like ``dataset``'s (recorded as ``observation_shape``);
    a method whose estimators need the training set's size declares ``dataset_size`` and is given it.
    Without a dataset, both come from the config (a run's saved config holds them)."""
    if dataset is not None:
        cfg.set('observation_shape', list(dataset.observation_shape))
        if 'dataset_size' in inspect.signature(method_class(cfg)).parameters:
            cfg.set('dataset_size', len(dataset))
    return cfg.build('method')


def run_name_for(cfg, method=None) -> str:
    """``<dataset>_<method><reg_wt>_e-<enc>_d-<dec>``, e.g. ``vec_vae4_e-conv12_d-conv12``.

    ``framework/runs.py`` adds the time stamp that makes the run folder's name.
    """
    dataset = cfg.get('dataset_tag', None) or component_name(cfg, 'dataset') or 'data'
    name = cfg.get('method_tag', None) or component_name(cfg, 'method')
    reg_wt = getattr(method, 'reg_wt', None)
    if isinstance(reg_wt, (int, float)) and reg_wt > 0:
        name += f'{reg_wt:g}'.replace('.', 'p')
    return runs.run_name(dataset, name, component_name(cfg, 'encoder'), component_name(cfg, 'decoder'))


def runs_root(cfg) -> Path:
    root = cfg.get('runs_root', None)
    return Path(root) if root else runs.default_runs_root()


def save_run_config(cfg, run_dir: Path) -> None:
    data = {k: v for k, v in to_plain(cfg.to_dict()).items() if k not in _NOT_SAVED}
    text = dump_yaml(data).encode()
    runs.atomic_write_bytes(run_dir / runs.RUN_CONFIG_FILE, lambda handle: handle.write(text))
