"""``fig sweep <configs...> --key a,b,c ...``: train a grid of runs (configs x hyperparameters x seeds).

Every flag that is not one of the sweep's own (below) is ``fig train``'s; a comma list sweeps it, and the grid
is every combination (``--seed 0,1,2 --reg-wt 1,4,16`` is nine runs). Values as in Hydra's multirun:
brackets and quotes keep commas (``--encoder.hidden [64,64],[128]``), ``\\,`` is a literal comma, and
``range(0,5)`` counts. Examples::

    fig sweep demo --seed 0,1,2 --reg-wt 1,4,16 --dry-run      # list the nine runs, run nothing
    fig sweep demo --seed 0,1,2 --reg-wt 1,4,16 --workers 4    # run them, four at a time
    fig sweep demo --seed 0,1,2 --reg-wt 1,4,16 --eval eval/fast   # and score each finished run
    fig sweep --status demo_seed-reg_wt                        # the table of a sweep
    fig sweep --status                                         # the sweeps under <runs_root>/sweeps/
    fig results --runs demo_seed-reg_wt                        # mean and std per configuration

The sweep lives in ``<runs_root>/sweeps/<name>/``: one ordinary run folder per point, ``logs/<point>.log`` and
``sweep.json`` (each run's state, command, folder and log). The same command again continues the sweep:
finished runs are skipped, stopped or killed ones resume from their checkpoints, failed ones are retried.
Ctrl-C (or SIGTERM) starts nothing new, lets the running runs write a checkpoint, marks the queued points
"not started" and exits; a second signal kills the runs. The exit status is 0 when every run finished, 1 when
some failed (their logs are listed), 130 when stopped.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from ..config.yaml_values import parse_flag_value
from ..errors import ConfigError, FrameworkError
from ..registry import register
from ..settings import AnyKeys, fields_of
from ..sweep import find_sweep, format_status, parse_sweep_argv, run_sweep
from ..sweep.engines import ENGINES
from ..sweep.state import SweepState, sweeps_root
from ..values import checked
from .common import runs_root as runs_root_of


@dataclass
class SweepSettings:
    """How ``fig sweep`` runs its grid; every other flag is ``fig train``'s (a comma list sweeps it)."""
    name: str = ''              # the sweep's folder under <runs_root>/sweeps/ (default: its configs and swept keys)
    engine: str = 'local'       # local (a pool of subprocesses) | submitit-local | slurm (submitit) | ray
    workers: int = 0            # runs at a time (0: one per GPU, else one one-thread run per CPU core)
    threads: int = 0            # CPU threads per run (0: the CPU cores shared among the workers)
    dry_run: bool = False       # list the grid's runs and the shared command; run nothing
    status: str = ''            # print the table of the sweep of this name (or folder) and exit; alone: list the sweeps
    eval: str = ''              # score each finished run with this metric suite too (e.g. eval/fast)
    gpus_per_run: int = 0       # slurm, ray: GPUs each run asks for (the local engine gives each run one GPU it finds)
    timeout_min: int = 240      # slurm, submitit-local: a job's time limit in minutes
    slurm_partition: str = ''   # slurm: the partition to submit to
    ray_address: str = ''       # ray: the cluster to join (default: start Ray on this machine)


OWN_KEYS = {f.name for f in dataclasses.fields(SweepSettings)} | {'runs_root'}


@register.script('sweep', settings=(SweepSettings, AnyKeys))
def sweep(cfg):
    """Train a grid of runs (comma lists expand: --seed 0,1,2 --reg-wt 1,4); rerun the command to continue it."""
    argv = list(cfg.argv)
    if 'sweep' not in argv:
        raise ConfigError('fig sweep reads its grid from the command line: `fig sweep demo --seed 0,1,2`.')
    grid = parse_sweep_argv(argv[argv.index('sweep') + 1:], OWN_KEYS)
    settings = own_settings(grid.own)
    root = Path(grid.own['runs_root']) if 'runs_root' in grid.own else runs_root_of(cfg)
    if settings.status == _LIST:
        print(list_sweeps(root))
        return None
    if settings.status:
        state = SweepState.load(find_sweep(settings.status, root))
        print(format_status(state))
        return state.data
    if settings.engine not in ENGINES:
        raise ConfigError(f'Unknown --engine {settings.engine!r}; engines are {", ".join(ENGINES)}.')
    code = run_sweep(grid, settings, root)
    if code:
        raise SystemExit(code)
    return code


_LIST = '\0list'      # `--status` with no name


def own_settings(raw: dict[str, str]) -> SweepSettings:
    """The sweep's own flags, read as YAML and checked as every setting is (``framework/values.py``)."""
    specs = {spec.name: spec for spec in fields_of(SweepSettings)}
    values = {}
    for key, text in raw.items():
        if key == 'status' and text == 'true':
            values[key] = _LIST
        elif key in specs:
            value = parse_flag_value(text)
            values[key] = checked(specs[key], '' if value is None else value, key)
    return SweepSettings(**values)


def list_sweeps(root: Path) -> str:
    """The sweeps under ``<runs_root>/sweeps/``, one line each with their runs' states."""
    folders = sorted(p.parent for p in sweeps_root(root).glob('*/sweep.json'))
    if not folders:
        return f'No sweeps under {sweeps_root(root)} yet. Start one with `fig sweep demo --seed 0,1,2`.'
    lines = [f'Sweeps under {sweeps_root(root)} (`fig sweep --status NAME` shows one):']
    for folder in folders:
        try:
            counts = SweepState.load(folder).counts()
            summary = ', '.join(f'{n} {state}' for state, n in counts.items() if n) or 'no runs'
        except FrameworkError as exc:
            summary = f'unreadable ({exc})'
        lines.append(f'  {folder.name}: {summary}')
    return '\n'.join(lines)
