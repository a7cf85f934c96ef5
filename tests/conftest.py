"""Shared fixtures; the command-line helpers live in ``framework.testing`` (plugins use them too)."""
from __future__ import annotations

import pytest

from framework.testing import REPO, only_run, run_cli, run_in_process  # noqa: F401  (the tests import these from here)


@pytest.fixture(autouse=True)
def one_thread():
    """In-process training in tests uses one thread: on a shared 2-core machine more threads only contend."""
    import torch
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def runs_root(tmp_path):
    return tmp_path / 'runs'
