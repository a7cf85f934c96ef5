"""Run the command line as a user does: ``python main.py <script> ...`` in a subprocess."""
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
TINY = ['--steps', '3', '--dataset.num_samples', '2000']


def fig(*argv, timeout=240) -> subprocess.CompletedProcess:
    env = dict(os.environ, OMP_NUM_THREADS='1')
    done = subprocess.run([sys.executable, str(ROOT / 'main.py'), *map(str, argv)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f'fig {" ".join(map(str, argv))} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}'
    return done


def only_run(root: Path) -> Path:
    runs = [p for p in Path(root).iterdir() if (p / 'config.yaml').exists()]
    assert len(runs) == 1, runs
    return runs[0]
