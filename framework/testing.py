"""Helpers for testing components and plugins: run the real command line, find the run it made.

Importable from any plugin's tests (in this repository or outside it)::

    from framework.testing import run_cli, run_in_process, only_run

``run_in_process`` is fast (no interpreter start); ``run_cli`` runs ``python main.py`` in a subprocess, as a
user does, for what must be seen from outside (exit codes, signals, torchrun).
"""
from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parent.parent


def run_cli(*args: str, runs_root: Path | None = None, cwd: Path = REPO, timeout: int = 300,
            entry: str = 'main', check: bool = True) -> subprocess.CompletedProcess:
    """``python main.py ARGS`` (or the ``fig`` console script) in a subprocess on one thread."""
    argv = [sys.executable, str(REPO / 'main.py')] if entry == 'main' else ['fig']
    argv += [str(a) for a in args]
    if runs_root is not None:
        argv += ['--runs_root', str(runs_root)]
    env = {**os.environ, 'PYTHONUNBUFFERED': '1', 'OMP_NUM_THREADS': '1'}
    result = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f'{" ".join(argv)} failed ({result.returncode}):\n{result.stdout[-3000:]}\n'
                             f'{result.stderr[-5000:]}')
    return result


def run_in_process(*args: str) -> tuple[int, str]:
    """``python main.py ARGS`` in this process (no process start): (exit status, stdout + stderr)."""
    from .cli import main
    captured = io.StringIO()
    code = 0
    with contextlib.redirect_stderr(captured), contextlib.redirect_stdout(captured):
        try:
            main(list(args))
        except SystemExit as exc:
            code = exc.code
    return code, captured.getvalue()


def only_run(runs_root: Path) -> Path:
    """The one run directory under ``runs_root`` (a test that trains once expects exactly one)."""
    found = [p for p in Path(runs_root).iterdir() if p.is_dir()]
    assert len(found) == 1, found
    return found[0]


class Passthrough(torch.nn.Module):
    """An encoder that returns its input, so a test chooses the posterior; one parameter, for gradients."""

    def __init__(self):
        super().__init__()
        self.dummy = torch.nn.Parameter(torch.zeros(()))

    def forward(self, x):
        return x + 0 * self.dummy


class Constant(torch.nn.Module):
    """A decoder that returns one fixed observation for every code, so a test knows the reconstruction term."""

    def __init__(self, value):
        super().__init__()
        self.value = torch.as_tensor(value, dtype=torch.float32)
        self.dummy = torch.nn.Parameter(torch.zeros(()))

    def forward(self, z):
        return self.value.expand(z.shape[0], *self.value.shape) + 0 * self.dummy
