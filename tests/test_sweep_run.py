"""End-to-end sweeps of `demo` with tiny step counts: run, continue after damage, failures, Ctrl-C, submitit."""
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest
import torch

from conftest import REPO, run_in_process

pytestmark = pytest.mark.slow        # end-to-end runs of the command line (.ci/run runs them)

TINY = ('--steps', '20', '--ckpt_every', '10', '--dataset.num_samples', '600', '--batch_size', '32',
        '--log_every', '10')


def _state(folder):
    return {r['point']: r for r in json.loads((folder / 'sweep.json').read_text())['runs']}


def _step(path):
    return int(torch.load(path, map_location='cpu', weights_only=True)['step'])


@pytest.fixture(scope='module')
def six_runs(tmp_path_factory):
    """`fig sweep demo --seed 0,1,2 --reg-wt 1,4` (six runs, two at a time), run once for this module."""
    root = tmp_path_factory.mktemp('runs')
    code, out = run_in_process('sweep', 'demo-vec', '--seed', '0,1,2', '--reg-wt', '1,4', *TINY, '--workers', '2',
                               '--runs_root', root)
    return root, root / 'sweeps' / 'demo-vec_seed-reg_wt', code, out


def test_a_three_seed_two_value_sweep_runs_every_point_in_its_own_run_folder(six_runs):
    root, folder, code, out = six_runs
    assert code in (0, None), out
    states = _state(folder)
    assert sorted(states) == sorted(f'seed-{s}_reg_wt-{w}' for s in range(3) for w in (1, 4))
    for point, record in states.items():
        run = folder / point
        assert record['state'] == 'done' and record['returncode'] == 0, (point, record)
        assert (run / 'finished.json').is_file() and _step(run / 'checkpoints' / 'last.pt') == 20
        assert (run / 'results' / 'eval.json').is_file()
        assert os.path.isfile(record['log']) and f'--run_name {point}' in open(record['log']).read()
    config = (folder / 'seed-2_reg_wt-4' / 'config.yaml').read_text()
    assert 'seed: 2' in config and 'reg_wt: 4' in config and 'steps: 20' in config
    code, table = run_in_process('sweep', '--status', 'demo-vec_seed-reg_wt', '--runs_root', root)
    assert '6 runs: 6 done' in table and 'seed-1_reg_wt-4  done' in table


def test_rerunning_continues_only_the_unfinished_runs(six_runs):
    root, folder, _, _ = six_runs
    killed, never, untouched = 'seed-0_reg_wt-4', 'seed-2_reg_wt-1', ['seed-0_reg_wt-1', 'seed-1_reg_wt-1',
                                                                      'seed-1_reg_wt-4', 'seed-2_reg_wt-4']
    # a run killed after its step-10 checkpoint, with the sweep's record left at 'running'
    checkpoints = folder / killed / 'checkpoints'
    shutil.copy(checkpoints / 'ckpt-10.pt', checkpoints / 'last.pt')
    (checkpoints / 'ckpt-20.pt').unlink()
    (folder / killed / 'finished.json').unlink()
    shutil.rmtree(folder / never)                                    # a point that never started
    data = json.loads((folder / 'sweep.json').read_text())
    for record in data['runs']:
        if record['point'] == killed:
            record['state'] = 'running'
    (folder / 'sweep.json').write_text(json.dumps(data))
    before = {p: ((folder / p / 'checkpoints' / 'last.pt').stat().st_mtime_ns, os.path.getsize(_state(folder)[p]['log']))
              for p in untouched}

    code, out = run_in_process('sweep', 'demo-vec', '--seed', '0,1,2', '--reg-wt', '1,4', *TINY, '--workers', '2',
                               '--runs_root', root)
    assert code in (0, None), out
    assert '4 already finished, 2 to run' in out
    after = {p: ((folder / p / 'checkpoints' / 'last.pt').stat().st_mtime_ns, os.path.getsize(_state(folder)[p]['log']))
             for p in untouched}
    assert after == before                                           # finished runs were not touched
    states = _state(folder)
    assert all(r['state'] == 'done' for r in states.values())
    log = open(states[killed]['log']).read()
    assert f'train --load {folder / killed} --resume' in log and f'Resuming {killed} at step 10' in log
    assert _step(folder / killed / 'checkpoints' / 'last.pt') == 20
    assert (folder / never / 'finished.json').is_file() and states[never]['attempts'] == 2    # its second start


