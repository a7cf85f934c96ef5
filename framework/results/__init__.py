"""Results over many runs: gather each run's scores, average them per configuration (over seeds), plot them.

``fig results`` (``framework/scripts/results.py``) is the command; from Python::

    from framework.results import collect, group, metric_names, write_csv
    groups = group(collect(run_dirs))          # one Group a configuration, its runs being the seeds
    mean, std, n = groups[0].stats('mig/mig')
"""
from .table import (BOOKKEEPING_KEYS, SEED_KEYS, Group, RunScores, collect, flatten, format_table, group,
                    metric_names, rows, scores_of, varying_keys, write_csv)
from .plots import plot_against, plot_bars

__all__ = ['BOOKKEEPING_KEYS', 'SEED_KEYS', 'Group', 'RunScores', 'collect', 'flatten', 'format_table', 'group',
           'metric_names', 'rows', 'scores_of', 'varying_keys', 'write_csv', 'plot_against', 'plot_bars']
