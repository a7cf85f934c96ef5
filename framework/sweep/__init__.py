"""Sweeps: a grid of ``fig train`` runs (configs x hyperparameters x seeds), launched, resumed and tracked.

``fig sweep demo --seed 0,1,2 --reg-wt 1,4,16`` (see ``framework/scripts/sweep.py``). From Python::

    from framework.sweep import parse_sweep_argv, run_sweep
"""
from .grid import Grid, Point, parse_sweep_argv, split_values
from .checks import validate
from .launcher import default_name, run_sweep
from .state import SweepState, find_sweep, format_status, sweeps_root

__all__ = ['Grid', 'Point', 'parse_sweep_argv', 'split_values', 'default_name', 'run_sweep', 'validate',
           'SweepState', 'find_sweep', 'format_status', 'sweeps_root']
