"""What the step benchmarks share: one measurement per process (the allocator and the import state are
process-wide), and their command-line options."""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys


def run_child(code: str, *args) -> dict:
    """Run ``code`` with ``args`` in a fresh one-thread Python process; its last printed line, read as JSON."""
    env = {**os.environ, 'OMP_NUM_THREADS': '1', 'STRUCTREP_ALLOCATOR': 'tuned'}
    out = subprocess.run([sys.executable, '-c', code, *map(str, args)], env=env, capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def step_options(doc: str) -> argparse.Namespace:
    """``--sizes 32 64 --batch 128 --steps 20 --pairs 5``."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument('--sizes', type=int, nargs='+', default=[32, 64])
    parser.add_argument('--batch', type=int, default=128)
    parser.add_argument('--steps', type=int, default=20)
    parser.add_argument('--pairs', type=int, default=5)
    return parser.parse_args()
