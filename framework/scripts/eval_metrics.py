"""``fig eval-metrics [eval/<suite>] --load RUN [RUN2 ...] [--ident NAME] [--out table.csv]``: disentanglement metrics.

One run: scores it with a metric suite and writes ``results/<ident>.json`` (values, protocol parameters, seed,
seconds, and the skipped metrics with their reasons) and TensorBoard scalars ``metrics/<metric>/<key>``.
The suite is the config's ``metrics:`` (e.g. ``fig eval-metrics eval/fast --load RUN``), else
``config/eval/<dataset>.yaml`` for the run's dataset, else ``config/eval/default.yaml``.

Several runs (``--load RUN1 RUN2`` or a folder of runs): each is scored as above, then one CSV table
(``--out``, default ``<runs_root>/metrics_summary.csv``) gives the mean and standard deviation of every score
per configuration, a configuration being the run name without its ``_YYMMDD-HHMMSS`` stamp and ``-N`` suffix
(the runs of one configuration with different seeds).
"""
from __future__ import annotations

import csv
import io
import re
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from .. import runs
from ..config import ROOT, compose, load_yaml, to_plain
from ..errors import ConfigError, DataError
from ..metrics.suite import metrics_needing_factors, run_suite
from ..registry import register
from .common import component_name, load_run, runs_root

SUITE_DIR = ROOT / 'config' / 'eval'
DEFAULT_SUITE = 'default'
# datasets that share a suite with the published dataset they imitate
SUITE_ALIASES = {'3dshapes': '3ds', 'shapes3d-synth': '3ds', 'sprites': 'dsprites'}
_STAMP = re.compile(r'_\d{6}-\d{6}(-\d+)?$')


@register.script('eval-metrics')
def eval_metrics(cfg):
    """Score trained runs with a disentanglement metric suite; several runs also give a CSV table per configuration."""
    load = cfg.pull('load', None, silent=True)
    if load is None:
        raise ConfigError('eval-metrics scores a trained run: `fig eval-metrics --load RUN` '
                          '(a run name under trained_nets/, a path, several runs, or a folder of runs).')
    if isinstance(load, (str, Path)):
        return score_run(cfg)
    results = []
    overrides = {k: v for k, v in to_plain(cfg).items() if k != 'load'}
    for path in load:
        run_cfg = compose(str(Path(path) / runs.RUN_CONFIG_FILE), **overrides, load=str(path))
        results.append(score_run(run_cfg))
    out = cfg.pull('out', None, silent=True)
    out = Path(out) if out else runs_root(cfg) / 'metrics_summary.csv'
    write_summary(results, out)
    tqdm.write(f'{len(results)} runs in {len({configuration_of(r["run"]) for r in results})} configurations: {out}')
    return {'runs': results, 'summary': str(out)}


def score_run(cfg) -> dict:
    """Score the run of ``cfg`` (``--load RUN``) with its suite; write the JSON and the TensorBoard scalars."""
    ident = cfg.pull('ident', 'metrics', silent=True)
    run = load_run(cfg, split='full')
    dataset = run.dataset
    suite, seed, source = suite_for(cfg, dataset)
    needing = metrics_needing_factors(suite, dataset)
    if needing:
        raise DataError(f'{run.run_dir.name}: {dataset.name} has no ground-truth factors, and the metrics '
                        f'{", ".join(needing)} of suite {source} need them. Score a run trained on a dataset '
                        f'with factors, or use `fig eval --load RUN` for reconstruction scores.')
    start = time.perf_counter()
    results = run_suite(suite, dataset, run.method, seed=seed, device=run.device, progress=True)
    report = {
        'ident': ident, 'run': run.run_dir.name, 'step': run.step, 'dataset': dataset.name, 'suite': source,
        'parity': cfg.pull('parity', None, silent=True), 'seed': seed, 'seconds': round(time.perf_counter() - start, 3), 'metrics': results,
        'skipped': {name: r['reason'] for name, r in results.items() if r.get('skipped')},
    }
    path = run.run_dir / 'results' / f'{ident}.json'
    runs.write_json_atomic(path, report)
    log_scalars(run.run_dir, results, run.step)
    scores = ', '.join(f'{k}={v:.4g}' for k, v in flat_values(results).items())
    tqdm.write(f'{run.run_dir.name} ({source}, seed {seed}): {scores or "no metric applied"} -> {path}')
    for name, reason in report['skipped'].items():
        tqdm.write(f'  skipped {name}: {reason}')
    return report


