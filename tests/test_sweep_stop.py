"""Stopping a sweep is prompt and final, and a rerun after any stop checks what still works on its runs.

SIGINT or SIGTERM: no new run starts, the running ones checkpoint, queued points are marked "not started", the
lock is released and the driver exits; a second signal kills the runs and exits at once. Every engine records its
job ids, and a rerun after the driver was SIGKILLed refuses to start a second trainer beside an orphaned one."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from conftest import REPO, run_in_process
from framework import run_lock
from framework.sweep.state import SweepLock

pytestmark = pytest.mark.slow        # end-to-end runs of the command line (.ci/run runs them)

TINY = ('--steps', '20', '--ckpt_every', '10', '--dataset.num_samples', '600', '--batch_size', '32',
        '--log_every', '10')


def _state(folder):
    return {r['point']: r for r in json.loads((folder / 'sweep.json').read_text())['runs']}


def start_sweep(tmp_path, *extra, seeds='0,1,2'):
    argv = [sys.executable, str(REPO / 'main.py'), 'sweep', 'demo-vec', '--steps', '1000000', '--ckpt_every', '0',
            '--seed', seeds, '--workers', '2', '--threads', '1', *extra, '--runs_root', str(tmp_path)]
    return subprocess.Popen(argv, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, 'OMP_NUM_THREADS': '1'})


def wait_until_training(sweep, folder, points, timeout=240):
    deadline = time.time() + timeout
    while not all(run_lock.holder(folder / p) and (folder / p / 'scalars.csv').is_file() for p in points):
        assert sweep.poll() is None, sweep.communicate()[0]
        assert time.time() < deadline, 'the runs did not start'
        time.sleep(0.3)
    time.sleep(1)                               # in the training loop, with its signal handlers


@pytest.mark.parametrize('engine', ['local', 'submitit-local'])
def test_ctrl_c_with_queued_points_exits_promptly_marks_them_not_started_and_frees_the_lock(tmp_path, engine):
    if engine != 'local':
        pytest.importorskip('submitit')
    sweep = start_sweep(tmp_path, '--engine', engine)
    folder = tmp_path / 'sweeps' / 'demo-vec_seed'
    wait_until_training(sweep, folder, ['seed-0', 'seed-1'])
    sweep.send_signal(signal.SIGINT)
    signalled = time.time()
    out, _ = sweep.communicate(timeout=60)                 # it used to run forever with the queued point
    assert 'Traceback' not in out, out
    assert time.time() - signalled < 30, out
    assert sweep.returncode == 130, out
    states = _state(folder)
    assert states['seed-2']['state'] == 'not started' and not (folder / 'seed-2').exists()
    for point in ('seed-0', 'seed-1'):
        assert states[point]['state'] == 'interrupted' and states[point]['returncode'] == 0
        assert states[point]['engine'] == engine and states[point]['job_id']
        assert 'Stopped by SIGTERM' in open(states[point]['log']).read()
        assert (folder / point / 'checkpoints' / 'last.pt').is_file()
    with SweepLock(folder):                                 # released: a rerun may take it
        pass


def test_a_second_signal_kills_the_runs_and_exits_at_once(tmp_path):
    sweep = start_sweep(tmp_path, seeds='0,1')
    folder = tmp_path / 'sweeps' / 'demo-vec_seed'
    wait_until_training(sweep, folder, ['seed-0', 'seed-1'])
    pids = [run_lock.holder(folder / p)['pid'] for p in ('seed-0', 'seed-1')]
    for point in ('seed-0', 'seed-1'):        # trainers that ignore the polite stop, as a hung one would
        os.kill(run_lock.holder(folder / point)['pid'], signal.SIGSTOP)
    sweep.send_signal(signal.SIGTERM)
    time.sleep(1)
    sweep.send_signal(signal.SIGINT)
    out, _ = sweep.communicate(timeout=30)
    assert sweep.returncode == 130 and 'killing 2 run(s)' in out, out
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            for _ in range(50):
                os.kill(pid, 0)
                time.sleep(0.1)
    assert all(r['state'] == 'interrupted' for r in _state(folder).values())


def test_a_rerun_after_the_driver_was_sigkilled_refuses_to_start_beside_orphaned_submitit_jobs(tmp_path):
    pytest.importorskip('submitit')
    sweep = start_sweep(tmp_path, '--engine', 'submitit-local', seeds='0,1')
    folder = tmp_path / 'sweeps' / 'demo-vec_seed'
    wait_until_training(sweep, folder, ['seed-0', 'seed-1'])
    sweep.send_signal(signal.SIGKILL)
    sweep.wait(timeout=30)
    states = _state(folder)
    assert all(states[p]['job_id'] and states[p]['engine'] == 'submitit-local' for p in ('seed-0', 'seed-1'))
    assert not list(folder.rglob('%j'))
    try:
        code, out = run_in_process('sweep', 'demo-vec', '--steps', '1000000', '--ckpt_every', '0', '--seed', '0,1',
                                   '--workers', '2', '--threads', '1', '--engine', 'submitit-local',
                                   '--runs_root', tmp_path)
        assert code == 2, out
        assert 'is being trained by process' in out and 'Wait for it or stop it' in out
    finally:
        for point in ('seed-0', 'seed-1'):
            run_lock.kill_holder(folder / point)
            job = int(states[point]['job_id'])
            try:
                os.kill(job, signal.SIGKILL)
            except ProcessLookupError:
                pass


def test_a_corrupt_sweep_json_says_to_delete_it_alone_and_the_rerun_skips_the_finished_runs(tmp_path):
    args = ('sweep', 'demo-vec', '--seed', '0,1', *TINY, '--workers', '2', '--runs_root', tmp_path)
    code, out = run_in_process(*args)
    assert code in (0, None), out
    folder = tmp_path / 'sweeps' / 'demo-vec_seed'
    (folder / 'sweep.json').write_text('{"name": "demo-vec_se')            # cut short
    code, out = run_in_process(*args)
    assert code == 2 and 'delete' in out and 'sweep.json alone' in out and 'Move the folder' not in out, out
    (folder / 'sweep.json').unlink()
    code, out = run_in_process(*args)
    assert code in (0, None) and '2 already finished, 0 to run' in out, out
    assert all(r['state'] == 'done' and r['returncode'] == 0 for r in _state(folder).values())


def test_a_rerun_asks_slurm_about_the_recorded_job_before_starting_the_run(tmp_path, monkeypatch):
    from framework.sweep.jobs import still_working
    squeue = tmp_path / 'bin' / 'squeue'
    squeue.parent.mkdir()
    squeue.write_text('#!/bin/sh\n[ "$3" = "4242" ] && echo PENDING\nexit 0\n')     # squeue -h -j ID -o %T
    squeue.chmod(0o755)
    monkeypatch.setenv('PATH', f'{squeue.parent}{os.pathsep}{os.environ["PATH"]}')
    record = {'point': 'seed-0', 'state': 'running', 'engine': 'slurm', 'job_id': '4242'}
    assert 'Slurm job 4242 queued or running' in still_working(record, 'slurm', tmp_path / 'seed-0')
    assert still_working({**record, 'job_id': '4243'}, 'slurm', tmp_path / 'seed-0') is None
