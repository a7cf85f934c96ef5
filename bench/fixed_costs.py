"""What a run pays before and after its training steps: ``import framework``, ``import torch`` for scale, and
``fig train demo --steps 0`` (compose, build, one end-of-run validation, the run folder), in CPU seconds of
fresh processes (user + system, children included; the median of ``--repeats``).

    python bench/fixed_costs.py [--repeats 3]
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time


def cpu_seconds(command: list[str], cwd: str | None = None) -> tuple[float, float]:
    """CPU seconds (user + system) and wall seconds of ``command`` run to the end in one thread."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, env={**os.environ, 'OMP_NUM_THREADS': '1'}, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime, wall


def measure(repeats: int) -> dict[str, tuple[float, float]]:
    """``{what: (median CPU s, median wall s)}``."""
    python = sys.executable
    with tempfile.TemporaryDirectory() as runs:
        commands = {
            'import torch': [python, '-c', 'import torch'],
            'import framework': [python, '-c', 'import framework'],
            'fig train demo --steps 0': [python, '-m', 'framework', 'train', 'demo', '--steps', '0',
                                         '--progress', 'false', '--runs_root', runs],
        }
        results = {}
        for what, command in commands.items():
            samples = [cpu_seconds(command, cwd=runs) for _ in range(repeats)]
            results[what] = (statistics.median(s[0] for s in samples), statistics.median(s[1] for s in samples))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--repeats', type=int, default=3)
    args = parser.parse_args()
    print(f'load average {os.getloadavg()[0]:.2f}; one thread; median of {args.repeats} fresh processes')
    for what, (cpu, wall) in measure(args.repeats).items():
        print(f'{what:<28} {cpu:5.2f} s CPU  ({wall:5.2f} s wall)')


if __name__ == '__main__':
    main()
