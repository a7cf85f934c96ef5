"""The sweep's grid syntax and its up-front checks (no training here)."""
from pathlib import Path

import pytest
import yaml

from framework.errors import ConfigError, RunError
from framework.sweep import default_name, parse_sweep_argv, split_values, validate
from framework.sweep.engines import make_engine
from conftest import run_in_process


@pytest.mark.parametrize('raw, values', [
    ('0,1,2', ['0', '1', '2']),
    ('4', ['4']),
    ('1e-3, 1e-4', ['1e-3', '1e-4']),
    ('[64,64],[128]', ['[64,64]', '[128]']),                 # commas inside brackets do not split
    ('{a: 1, b: 2},{a: 3}', ['{a: 1, b: 2}', '{a: 3}']),
    ("'a,b',c", ["'a,b'", 'c']),                             # nor inside quotes (kept: YAML reads them)
    ('a\\,b', ['a,b']),                                       # an escaped comma is a comma
    ('a\\,b,c', ['a,b', 'c']),
    ('range(0,3)', ['0', '1', '2']),
    ('range(1, 10, 4)', ['1', '5', '9']),
    ('[1,2]', ['[1,2]']),                                    # one list is one value
])
def test_values_split_on_top_level_commas_only(raw, values):
    assert split_values('key', raw) == values


@pytest.mark.parametrize('raw, message', [
    ('1,,2', 'empty value'), ('1,2,', 'empty value'), ('0,1,0', 'repeats 0'),
    ('[1,2', 'unclosed bracket'), ("'a,b", 'unclosed quote'), ('range(3,3)', 'is empty'),
])
def test_bad_value_lists_are_refused(raw, message):
    with pytest.raises(ConfigError, match=message):
        split_values('key', raw)


def test_argv_splits_into_configs_shared_flags_axes_and_own_flags():
    grid = parse_sweep_argv(['demo', 'm/ae', '--seed', '0,1,2', '--reg-wt=1,4', '--steps', '20', '--name', 'x',
                             '--dry-run'], {'name', 'dry_run'})
    assert grid.configs == ['demo', 'm/ae']
    assert grid.fixed == {'steps': '20'}
    assert grid.axes == {'seed': ['0', '1', '2'], 'reg_wt': ['1', '4']}
    assert grid.own == {'name': 'x', 'dry_run': 'true'}
    points = grid.points()
    assert [p.overrides for p in points[:3]] == [{'seed': '0', 'reg_wt': '1'}, {'seed': '0', 'reg_wt': '4'},
                                                 {'seed': '1', 'reg_wt': '1'}]       # the first axis slowest
    assert len(points) == 6 and len({p.name for p in points}) == 6
    assert points[1].name == 'seed-0_reg_wt-4'
    assert grid.base_command() == ['demo', 'm/ae', '--steps', '20']
    assert default_name(grid) == 'demo+m-ae_seed-reg_wt'


def test_a_key_given_twice_or_a_stray_word_is_refused():
    with pytest.raises(ConfigError, match='given twice'):
        parse_sweep_argv(['demo', '--seed', '0', '--seed', '1'], set())
    with pytest.raises(ConfigError, match='Unexpected argument'):
        parse_sweep_argv(['demo', '--seed', '0', '1'], set())


def test_point_names_stay_distinct_when_values_look_alike_as_folder_names():
    grid = parse_sweep_argv(['demo', '--tag', 'a/b,a-b,' + 'x' * 200], set())
    names = [p.name for p in grid.points()]
    assert len(set(names)) == 3 and all('/' not in n and len(n) <= 80 for n in names)


def _grid(*argv):
    grid = parse_sweep_argv(list(argv), set())
    return grid, grid.points()


def test_a_misspelt_key_fails_before_anything_runs_with_the_closest_names():
    with pytest.raises(ConfigError, match="Unknown config key `reg_wtt` .*did you mean `reg_wt`"):
        validate(*_grid('demo-vec', '--seed', '0,1', '--reg_wtt', '1,4'))
    with pytest.raises(ConfigError, match='`encoder.hiden` .*did you mean `encoder.hidden`'):
        validate(*_grid('demo-vec', '--encoder.hiden', '[8]'))
    validate(*_grid('demo-vec', '--seed', '0,1', '--method.reg_wt', '1,4', '--beta1', '0.8', '--split.val', '0.2'))


def test_a_point_with_a_badly_typed_value_is_named():
    with pytest.raises(ConfigError, match=r'Grid point steps-abc \(--steps abc\).*`--steps` expects an int'):
        validate(*_grid('demo', '--seed', '0', '--steps', '20,abc'))
    with pytest.raises(ConfigError, match='Unknown config'):
        validate(*_grid('demoo', '--seed', '0,1'))


