"""An experiment at one scale as sweeps: one ``fig sweep`` grid per row (its configs, flags and seeds), and the
evaluation commands that score each finished run.

A row's sweep is named from its scale, its key and a hash of its command, so two experiments that train the
same configuration (MSP's equivariance table and its prediction curve) share the runs, and changing a row's
settings starts a new sweep instead of mixing runs of two settings.
"""
from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from .. import runs
from ..sweep import Grid, Point, SweepState, sweeps_root
from .experiment import Evaluation, Experiment, Row

REPO = Path(__file__).resolve().parent.parent.parent


@dataclass
class RowPlan:
    """One row at one scale: the sweep that trains it and the evaluations that score its runs."""
    row: Row
    grid: Grid
    name: str                       # the sweep's name under <runs_root>/sweeps/
    evaluations: list[Evaluation]

    def points(self) -> list[Point]:
        return self.grid.points()

    def run_dir(self, root: Path, point: Point) -> Path:
        return sweeps_root(root) / self.name / point.name

    def train_command(self, point: Point) -> list[str]:
        return ['fig', 'train', *self.grid.base_command(), *point.flags()]


def plan(experiment: Experiment, scale: str) -> list[RowPlan]:
    """The rows of ``experiment`` at ``scale`` (``paper`` or ``cpu``) as sweep grids."""
    settings = experiment.scales[scale]
    out = []
    for row in experiment.rows:
        configs = [new for name in row.configs for new in _as_list(settings.replace.get(name, name))]
        flags = {**row.flags, **settings.flags, **settings.rows.get(row.key, {}).get('flags', {})}
        fixed = {key: flag_text(value) for key, value in flags.items()}
        grid = Grid(configs, fixed, {'seed': [str(s) for s in settings.seeds]})
        digest = hashlib.sha1(json.dumps(grid.base_command()).encode()).hexdigest()[:6]
        evaluations = [_scaled(ev, settings.evaluate.get(ev.ident, {})) for ev in experiment.evaluate]
        out.append(RowPlan(row, grid, f'reproduce-{scale}-{row.key}-{digest}', evaluations))
    return out


def flag_text(value) -> str:
    """A YAML value as ``fig train`` reads it from the command line (``true``, ``[64, 64]``, ``1.0e-3``)."""
    if isinstance(value, bool):
        return 'true' if value else 'false'
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    return str(value)


def eval_command(evaluation: Evaluation, run_dir: Path, python: bool = False) -> list[str]:
    head = [sys.executable, str(REPO / 'main.py')] if python else ['fig']
    flags = [t for key, value in evaluation.flags.items() for t in (f'--{key}', flag_text(value))]
    return head + [evaluation.script, *evaluation.configs, '--load', str(run_dir), '--ident', evaluation.ident,
                   *flags]


def missing_evaluations(row_plan: RowPlan, run_dir: Path) -> list[Evaluation]:
    """The evaluations whose results file a finished run lacks (every one, for an unfinished run)."""
    return [ev for ev in row_plan.evaluations if not (Path(run_dir) / 'results' / f'{ev.ident}.json').is_file()]


def format_dry_run(experiment: Experiment, scale: str, plans: list[RowPlan], root: Path) -> str:
    """Every run of the experiment with its training and scoring commands; nothing is run."""
    s = experiment.scales[scale]
    lines = [f'{experiment.name} at scale {scale}: {experiment.runs(scale)} runs ({len(plans)} rows x '
             f'{len(s.seeds)} seeds), about {experiment.hours(scale):.3g} h on {s.device}.']
    if s.note:
        lines.append(f'Cost: {s.note}.')
    lines.append(f'Data: {experiment.data.get(scale, "-")}.')
    for row_plan in plans:
        lines.append(f'\n{row_plan.row.label} [{row_plan.row.key}]: sweep {sweeps_root(root) / row_plan.name}')
        for point in row_plan.points():
            run_dir = row_plan.run_dir(root, point)
            state = 'finished' if runs.is_finished(run_dir) else 'started' if runs.is_run(run_dir) else 'to train'
            lines.append(f'  {point.name} ({state}): {" ".join(row_plan.train_command(point))}')
            for ev in row_plan.evaluations:
                lines.append(f'      then: {" ".join(eval_command(ev, run_dir))}')
    return '\n'.join(lines)


def run_evaluations(row_plan: RowPlan, root: Path, threads: int, say=print) -> list[str]:
    """Score every finished run of the row that lacks a results file; returns the logs of failed evaluations."""
    import os
    folder = sweeps_root(root) / row_plan.name
    failed = []
    env = {**os.environ, 'OMP_NUM_THREADS': str(threads), 'MKL_NUM_THREADS': str(threads)}
    for point in row_plan.points():
        run_dir = folder / point.name
        if not runs.is_finished(run_dir):
            continue
        for ev in missing_evaluations(row_plan, run_dir):
            log = folder / 'logs' / f'{point.name}.{ev.ident}.log'
            log.parent.mkdir(parents=True, exist_ok=True)
            command = eval_command(ev, run_dir, python=True)
            say(f'scoring {row_plan.row.key}/{point.name}: {ev.script} -> results/{ev.ident}.json (log {log})')
            with open(log, 'w') as handle:
                code = subprocess.call(command, cwd=str(REPO), env=env, stdout=handle, stderr=subprocess.STDOUT)
            if code != 0:
                failed.append(str(log))
    return failed


def run_dirs(row_plan: RowPlan, root: Path) -> list[Path]:
    """The row's run folders that exist (from the sweep's state where it has one)."""
    folder = sweeps_root(root) / row_plan.name
    names = [p.name for p in row_plan.points()]
    if (folder / 'sweep.json').is_file():
        recorded = {r['point']: Path(r['run_dir']) for r in SweepState.load(folder).runs}
        return [recorded.get(n, folder / n) for n in names if runs.is_run(recorded.get(n, folder / n))]
    return [folder / n for n in names if runs.is_run(folder / n)]


def _as_list(value) -> list[str]:
    return [str(v) for v in value] if isinstance(value, (list, tuple)) else [str(value)]


def _scaled(evaluation: Evaluation, override: dict) -> Evaluation:
    return Evaluation(evaluation.script, evaluation.ident, list(override.get('configs', evaluation.configs)),
                      {**evaluation.flags, **override.get('flags', {})})
