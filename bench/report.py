"""Every speed figure the README quotes, in one run: ``fig train`` against the hand-written eager loop (32 and
64 px), the fixed costs of a run, the reference metric suite with and without its shared code table (16 px
sprites) and with it at 64 px, and the CPU time of the README's test command. Each part is its own script in
``bench/``, run here one after another (about 25 minutes on two idle cores).

    python bench/report.py [--pairs 5] [--skip-tests] [--skip-suite]
"""
from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def section(title: str, command: list[str]) -> None:
    print(f'\n== {title}\n$ {" ".join(command)}', flush=True)
    subprocess.run(command, cwd=ROOT, check=True)


def test_suite_cpu() -> None:
    """The README's test command, timed: wall seconds and the CPU seconds of all its processes."""
    command = [sys.executable, '-m', 'pytest', '-n', '2', '-m', 'not slow', '-p', 'no:cacheprovider']
    print(f'\n== the README\'s test command\n$ {" ".join(command[1:])}', flush=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr[-500:]
    print(f'{summary}\n{wall / 60:.1f} min wall, {cpu / 60:.1f} min CPU (load average {os.getloadavg()[0]:.2f} after)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--pairs', type=int, default=5, help='interleaved pairs of the step comparison')
    parser.add_argument('--skip-tests', action='store_true', help='leave out the test suite (minutes)')
    parser.add_argument('--skip-suite', action='store_true', help='leave out the metric suites (about 15 minutes)')
    args = parser.parse_args()
    print(f'{os.cpu_count()} CPUs; load average {" ".join(f"{x:.2f}" for x in os.getloadavg())}')
    python = sys.executable
    section('fig train against the eager loop', [python, str(HERE / 'train_vs_eager.py'), '--pairs', str(args.pairs)])
    section('fixed costs of a run', [python, str(HERE / 'fixed_costs.py')])
    if not args.skip_suite:
        section('the reference metric suite on 16 px sprites, with and without the shared code table',
                [python, str(HERE / 'suite_one_pass.py'), '--suite', 'reference', '--size', '16', '--steps', '1000'])
        section('the reference metric suite of a 64 px a/dlib model, with the code table (goal: under 10 min)',
                [python, str(HERE / 'suite_one_pass.py'), '--suite', 'reference', '--size', '64', '--only-table'])
    if not args.skip_tests:
        test_suite_cpu()


if __name__ == '__main__':
    main()