def test_the_command_line_refuses_a_typo_and_creates_nothing(tmp_path):
    code, out = run_in_process('sweep', 'demo', '--seed', '0,1', '--reg-wtt', '1,4', '--runs_root', tmp_path)
    assert code == 2 and 'did you mean `reg_wt`' in out and 'Traceback' not in out
    assert not (tmp_path / 'sweeps').exists()


def test_dry_run_lists_the_grid_and_runs_nothing(tmp_path):
    code, out = run_in_process('sweep', 'demo', '--seed', '0,1,2', '--reg-wt', '1,4', '--steps', '20',
                               '--dry-run', '--runs_root', tmp_path)
    assert code in (0, None), out
    assert '6 runs' in out and 'seed-2_reg_wt-4: --seed 2 --reg_wt 4' in out and 'fig train demo --steps 20' in out
    assert not (tmp_path / 'sweeps').exists()


def test_status_of_an_unknown_sweep_lists_the_known_ones(tmp_path):
    code, out = run_in_process('sweep', '--status', 'nope', '--runs_root', tmp_path)
    assert code == 2 and "No sweep 'nope'" in out and 'none yet' in out


def test_a_missing_cluster_engine_names_its_install_command(tmp_path):
    try:
        import ray  # noqa: F401
    except ImportError:
        with pytest.raises(ConfigError, match='pip install ray'):
            make_engine('ray', tmp_path, 1, 1, 0, {})
    with pytest.raises(ConfigError, match='engines are local'):
        make_engine('mpi', tmp_path, 1, 1, 0, {})


def test_train_run_name_makes_exactly_that_folder_and_refuses_to_reuse_it(tmp_path):
    args = ('train', 'demo-vec', '--steps', '2', '--dataset.num_samples', '300', '--include_eval', 'false',
            '--progress', 'false', '--run_name', 'grid-point-1', '--runs_root', tmp_path)
    code, out = run_in_process(*args)
    assert code in (0, None), out
    run = tmp_path / 'grid-point-1'
    assert (run / 'config.yaml').is_file() and (run / 'finished.json').is_file()
    assert 'run_name' not in yaml.safe_load((run / 'config.yaml').read_text())  # `--load RUN` must not reuse it
    code, out = run_in_process(*args)
    assert code == 2 and 'exists already' in out and '--resume' in out
    with pytest.raises(RunError, match='plain folder name'):
        from framework.runs import create_run_dir
        create_run_dir(tmp_path, '../elsewhere', exact=True)


class _InstantEngine:
    """Completes each task at once, as a finished `fig train` would leave its run folder."""
    gives_gpus = False

    def __init__(self):
        self.tasks, self.running, self.most_at_once = [], 0, 0

    def submit(self, task):
        self.tasks.append(task)
        self.running += 1
        self.most_at_once = max(self.most_at_once, self.running)
        return task

    def job_id(self, task):
        return None

    def done(self, task):
        return True

    def result(self, task):
        self.running -= 1
        argv = task.commands[0]
        if '--load' in argv:                                         # fig train --load RUN --resume
            folder = Path(argv[argv.index('--load') + 1])
        else:
            folder = Path(argv[argv.index('--runs_root') + 1]) / argv[argv.index('--run_name') + 1]
        folder.mkdir(parents=True, exist_ok=True)
        (folder / 'config.yaml').write_text('seed: 0\n')
        (folder / 'finished.json').write_text('{}')
        return [0]

    def stop(self, point, handle, hard=False):
        pass

    def close(self, wait=True):
        pass


def _local_machine(monkeypatch, gpus: int, cores: int):
    """An instant engine on a machine with ``gpus`` GPUs and ``cores`` CPU cores."""
    import torch
    from framework.sweep import launcher
    engine = _InstantEngine()
    monkeypatch.setattr(launcher, 'make_engine', lambda *args: engine)
    monkeypatch.setattr(torch.cuda, 'device_count', lambda: gpus)
    monkeypatch.setattr(launcher.os, 'sched_getaffinity', lambda pid: set(range(cores)), raising=False)
    return engine


def _sweep(grid, tmp_path) -> int:
    from framework.scripts.sweep import SweepSettings
    from framework.sweep import launcher
    return launcher.run_sweep(grid, SweepSettings(), tmp_path, say=lambda text: None)


def test_local_runs_get_one_gpu_each_and_threads_are_shared(tmp_path, monkeypatch):
    engine = _local_machine(monkeypatch, gpus=2, cores=8)
    grid = parse_sweep_argv(['demo', '--seed', '0,1,2', '--steps', '5'], set())
    assert _sweep(grid, tmp_path) == 0
    assert engine.most_at_once == 2                                # one run per GPU by default
    assert [t.env['CUDA_VISIBLE_DEVICES'] for t in engine.tasks] == ['0', '1', '0']   # the third on a freed GPU
    assert {t.env['OMP_NUM_THREADS'] for t in engine.tasks} == {'4'}                  # 8 cores / 2 workers
    assert engine.tasks[2].commands[0][-4:] == ['--runs_root', str(tmp_path / 'sweeps' / 'demo_seed'),
                                               '--run_name', 'seed-2']
    engine.tasks.clear()
    assert _sweep(grid, tmp_path) == 0
    assert engine.tasks == []                                      # all finished: nothing to run again


