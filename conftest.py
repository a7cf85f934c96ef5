"""Fixtures for every test, the core's and the plugins'."""
from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def same_random_state_in_any_order():
    """Each test starts from the same global random state, so a result never depends on which tests ran
    before it in the same xdist worker (datasets that draw fresh transformations per batch use torch's
    default generator)."""
    import random

    import numpy as np
    import torch
    random.seed(0)
    np.random.seed(0)
    torch.manual_seed(0)
    yield


@pytest.fixture(autouse=True)
def one_thread():
    """In-process training in tests uses one thread: on a shared 2-core machine more threads only contend."""
    import torch
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
