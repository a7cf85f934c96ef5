"""``fig reproduce [NAME] [--scale cpu|paper] [--dry_run]``: a paper's experiment as sweeps, scored, tabulated.

The experiments are data (``framework/reproduce/experiment.py``), declared by the plugins that own them and by
the core for its baselines; the training is ``fig sweep``'s engine, one resumable sweep per row.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError
from ..registry import register
from ..settings import setting, settings_from
from .common import runs_root as runs_root_of


@dataclass
class ReproduceSettings:
    """What ``fig reproduce`` runs and how; the runs themselves are ``fig train``'s, as the experiment lists them."""
    experiment: str = setting('', 'the experiment to run (`fig reproduce` alone lists them)')
    scale: str = setting('cpu', "cpu: reduced, offline stand-ins, about an hour on 2 cores; paper: the paper's "
                                'settings (GPU hours)', choices=['cpu', 'paper'])
    dry_run: bool = setting(False, 'list every run with its training and scoring commands; run nothing')
    table: bool = setting(False, 'only read the scores of the runs made so far and print the table; train nothing')
    engine: str = setting('local', 'the sweep engine (`fig sweep -h`)',
                          choices=['local', 'submitit-local', 'slurm', 'ray'])
    workers: int = setting(0, 'runs at a time (0: one per GPU, else half the CPU cores)', min=0)
    out: str = setting('', 'folder of table.csv and table.png (default <runs_root>/reproduce/<name>/<scale>)')


@register.script('reproduce', settings=ReproduceSettings, positional='experiment')
def reproduce(cfg):
    """Run a paper's experiment (rows x seeds as resumable sweeps), score it, and print its table beside the paper's.

    The word after `fig reproduce` names an experiment (not config files); the flags below choose how it runs.

    fig reproduce                                  the experiments: data, runs and expected cost at each scale
    fig reproduce NAME --dry_run true              every run with its `fig train` and scoring commands
    fig reproduce NAME --scale cpu                 the reduced setting on offline stand-ins (about an hour on 2 cores)
    fig reproduce NAME --scale paper               the paper's steps, batch and data (GPU hours; --engine slurm)
    fig reproduce NAME --table true                the table from the runs finished so far

    Run the same command again to continue: finished runs are skipped, stopped ones resume from their
    checkpoints, runs without scores are scored. Each row is a sweep under <runs_root>/sweeps/
    (`fig sweep --status NAME`); the table goes to <runs_root>/reproduce/<name>/<scale>/table.csv and table.png,
    with our mean ± std (n seeds) beside the paper's numbers and a verdict per claim.
    """
    from ..reproduce import all_experiments, find_experiment, format_listing
    s = settings_from(cfg, ReproduceSettings)
    root = runs_root_of(cfg)
    if not s.experiment:
        print(format_listing(all_experiments()))
        return None
    experiment = find_experiment(s.experiment)
    from ..reproduce.plan import format_dry_run, plan
    plans = plan(experiment, s.scale)
    if s.dry_run:
        _check_rows(plans)
        print(format_dry_run(experiment, s.scale, plans, root))
        return {'experiment': experiment.name, 'scale': s.scale, 'plans': plans}
    failed = [] if s.table else _train_and_score(experiment, s, plans, root)
    result = _tabulate(experiment, s, plans, root)
    if failed:
        print(f'{len(failed)} run(s) or scorings failed; logs: {", ".join(failed)}. Run the same command again '
              f'to retry them.')
        raise SystemExit(1)
    return result


def _check_rows(plans) -> None:
    """Every row's ``fig train`` command, checked as ``fig sweep`` checks a grid point (one seed stands for all)."""
    from ..sweep import validate
    for row_plan in plans:
        try:
            validate(row_plan.grid, row_plan.points()[:1])
        except ConfigError as exc:
            raise ConfigError(f'Row {row_plan.row.key}: {exc}') from None


def _train_and_score(experiment, s: ReproduceSettings, plans, root: Path) -> list[str]:
    """Each row's sweep (resumable), then the scoring of its finished runs; the logs of what failed."""
    from ..scripts.sweep import SweepSettings
    from ..sweep import run_sweep
    from ..sweep.state import sweeps_root
    from ..reproduce.plan import run_evaluations
    import os
    failed = []
    cores = len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else (os.cpu_count() or 1)
    for row_plan in plans:
        print(f'\n== {experiment.name} [{s.scale}] {row_plan.row.label}: sweep {row_plan.name}')
        settings = SweepSettings(name=row_plan.name, engine=s.engine, workers=s.workers)
        code = run_sweep(row_plan.grid, settings, root)
        if code == 130:
            raise SystemExit(130)
        if code:
            failed.append(str(sweeps_root(root) / row_plan.name / 'logs'))
        try:
            failed += run_evaluations(row_plan, root, threads=max(1, cores // 2))
        except KeyboardInterrupt:
            print('\nStopped while scoring (eval-metrics keeps the metrics it finished). Run the same command '
                  'again to continue.')
            raise SystemExit(130) from None
    return failed


def _tabulate(experiment, s: ReproduceSettings, plans, root: Path) -> dict:
    from ..reproduce.plan import run_dirs
    from ..reproduce.scores import row_stats
    from ..reproduce.table import format_table, plot, write_csv
    runs_by_row = {p.row.key: run_dirs(p, root) for p in plans}
    ours = row_stats(experiment, runs_by_row)
    print(format_table(experiment, ours, s.scale))
    out = Path(s.out) if s.out else root / 'reproduce' / experiment.name / s.scale
    csv_path = write_csv(experiment, ours, out / 'table.csv')
    png_path = plot(experiment, ours, out / 'table.png')
    expected = experiment.runs(s.scale)
    scored = sum(1 for row in ours.values() if any(stat.n for stat in row.values()))
    trained = sum(len(v) for v in runs_by_row.values())
    print(f'{trained} of {expected} runs exist; {scored} of {len(plans)} rows have scores. '
          f'Table: {csv_path}; plot: {png_path}')
    return {'experiment': experiment.name, 'scale': s.scale, 'ours': ours, 'csv': str(csv_path),
            'png': str(png_path), 'complete': trained == expected}
