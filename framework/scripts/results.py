"""``fig results --runs SWEEP [--metric mig,dci] [--axis reg_wt]``: one table of every run's scores per configuration.

The runs are a sweep (its name under ``<runs_root>/sweeps/`` or its folder), a run, a folder of runs, or several
of these (``--runs a,b`` or ``--load RUN1 RUN2``). Runs are grouped by their saved config less the seed and
bookkeeping keys; each group gets the mean, standard deviation (over seeds, ddof 1) and n of every score.
Written: ``results.csv`` and PNG plots (a score against ``--axis`` with error bars, and a bar per
configuration) in ``--out`` (default: the sweep's folder, else ``<runs_root>/results/``); the table is printed
with only the config keys that differ between groups. Runs without scores are listed, not dropped.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .. import runs
from ..errors import ConfigError
from ..registry import register
from ..results import collect, format_table, group, metric_names, plot_against, plot_bars, varying_keys, write_csv
from ..results.plots import file_name
from ..settings import settings_from
from ..sweep.state import STATE_FILE, SweepState, sweeps_root
from .common import runs_root as runs_root_of

MAX_DEFAULT_PLOTS = 12


@dataclass
class ResultsSettings:
    """What ``fig results`` reads, shows and draws."""
    runs: str = ''              # a sweep's name or folder, a run, or a folder of runs; several with commas
    metric: str = ''            # scores to show and plot, comma list: `mig/mig`, `mig` (all its keys) or a glob
    axis: str = ''              # config key to plot scores against, e.g. reg_wt (default: the numeric key that varies)
    files: str = '*.json'       # which files under each run's results/ to read (globs, comma list)
    ignore: str = ''            # more config keys to leave out of the grouping, comma list (seed is always left out)
    out: str = ''               # folder for results.csv and plots/ (default: the sweep's folder or <runs_root>/results)
    plots: bool = True          # draw the PNG plots


@register.script('results', settings=ResultsSettings, positional='runs', positional_many=True)
def results(cfg):
    """Average every run's scores per configuration (over seeds): a table, results.csv and plots."""
    s = settings_from(cfg, ResultsSettings)
    root = runs_root_of(cfg)
    load = cfg.get('load', None)
    sources = _split(s.runs) + ([] if load is None else [load] if isinstance(load, (str, Path)) else list(load))
    if not sources:
        raise ConfigError('fig results needs runs: `--runs SWEEP` (a sweep name or folder, a run, or a folder of '
                          'runs; several with commas) or `--load RUN1 RUN2`.')
    run_dirs, untrained, sweeps = resolve_sources(sources, root)
    if not run_dirs:
        raise ConfigError(f'No trained runs in {", ".join(map(str, sources))} yet '
                          f'({len(untrained)} grid points not started).')
    records = collect(run_dirs, tuple(_split(s.files)) or ('*.json',))
    groups = group(records, ignore=tuple(_split(s.ignore)))
    wanted = tuple(_split(s.metric))
    metrics = metric_names(groups, wanted)
    if wanted and not metrics:
        known = ', '.join(metric_names(groups)) or 'none (no run has scores yet)'
        skipped = {name: why for r in records for name, why in r.skipped.items()}
        notes = ''.join(f' Skipped by eval-metrics: {name}: {why}.' for name, why in skipped.items()
                        if any(name == w.split('/')[0] for w in wanted))
        raise ConfigError(f'No score matches --metric {s.metric}. Scores of these runs: {known}.{notes}')
    unmatched = [w for w in wanted if not metric_names(groups, (w,))]
    if unmatched:
        print(f'note: no run has a score matching {", ".join(unmatched)}')
    out_dir = Path(s.out) if s.out else sweeps[0] if len(sweeps) == 1 else root / 'results'
    csv_path = write_csv(groups, metrics, out_dir / 'results.csv')
    print(format_table(groups, metrics))
    print(f'{_count(len(records), "run")} in {_count(len(groups), "configuration")}; table: {csv_path}')
    unscored = [r.name for r in records if not r.scores]
    if unscored:
        print(f'{len(unscored)} runs have no scores (no matching results/*.json): {", ".join(unscored)}')
    if untrained:
        print(f'{len(untrained)} grid points have no run yet: {", ".join(untrained)}')
    plots = draw(groups, metrics, s.axis, out_dir / 'plots', limited=not wanted) if s.plots else []
    for path in plots:
        print(f'plot: {path}')
    return {'groups': groups, 'metrics': metrics, 'csv': str(csv_path), 'plots': [str(p) for p in plots]}


def resolve_sources(sources, root: Path) -> tuple[list[Path], list[str], list[Path]]:
    """(run folders, names of a sweep's points not trained yet, sweep folders) for sweeps, runs and folders."""
    run_dirs, untrained, sweeps = [], [], []
    for source in sources:
        path = Path(source)
        sweep = next((p for p in (path, sweeps_root(root) / str(source)) if (p / STATE_FILE).is_file()), None)
        if sweep is not None:
            sweeps.append(sweep)
            for record in SweepState.load(sweep).runs:
                if runs.is_run(record['run_dir']):
                    run_dirs.append(Path(record['run_dir']))
                else:
                    untrained.append(record['point'])
        elif path.is_dir() and not runs.is_run(path):
            found = runs.find_runs(path)
            if not found:
                raise ConfigError(f'{path} holds no runs (no {runs.RUN_CONFIG_FILE} below it).')
            run_dirs.extend(found)
        else:
            run_dirs.append(runs.resolve_run(source, root))
    unique = list(dict.fromkeys(p.resolve() for p in run_dirs))
    return unique, untrained, sweeps


def draw(groups, metrics: list[str], axis: str, folder: Path, limited: bool) -> list[Path]:
    """A bar chart per score, and the score against ``axis`` (or the one numeric key that varies)."""
    keys = varying_keys(groups)
    if axis and not any(axis in g.config for g in groups):
        raise ConfigError(f'--axis {axis} is not a config key of these runs. Keys that vary: '
                          f'{", ".join(keys) or "none"}.')
    if not axis:
        numeric = [k for k in keys if all(isinstance(g.config.get(k), (int, float)) and
                                          not isinstance(g.config.get(k), bool) for g in groups)]
        axis = numeric[0] if len(numeric) == 1 else ''
    chosen = metrics[:MAX_DEFAULT_PLOTS] if limited else metrics
    if limited and len(metrics) > len(chosen):
        print(f'plotting the first {len(chosen)} of {len(metrics)} scores; choose others with --metric')
    paths = []
    for metric in chosen:
        if axis:
            paths.append(plot_against(groups, metric, axis, folder / file_name(metric, 'vs', axis)))
        if len(groups) > 1 or not axis:
            paths.append(plot_bars(groups, metric, folder / file_name(metric, 'by-config')))
    return [p for p in paths if p is not None]


def _split(text) -> list[str]:
    return [part.strip() for part in str(text or '').split(',') if part.strip()]


def _count(n: int, noun: str) -> str:
    return f'{n} {noun}' if n == 1 else f'{n} {noun}s'
