"""One owner per run: a second trainer or an evaluator on a run that is being trained is refused with who holds it,
and the first one carries on untouched; a lock left by a dead process is not in the way."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest

from conftest import run_cli
from framework import run_lock
from framework.errors import RunError
from test_resume import finish, train_until_first_checkpoint


@pytest.mark.slow
def test_a_second_trainer_on_a_running_run_is_refused_and_the_first_finishes_cleanly(tmp_path):
    first, run = train_until_first_checkpoint(tmp_path, steps=1000000)

    second = run_cli('train', '--load', run, '--resume', check=False)
    assert second.returncode == 2, second.stdout + second.stderr
    said = second.stdout + second.stderr
    assert f'is being written by fig train (process {first.pid} on' in said and 'Wait for it' in said
    evaluation = run_cli('eval', '--load', run, check=False)
    assert evaluation.returncode == 2 and f'is being trained by fig train (process {first.pid}' in \
        evaluation.stdout + evaluation.stderr

    assert first.poll() is None, 'the refused second trainer must not disturb the first'
    first.send_signal(signal.SIGTERM)
    out = finish(first)
    assert first.returncode == 0 and 'Stopped by SIGTERM' in out and 'Free some space' not in out, out
    assert run_lock.holder(run) is None


def test_a_lock_file_left_by_a_killed_process_does_not_block_the_next_owner(tmp_path):
    (tmp_path / run_lock.LOCK_FILE).write_text(json.dumps({'host': 'h', 'pid': 999999, 'command': 'fig train',
                                                           'since': 'yesterday'}))
    assert run_lock.holder(tmp_path) is None
    with run_lock.RunLock(tmp_path, 'fig train'):
        found = run_lock.holder(tmp_path)
        assert found['pid'] == os.getpid() and found['command'] == 'fig train'
        with pytest.raises(RunError, match=f'process {os.getpid()}'):
            run_lock.RunLock(tmp_path).acquire()
    assert run_lock.holder(tmp_path) is None


def test_a_sigkilled_holder_releases_the_run_at_once(tmp_path):
    holder = subprocess.Popen([sys.executable, '-c', 'import sys, time; from framework import run_lock; '
                               'lock = run_lock.RunLock(sys.argv[1]).acquired(); print("held", flush=True); '
                               'time.sleep(60)',
                               str(tmp_path)], stdout=subprocess.PIPE, text=True,
                              cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    assert holder.stdout.readline().strip() == 'held'
    assert run_lock.holder(tmp_path)['pid'] == holder.pid
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=30)
    assert run_lock.holder(tmp_path) is None
