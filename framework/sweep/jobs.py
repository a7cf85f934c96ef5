"""Whether a run that a killed sweep left behind is still being worked on, asked of the engine that ran it.

Every engine records a job id in ``sweep.json`` when it submits a run (the trainer's PID for the local pool,
submitit's job id, which is a PID for its local executor and a Slurm job id on a cluster, Ray's task id). A
rerun of the sweep asks here before it starts anything, and also reads the run folder's owner lock
(``framework/run_lock.py``), which catches a trainer on any engine while it runs on a host that shares the folder.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from .. import run_lock


def still_working(record: dict, engine: str, run_dir: Path) -> str | None:
    """A sentence naming what still works on the run of ``record``, or None when nothing does."""
    found = run_lock.holder(run_dir)
    if found is not None:
        return (f'is being trained by process {found.get("pid")} on {found.get("host")} (since {found.get("since")}); '
                f'stop it with `kill {found.get("pid")}` (it writes a checkpoint)')
    if record.get('state') != 'running':
        return None
    job = record.get('job_id')
    if engine in ('local', 'submitit-local'):
        pid = record.get('pid') if engine == 'local' else job
        if pid and _process_alive(int(pid), record['point'] if engine == 'local' else 'submitit'):
            what = 'process' if engine == 'local' else 'submitit job'
            return f'is still being trained by {what} {pid}, left running by a sweep that was killed; ' \
                   f'stop it with `kill {pid}` (it writes a checkpoint)'
    elif engine == 'slurm' and job and _slurm_job_alive(str(job)):
        return f'still has Slurm job {job} queued or running; cancel it with `scancel {job}`'
    return None


def _process_alive(pid: int, expected: str) -> bool:
    """Whether ``pid`` is alive and (where /proc tells) runs ``expected``, not a reused id."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    cmdline = Path(f'/proc/{pid}/cmdline')
    try:
        return expected in cmdline.read_bytes().decode(errors='replace') if cmdline.exists() else True
    except OSError:
        return False


def _slurm_job_alive(job: str) -> bool:
    if shutil.which('squeue') is None:
        return False
    try:
        out = subprocess.run(['squeue', '-h', '-j', job.split('_')[0], '-o', '%T'], capture_output=True, text=True,
                             timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        return False
    return bool(out.strip())