def suite_for(cfg, dataset) -> tuple[dict, int, str]:
    """The suite to run, its seed and where it came from: the config's ``metrics``, else the dataset's file."""
    suite = cfg.pull('metrics', None, silent=True)
    seed = cfg.pull('metrics_seed', None, silent=True)
    source = 'config'
    if suite is None:
        names = [cfg.pull('dataset_tag', None, silent=True), getattr(dataset, 'name', None),
                 component_name(cfg, 'dataset')]
        names = [SUITE_ALIASES.get(n, n) for n in names if n] + [DEFAULT_SUITE]
        path = next(SUITE_DIR / f'{n}.yaml' for n in names if (SUITE_DIR / f'{n}.yaml').is_file())
        data = load_yaml(path) or {}
        suite, source = data.get('metrics'), f'eval/{path.stem}'
        seed = data.get('metrics_seed', 0) if seed is None else seed
    if not isinstance(suite, dict) or not suite:
        raise ConfigError(f'The metric suite ({source}) is empty or not a mapping: `metrics:` must map metric names '
                          f'to their parameters, e.g. `metrics: {{mig: {{num_train: 10000}}}}` (see config/eval/).')
    return {name: dict(params or {}) for name, params in suite.items()}, int(seed or 0), source


def flat_values(results: dict) -> dict[str, float]:
    """``{'mig/mig': 0.3, 'dci/disentanglement': 0.5, ...}`` from a suite's results (skipped ones left out)."""
    return {f'{name}/{key}': float(value) for name, result in results.items()
            for key, value in result.get('values', {}).items()}


def log_scalars(run_dir: Path, results: dict, step: int) -> None:
    from torch.utils.tensorboard import SummaryWriter
    writer = SummaryWriter(log_dir=str(run_dir))
    try:
        for key, value in flat_values(results).items():
            writer.add_scalar(f'metrics/{key}', value, step)
    finally:
        writer.flush()
        writer.close()


def configuration_of(run_name: str) -> str:
    """``vec_vae_e-mlp_d-mlp_251125-141501-2`` -> ``vec_vae_e-mlp_d-mlp``: the runs of one configuration."""
    return _STAMP.sub('', run_name)


def write_summary(reports: list[dict], out: Path) -> None:
    """One row per configuration: the runs, then the mean and std (ddof 1; empty for one run) of each score."""
    groups: dict[str, list[dict]] = {}
    for report in reports:
        groups.setdefault(configuration_of(report['run']), []).append(flat_values(report['metrics']))
    keys = sorted({key for values in groups.values() for run in values for key in run})
    header = ['configuration', 'num_runs'] + [f'{key}_{stat}' for key in keys for stat in ('mean', 'std')]
    rows = []
    for configuration, values in groups.items():
        row = [configuration, len(values)]
        for key in keys:
            column = np.array([run[key] for run in values if key in run], dtype=np.float64)
            row.append(f'{column.mean():.6g}' if column.size else '')
            row.append(f'{column.std(ddof=1):.6g}' if column.size > 1 else '')
        rows.append(row)
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(header)
    writer.writerows(rows)
    out.parent.mkdir(parents=True, exist_ok=True)
    runs.atomic_write_bytes(out, lambda handle: handle.write(text.getvalue().encode()))