def test_a_failing_point_does_not_stop_the_others_and_its_log_is_named(tmp_path):
    """A layer width of -3 passes the config checks (a list of ints) and fails when the encoder is built."""
    code, out = run_in_process('sweep', 'demo-vec', '--seed', '0', '--encoder.hidden', '[-3],[4]', *TINY,
                               '--workers', '1', '--name', 'broken', '--runs_root', tmp_path)
    folder = tmp_path / 'sweeps' / 'broken'
    states = _state(folder)
    assert code == 1, out
    assert states['hidden---3']['state'] == 'failed' and states['hidden---3']['returncode'] != 0
    assert states['hidden--4']['state'] == 'done'                 # ran after the failure
    assert f'failed: hidden---3 (exit 1): {folder / "logs" / "hidden---3.log"}' in out
    assert '1 of 2 runs failed' in out
    assert 'negative dimension' in (folder / 'logs' / 'hidden---3.log').read_text()


def test_ctrl_c_stops_the_runs_with_a_checkpoint_and_records_them(tmp_path):
    argv = [sys.executable, str(REPO / 'main.py'), 'sweep', 'demo-vec', '--steps', '1000000', '--ckpt_every', '0',
            '--seed', '0,1', '--workers', '2', '--threads', '1', '--runs_root', str(tmp_path)]
    sweep = subprocess.Popen(argv, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                             env={**os.environ, 'OMP_NUM_THREADS': '1'})
    folder = tmp_path / 'sweeps' / 'demo-vec_seed'
    logs = [folder / 'logs' / f'seed-{s}.log' for s in (0, 1)]
    deadline = time.time() + 240
    while not all(p.is_file() and 'Run: ' in p.read_text() for p in logs):
        assert sweep.poll() is None and time.time() < deadline, sweep.communicate()[0] if sweep.poll() else 'slow'
        time.sleep(0.5)
    time.sleep(2)                                                    # a few training steps
    sweep.send_signal(signal.SIGINT)
    out, _ = sweep.communicate(timeout=120)
    assert sweep.returncode == 130, out
    assert 'stopping 2 running run(s)' in out and 'Run the same command again to continue' in out
    for point, record in _state(folder).items():
        assert record['state'] == 'interrupted', (point, record)
        assert 'Stopped by SIGTERM' in open(record['log']).read()
        assert _step(folder / point / 'checkpoints' / 'last.pt') > 0
        assert not (folder / point / 'finished.json').exists()


def test_the_submitit_engine_runs_the_grid_through_submitits_local_executor(tmp_path):
    pytest.importorskip('submitit')
    code, out = run_in_process('sweep', 'demo-vec', '--seed', '0,1', *TINY, '--engine', 'submitit-local',
                               '--workers', '2', '--runs_root', tmp_path)
    assert code in (0, None), out
    folder = tmp_path / 'sweeps' / 'demo-vec_seed'
    assert all(r['state'] == 'done' and r['job_id'] and r['engine'] == 'submitit-local'
               for r in _state(folder).values())
    assert list((folder / 'submitit').rglob('*_submitted.pkl'))     # the jobs went through submitit
    assert not list(folder.rglob('%j'))                                # no folder named after the placeholder


def test_the_ray_engine_runs_a_point(tmp_path):
    pytest.importorskip('ray')
    code, out = run_in_process('sweep', 'demo-vec', '--seed', '0', *TINY, '--engine', 'ray', '--runs_root', tmp_path)
    assert code in (0, None), out
    record = _state(tmp_path / 'sweeps' / 'demo-vec_single')['run']
    assert record['state'] == 'done' and record['job_id'] and record['engine'] == 'ray'


def test_rerunning_a_finished_sweep_with_eval_scores_every_run_and_results_reads_the_scores(tmp_path):
    code, out = run_in_process('sweep', 'demo-vec', '--seed', '0,1', *TINY, '--workers', '2', '--runs_root', tmp_path)
    assert code in (0, None), out
    suite = tmp_path / 'tiny.yaml'
    suite.write_text('metrics_seed: 0\nmetrics:\n  irs: {num_train: 200}\n')      # vec's factors are continuous
    code, out = run_in_process('sweep', 'demo-vec', '--seed', '0,1', *TINY, '--workers', '2', '--eval', suite,
                               '--runs_root', tmp_path)
    assert code in (0, None), out
    assert '0 already finished, 2 to run (2 of them trained, to score with' in out
    folder = tmp_path / 'sweeps' / 'demo-vec_seed'
    assert {r['state'] for r in _state(folder).values()} == {'done'}
    assert {r['eval'] for r in _state(folder).values()} == {'done'}
    for point in ('seed-0', 'seed-1'):
        assert len(list((folder / point / 'results').glob('*tiny*.json'))) == 1, point
    code, out = run_in_process('results', 'demo-vec_seed', '--metric', 'irs.irs', '--runs_root', tmp_path)
    assert code in (0, None), out
    assert 'irs/irs' in out and '(2)' in out and '2 runs in 1 configuration;' in out
