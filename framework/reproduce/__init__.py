"""Reproductions: each paper's claim as one named experiment (``fig reproduce NAME``).

An experiment is data (``experiment.py``: rows x seeds, scores, evaluations, claims, the paper's numbers with
their sources, and a ``paper`` and a ``cpu`` scale), found in the core's ``experiments/`` folder and in a
``reproduce/`` folder beside each loaded plugin (``discovery.py``). ``plan.py`` turns it into one ``fig sweep``
grid per row, ``scores.py`` reads and averages the runs' scores and judges the claims, ``table.py`` prints and
writes the table. From Python::

    from framework.reproduce import find_experiment, plan
    experiment = find_experiment('baselines-sprites')
    for row_plan in plan(experiment, 'cpu'): print(row_plan.train_command(row_plan.points()[0]))
"""
from .discovery import all_experiments, experiment_dirs, find_experiment
from .experiment import Experiment, parse_experiment
from .plan import plan

__all__ = ['all_experiments', 'experiment_dirs', 'find_experiment', 'Experiment', 'parse_experiment', 'plan',
           'format_listing']


def format_listing(experiments: dict) -> str:
    """``fig reproduce``: every experiment with its owner, data, runs and expected cost at both scales."""
    if not experiments:
        return 'No experiments found (framework/reproduce/experiments/ and plugins\' reproduce/ folders).'
    lines = ['Experiments (`fig reproduce NAME --dry_run true` lists the runs; `--scale cpu|paper` runs them):', '']
    for name, (owner, e) in sorted(experiments.items(), key=lambda item: (item[1][0] != 'core', item[0])):
        lines.append(f'{name}  [{owner}]  {e.title}')
        lines.append(f'    rows: {", ".join(r.label for r in e.rows)}; scores: {", ".join(s.label for s in e.scores)}')
        for scale in ('paper', 'cpu'):
            s = e.scales[scale]
            lines.append(f'    {scale:<5}  {e.runs(scale):>3} runs ({len(e.rows)} rows x {len(s.seeds)} seeds), '
                         f'about {e.hours(scale):.3g} h on {s.device}; data: {e.data.get(scale, "-")}')
        lines.append('')
    return '\n'.join(lines).rstrip()
