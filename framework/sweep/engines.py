"""Where a sweep's runs execute: a local pool of subprocesses, Slurm or a local test queue through submitit, or Ray.

Every engine runs the same task, :func:`run_commands` (``python main.py train ...`` then, if asked,
``python main.py eval-metrics ...``, as subprocesses writing one log), and offers the same four calls:
``submit(task) -> handle``, ``job_id(handle)`` (recorded in ``sweep.json``, checked by a rerun), ``done(handle)``,
``result(handle) -> exit statuses``, ``stop(handle, hard)`` (the run checkpoints and ends, as on Ctrl-C; ``hard``
kills it) and ``close(wait)``. The launcher decides how many tasks are out at a time.
Cluster engines are optional installs, imported only when chosen.
"""
from __future__ import annotations

import os
import signal
import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError

ENGINES = ('local', 'submitit-local', 'slurm', 'ray')


@dataclass
class Task:
    """One grid point's work: the commands to run in order, their environment and the log they write."""
    point: str
    commands: list[list[str]]
    env: dict[str, str]
    log: str
    cwd: str


def run_commands(commands: list[list[str]], env: dict[str, str], log: str, cwd: str, started=None,
                 stopped=None) -> list[int]:
    """Run ``commands`` one after the other (stopping at the first failure); their exit statuses.

    stdout and stderr go to ``log`` (appended, so a resumed run keeps its history). A SIGINT/SIGTERM to this
    process (submitit's and Ray's cancel, Slurm's scancel) is passed on to the running command as SIGTERM, and
    the command is given the time to checkpoint; ``started(process)`` and ``stopped()`` let a local pool do the same.
    """
    codes: list[int] = []
    stop = {'requested': False}
    process = None

    def forward(signum, frame):
        stop['requested'] = True
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)

    previous = {}
    if threading.current_thread() is threading.main_thread():
        previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        Path(log).parent.mkdir(parents=True, exist_ok=True)
        with open(log, 'ab') as out:
            for argv in commands:
                if stop['requested'] or (stopped is not None and stopped()):
                    break
                out.write(f'\n$ {" ".join(argv)}\n'.encode())
                out.flush()
                process = subprocess.Popen(argv, cwd=cwd, env={**os.environ, **env}, stdout=out,
                                           stderr=subprocess.STDOUT, start_new_session=True)
                if started is not None:
                    started(process)
                while True:
                    try:
                        codes.append(process.wait())
                        break
                    except KeyboardInterrupt:        # an interrupt raised here rather than by our handler
                        forward(signal.SIGINT, None)
                if codes[-1] != 0:
                    break
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return codes


def make_engine(name: str, folder: Path, workers: int, threads: int, gpus: int, options: dict):
    """The engine called ``name``; a cluster engine that is not installed says how to install it."""
    if name == 'local':
        return LocalEngine(workers)
    if name in ('submitit-local', 'slurm'):
        return SubmititEngine(folder, cluster='local' if name == 'submitit-local' else 'slurm',
                              threads=threads, gpus=gpus, options=options)
    if name == 'ray':
        return RayEngine(threads=threads, gpus=gpus, address=options.get('ray_address') or None)
    raise ConfigError(f'Unknown --engine {name!r}; engines are {", ".join(ENGINES)}.')


class LocalEngine:
    """A thread pool of ``workers``, each thread waiting on one ``python main.py ...`` subprocess."""
    gives_gpus = False          # the launcher hands out CUDA_VISIBLE_DEVICES itself

    def __init__(self, workers: int):
        self.pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix='sweep')
        self.processes: dict[str, subprocess.Popen] = {}
        self.stopping: set[str] = set()

    def submit(self, task: Task):
        def started(process):
            self.processes[task.point] = process
            if task.point in self.stopping:         # stopped between the thread's start and the process's
                process.send_signal(signal.SIGTERM)
        return self.pool.submit(run_commands, task.commands, task.env, task.log, task.cwd, started,
                                lambda: task.point in self.stopping)

    def job_id(self, handle) -> None:
        return None             # the trainer's PID, recorded by the launcher once the process has started

    def done(self, handle) -> bool:
        return handle.done()

    def result(self, handle) -> list[int]:
        return handle.result()

    def stop(self, point: str, handle, hard: bool = False) -> None:
        self.stopping.add(point)
        handle.cancel()
        process = self.processes.get(point)
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGKILL if hard else signal.SIGTERM)

    def close(self, wait: bool = True) -> None:
        self.pool.shutdown(wait=wait, cancel_futures=True)


class SubmititEngine:
    """submitit's Slurm executor, or its local one (same code path; jobs are processes on this machine)."""
    gives_gpus = True

    def __init__(self, folder: Path, cluster: str, threads: int, gpus: int, options: dict):
        try:
            import submitit
        except ImportError:
            raise ConfigError(f'--engine {"slurm" if cluster == "slurm" else "submitit-local"} needs submitit: '
                              f'`pip install submitit`.') from None
        self.executor = submitit.AutoExecutor(folder=str(Path(folder) / 'submitit'), cluster=cluster)
        params = {'timeout_min': int(options.get('timeout_min') or 240), 'cpus_per_task': max(1, threads),
                  'gpus_per_node': gpus, 'name': Path(folder).name}
        if cluster == 'slurm' and options.get('slurm_partition'):
            params['slurm_partition'] = options['slurm_partition']
        self.executor.update_parameters(**params)

    def submit(self, task: Task):
        return self.executor.submit(run_commands, task.commands, task.env, task.log, task.cwd)

    def job_id(self, handle) -> str:
        return str(handle.job_id)

    def done(self, handle) -> bool:
        return handle.done()

    def result(self, handle) -> list[int]:
        return handle.result()

    def stop(self, point: str, handle, hard: bool = False) -> None:
        controller = getattr(handle, '_process', None)     # submitit's local executor: the job's controller
        if controller is not None and not hard:
            controller.send_signal(signal.SIGTERM)         # forwarded to the task, whose trainer checkpoints
        else:
            handle.cancel(check=False)                     # Slurm: scancel (SIGTERM, then SIGKILL after KillWait)

    def close(self, wait: bool = True) -> None:
        pass


class RayEngine:
    """Ray tasks (``ray.init`` joins ``--ray_address`` or starts Ray here); each asks for its threads and GPUs."""
    gives_gpus = True

    def __init__(self, threads: int, gpus: int, address: str | None):
        try:
            import ray
        except ImportError:
            raise ConfigError('--engine ray needs Ray: `pip install ray`.') from None
        self.ray = ray
        ray.init(address=address, ignore_reinit_error=True)
        self.remote = ray.remote(num_cpus=max(1, threads), num_gpus=gpus)(run_commands)

    def submit(self, task: Task):
        return self.remote.remote(task.commands, task.env, task.log, task.cwd)

    def job_id(self, handle) -> str:
        return handle.task_id().hex()

    def done(self, handle) -> bool:
        ready, _ = self.ray.wait([handle], timeout=0)
        return bool(ready)

    def result(self, handle) -> list[int]:
        return self.ray.get(handle)

    def stop(self, point: str, handle, hard: bool = False) -> None:
        self.ray.cancel(handle, force=hard)

    def close(self, wait: bool = True) -> None:
        pass
