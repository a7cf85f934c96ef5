"""Run ``python main.py ...`` in a subprocess the way a user does, and find the run it made."""
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def main_py(*args, timeout=240):
    env = {**os.environ, 'OMP_NUM_THREADS': '1'}
    proc = subprocess.run([sys.executable, 'main.py', *map(str, args)], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout)
    assert proc.returncode == 0, f'main.py {" ".join(map(str, args))} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}'
    return proc.stdout + proc.stderr


def only_run(root: Path, pattern: str = '*') -> Path:
    runs = sorted(p.parent for p in Path(root).glob(f'{pattern}/config.yaml'))
    assert len(runs) == 1, runs
    return runs[0]