def test_local_runs_on_a_cpu_are_one_thread_each_one_per_core(tmp_path, monkeypatch):
    engine = _local_machine(monkeypatch, gpus=0, cores=4)
    assert _sweep(parse_sweep_argv(['demo', '--seed', '0,1,2,3,4', '--steps', '5'], set()), tmp_path) == 0
    assert engine.most_at_once == 4 and {t.env['OMP_NUM_THREADS'] for t in engine.tasks} == {'1'}


def test_a_run_left_training_by_a_killed_sweep_is_not_started_twice(tmp_path, monkeypatch):
    import json
    import subprocess
    import sys
    from framework.scripts.sweep import SweepSettings
    from framework.sweep import launcher
    engine = _InstantEngine()
    monkeypatch.setattr(launcher, 'make_engine', lambda *args: engine)
    grid = parse_sweep_argv(['demo', '--seed', '0,1'], set())
    assert launcher.run_sweep(grid, SweepSettings(), tmp_path, say=lambda text: None) == 0
    orphan = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)', 'seed-0'])
    try:
        path = tmp_path / 'sweeps' / 'demo_seed' / 'sweep.json'
        data = json.loads(path.read_text())
        data['runs'][0].update(state='running', pid=orphan.pid)
        path.write_text(json.dumps(data))
        (tmp_path / 'sweeps' / 'demo_seed' / 'seed-0' / 'finished.json').unlink()
        with pytest.raises(RunError, match=f'seed-0 is still being trained by process {orphan.pid}'):
            launcher.run_sweep(grid, SweepSettings(), tmp_path, say=lambda text: None)
    finally:
        orphan.kill()
        orphan.wait()
    engine.tasks.clear()
    assert launcher.run_sweep(grid, SweepSettings(), tmp_path, say=lambda text: None) == 0
    assert [t.point for t in engine.tasks] == ['seed-0']          # once the process is gone, it continues
    assert engine.tasks[0].commands[0][2:5] == ['train', '--load', str(tmp_path / 'sweeps' / 'demo_seed' / 'seed-0')]


def test_dry_run_prints_what_each_run_is_built_with(tmp_path):
    code, out = run_in_process('sweep', 'a/dlib', 'm/betatcvae', 'd/sprites', '--method.beta', '1,6', '--dry-run',
                               '--runs_root', tmp_path)
    assert code in (0, None), out
    assert 'beta-1: --method.beta 1  ->  method.beta=1.0' in out and 'beta-6: --method.beta 6  ->  method.beta=6.0' in out
    shared = out.split('Effective config shared by every run')[1]
    assert 'estimator: mws' in shared and 'beta:' not in shared.split('method:')[1].split('\n  gamma')[0]


def test_a_flag_that_would_not_reach_its_component_is_refused_for_every_point(tmp_path):
    code, out = run_in_process('sweep', 'a/dlib', 'm/betatcvae', 'd/sprites', '--beta', '1,6', '--dry-run',
                               '--runs_root', tmp_path)
    assert code == 2 and 'Use `--method.beta 1`' in out and 'Traceback' not in out


def test_grid_points_that_build_the_same_thing_are_refused(tmp_path):
    """`method_tag` only names the run folder: two points would train the same configuration twice."""
    code, out = run_in_process('sweep', 'demo', '--method_tag', 'a,b', '--dry-run', '--runs_root', tmp_path)
    assert code == 2 and 'compose to the same effective config: --method_tag changed nothing' in out
    assert not (tmp_path / 'sweeps').exists()


def test_sweep_help_lists_its_own_options_and_status_alone_lists_the_sweeps(tmp_path):
    code, out = run_in_process('sweep', '-h')
    assert code == 0
    for option in ('workers', 'engine', 'eval', 'dry_run', 'threads', 'status'):
        assert f'\n  {option} ' in out, option
    code, out = run_in_process('sweep', '--status', '--runs_root', tmp_path)
    assert code in (0, None) and 'No sweeps under' in out
    folder = tmp_path / 'sweeps' / 'demo_seed'
    folder.mkdir(parents=True)
    (folder / 'sweep.json').write_text('{"name": "demo_seed", "runs": [{"point": "seed-0", "state": "done"}]}')
    code, out = run_in_process('sweep', '--status', '--runs_root', tmp_path)
    assert code in (0, None) and 'demo_seed: 1 done' in out
