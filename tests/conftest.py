"""Shared test helpers: run the real command line in a subprocess with a temporary runs folder."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def run_cli(*args: str, runs_root: Path | None = None, cwd: Path = REPO, timeout: int = 300,
            entry: str = 'main', check: bool = True) -> subprocess.CompletedProcess:
    """``python main.py ARGS`` (or the ``fig`` console script) with tiny defaults for tests."""
    argv = [sys.executable, str(REPO / 'main.py')] if entry == 'main' else ['fig']
    argv += list(args)
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
    import contextlib
    import io
    from framework.config import project
    captured = io.StringIO()
    code = 0
    with contextlib.redirect_stderr(captured), contextlib.redirect_stdout(captured):
        try:
            project().main(list(args))
        except SystemExit as exc:
            code = exc.code
    return code, captured.getvalue()


def only_run(runs_root: Path) -> Path:
    found = [p for p in Path(runs_root).iterdir() if p.is_dir()]
    assert len(found) == 1, found
    return found[0]


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
