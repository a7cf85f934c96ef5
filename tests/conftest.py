"""Shared fixtures; the command-line helpers live in ``framework.testing`` (plugins use them too)."""
from __future__ import annotations

import pytest

from framework.testing import REPO, only_run, run_cli, run_in_process  # noqa: F401  (the tests import these from here)


@pytest.fixture
def runs_root(tmp_path):
    return tmp_path / 'runs'


# a suite of every core metric at small sample counts (fits in seconds), shared by the metric-suite tests
SMALL_SUITE = {
    'mig': {'num_train': 1000},
    'dci': {'num_train': 500, 'num_test': 250, 'n_jobs': 1},
    'sap': {'num_train': 1000, 'num_test': 500},
    'modularity-explicitness': {'num_train': 1000, 'num_test': 500},
    'irs': {'num_train': 1000},
    'beta-vae': {'batch_size': 16, 'num_train': 200, 'num_eval': 100},
    'factor-vae': {'batch_size': 16, 'num_train': 200, 'num_eval': 100, 'num_variance_estimate': 1000},
}
