"""framework.allocator: freed memory stays in the process, so a loop that reallocates pays no page faults."""
from __future__ import annotations

import pytest

import json
import os
import subprocess
import sys

CHILD = r'''
import json, resource, sys
import torch
from framework.allocator import configure
configured = configure()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(10):
    block = torch.ones(16 * 2 ** 20)      # 64 MiB, freed at the next assignment
    del block
print(json.dumps({'configured': configured,
                  'faults': resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before}))
'''


def run(setting: str) -> dict:
    env = {**os.environ, 'STRUCTREP_ALLOCATOR': setting, 'OMP_NUM_THREADS': '1'}
    out = subprocess.run([sys.executable, '-c', CHILD], env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_reallocating_a_large_block_faults_it_in_once_instead_of_every_time():
    default, tuned = run('default'), run('tuned')
    assert default['configured'] is False and tuned['configured'] is True
    pages = 64 * 2 ** 20 // 4096                              # 16,384 pages of 4 KiB per block
    assert default['faults'] > 8 * pages                      # mapped and unmapped on every pass
    assert tuned['faults'] < 2 * pages                        # faulted in once, then reused
