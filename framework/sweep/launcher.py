"""Run a sweep: check every grid point, decide what each still needs, hand the work to an engine, record it.

What a point needs is read from its run folder, not only from ``sweep.json``, so a rerun after any kind of
stop does the right thing: a run with ``finished.json`` is skipped; a run folder without it (killed, stopped,
failed mid-way) continues from its last checkpoint with ``fig train --load RUN --resume``; a point with no
folder starts. One failed run never stops the others. Ctrl-C (or SIGTERM) starts nothing new, asks the running
ones to stop cleanly (each writes a checkpoint), records them as interrupted and the queued points as "not
started", releases the sweep's lock and exits as soon as the last run has stopped; a second signal kills the
runs and exits at once. Each submitted run's job id is recorded, and a rerun checks it before starting anything.
"""
from __future__ import annotations

import os
import shutil
import signal
import sys
import threading
import time
from dataclasses import asdict
from pathlib import Path

from .. import run_lock, runs
from ..errors import ConfigError, RunError
from .checks import validate
from .engines import Task, make_engine
from .jobs import still_working
from .grid import Grid, Point
from .state import STATE_FILE, SweepLock, SweepState, format_status, sweeps_root

REPO = Path(__file__).resolve().parent.parent.parent
_POLL_S = 0.2


def default_name(grid: Grid) -> str:
    """``demo_seed-reg_wt``: the configs and the swept keys (the same command always finds the same sweep)."""
    configs = '+'.join(Path(c).stem if c.endswith(('.yaml', '.yml')) else c for c in grid.configs) or 'sweep'
    keys = '-'.join(k.split('.')[-1] for k in grid.axes) or 'single'
    return _safe(f'{configs}_{keys}')[:100]


def run_sweep(grid: Grid, settings, runs_root: Path, say=print) -> int:
    """Run (or continue) the sweep; print its summary; the exit status (0 all done, 1 failures, 130 stopped)."""
    points = grid.points()
    name = _safe(settings.name) if settings.name else default_name(grid)
    folder = sweeps_root(runs_root) / name
    effective = validate(grid, points)
    if settings.dry_run:
        say(format_dry_run(grid, points, name, folder, effective))
        return 0
    with SweepLock(folder):
        state = _open_state(folder, name, grid, points, settings)
        work = _plan(state, folder, points, settings.eval)
        skipped = len(points) - len(work)
        scoring = sum(1 for _, train, _ in work if not train)
        also = f' ({scoring} of them trained, to score with {settings.eval})' if scoring else ''
        say(f'sweep {name}: {len(points)} runs in {folder}; {skipped} already finished, {len(work)} to run{also}.')
        stopped = _execute(grid, state, folder, work, settings, say) if work else False
        say(format_status(state))
        return _exit_status(state, [p.name for p in points], stopped, say)


def format_dry_run(grid: Grid, points: list[Point], name: str, folder: Path, effective: list[dict]) -> str:
    """The runs with the effective values that differ between them, then the values they share."""
    from ..config.effective import differences
    from ..config.saving import dump_yaml
    varying = list(dict.fromkeys(k for values in effective[1:] for k in differences(effective[0], values)))
    lines = [f'sweep {name}: {len(points)} runs in {folder}',
             f'  shared: fig train {" ".join(grid.base_command())}']
    for point, values in zip(points, effective):
        built = ', '.join(f'{key}={_dotted_get(values, key)!r}' for key in varying)
        lines.append(f'  {point.name}: {" ".join(point.flags())}' + (f'  ->  {built}' if built else ''))
    shared = _without(effective[0], varying) if effective else {}
    lines += ['', 'Effective config shared by every run (what the components are built with):',
              dump_yaml(shared).rstrip()]
    return '\n'.join(lines)


def _dotted_get(values: dict, dotted: str):
    for part in dotted.split('.'):
        values = values.get(part) if isinstance(values, dict) else None
    return values


def _without(values: dict, dotted_keys: list[str]) -> dict:
    out = {}
    for key, value in values.items():
        inner = [k.split('.', 1)[1] for k in dotted_keys if k.startswith(key + '.')]
        if key in dotted_keys:
            continue
        out[key] = _without(value, inner) if isinstance(value, dict) else value
    return out


# --------------------------------------------------------------------------- helpers

def _safe(name: str) -> str:
    import re
    return re.sub(r'[^A-Za-z0-9._+=-]+', '-', str(name)).strip('-.') or 'sweep'


def _open_state(folder: Path, name: str, grid: Grid, points: list[Point], settings) -> SweepState:
    """The sweep's state, created or continued; a different shared command under the same name is refused."""
    command = grid.base_command()
    if (folder / STATE_FILE).is_file():
        state = SweepState.load(folder)
        if state.data.get('base') != command:
            raise ConfigError(f'A sweep named {name} exists in {folder} with another shared command '
                              f'(`fig train {" ".join(state.data.get("base", []))}`; this one is '
                              f'`fig train {" ".join(command)}`). Give this sweep its own --name, or run the '
                              f'first command again to continue that sweep.')
    else:
        state = SweepState(folder, {'name': name, 'created': time.strftime('%Y-%m-%d %H:%M:%S'), 'updated': '',
                                    'base': command, 'axes': {}, 'runs': []})
    for key, values in grid.axes.items():
        known = state.data['axes'].setdefault(key, [])
        known.extend(v for v in values if v not in known)
    recorded = {r['point'] for r in state.runs}
    for point in points:
        if point.name not in recorded:
            state.runs.append({'point': point.name, 'overrides': point.overrides, 'state': 'pending',
                               'run_dir': str(folder / point.name), 'log': str(folder / 'logs' / f'{point.name}.log'),
                               'command': '', 'returncode': None, 'eval': None, 'attempts': 0,
                               'started': None, 'ended': None})
    state.data['engine'] = settings.engine
    state.save()
    return state


def _plan(state: SweepState, folder: Path, points: list[Point], suite: str) -> list[tuple[Point, bool, bool]]:
    """(point, train it?, score it?) for every point that has work left; finished ones are marked done."""
    work = []
    for point in points:
        run_dir = folder / point.name
        record = state.run(point.name)
        busy = still_working(record, record.get('engine') or state.data.get('engine'), run_dir)
        if busy:
            raise RunError(f'{point.name} {busy}. Wait for it or stop it, then run this command again.')
        if runs.is_finished(run_dir):
            finished = {'state': 'done'}
            if record.get('returncode') is None:
                finished['returncode'] = 0        # finished.json is written only by a run that completed
            state.update(point.name, **finished)
            if suite and record.get('eval') != 'done':
                work.append((point, False, True))
            continue
        if run_dir.exists() and not runs.is_run(run_dir):
            if any(p.is_file() for p in run_dir.rglob('*')):
                raise ConfigError(f'{run_dir} holds files but no {runs.RUN_CONFIG_FILE}, so it is not a run this '
                                  f'sweep can continue. Move it aside, then run the sweep again.')
            shutil.rmtree(run_dir)        # made by a train killed before it saved its config: start afresh
        work.append((point, True, bool(suite)))
    return work


def _commands(grid: Grid, point: Point, folder: Path, train: bool, score: bool, suite: str) -> list[list[str]]:
    python = [sys.executable, str(REPO / 'main.py')]
    run_dir = folder / point.name
    commands = []
    if train and runs.is_run(run_dir):
        commands.append(python + ['train', '--load', str(run_dir), '--resume'])
    elif train:
        commands.append(python + ['train', *grid.configs, '--progress', 'false', *_flags(grid.fixed),
                                  *point.flags(), '--runs_root', str(folder), '--run_name', point.name])
    if score:
        commands.append(python + ['eval-metrics', suite, '--load', str(run_dir)])
    return commands


def _flags(mapping: dict[str, str]) -> list[str]:
    return [term for key, raw in mapping.items() for term in (f'--{key}', raw)]


def _resources(settings, engine_name: str) -> tuple[int, int, int]:
    """(workers, OMP threads per run, GPUs): one run per GPU where there are GPUs, else one one-thread run per CPU
    core (on a shared CPU, runs of one thread each finish a grid sooner than fewer runs of several threads).

    For the local engine ``GPUs`` is how many this machine has (each run gets one); for a cluster engine it is
    ``--gpus_per_run``, what each job asks the scheduler for.
    """
    cores = len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else (os.cpu_count() or 1)
    if engine_name == 'local':
        import torch
        gpus = torch.cuda.device_count()
    else:
        gpus = max(0, settings.gpus_per_run)
    workers = settings.workers or (gpus if gpus and engine_name == 'local' else cores)
    threads = settings.threads or max(1, cores // workers)
    return workers, threads, gpus


def _execute(grid: Grid, state: SweepState, folder: Path, work, settings, say) -> bool:
    """Run ``work`` on the engine, ``workers`` at a time; True when a signal stopped the sweep."""
    workers, threads, gpus = _resources(settings, settings.engine)
    engine = make_engine(settings.engine, folder, workers, threads, gpus, asdict(settings))
    gpu_load = {gpu: 0 for gpu in range(gpus)} if gpus and not engine.gives_gpus else {}   # runs on each GPU
    capacity = workers if settings.engine != 'slurm' or settings.workers else len(work)
    queue, active = list(work), {}
    stop = {'signals': 0}

    def on_signal(signum, frame):
        stop['signals'] += 1
        hard = stop['signals'] > 1
        say(f'\n{signal.Signals(signum).name}: ' + (f'killing {len(active)} run(s) and exiting.' if hard else
            f'starting no new run; stopping {len(active)} running run(s), each writes a checkpoint '
            f'(Ctrl-C again kills them).'))
        for point_name, (handle, _, _) in list(active.items()):
            engine.stop(point_name, handle, hard=hard)
            if hard:            # an engine's cancel may not reach the trainer (its own session): the lock names it
                run_lock.kill_holder(folder / point_name)

    previous = {}
    if threading.current_thread() is threading.main_thread():
        previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    say(f'engine {settings.engine}: {min(capacity, len(work))} at a time, {threads} thread(s) a run'
        + (f', {gpus} GPU(s)' if gpus else ''))
    try:
        while queue or active:
            if stop['signals'] and queue:
                for point, _, _ in queue:
                    state.update(point.name, state='not started')
                queue.clear()
            if stop['signals'] > 1:
                for point_name in list(active):
                    state.update(point_name, state='interrupted', returncode=None, error='killed by a second signal',
                                 ended=time.strftime('%Y-%m-%d %H:%M:%S'))
                active.clear()
                break
            while queue and len(active) < capacity:
                point, train, score = queue.pop(0)
                env = {'OMP_NUM_THREADS': str(threads), 'MKL_NUM_THREADS': str(threads), 'PYTHONUNBUFFERED': '1'}
                gpu = min(gpu_load, key=gpu_load.get) if gpu_load else None
                if gpu is not None:
                    gpu_load[gpu] += 1
                    env['CUDA_VISIBLE_DEVICES'] = str(gpu)
                commands = _commands(grid, point, folder, train, score, settings.eval)
                record = state.run(point.name)
                task = Task(point.name, commands, env, record['log'], str(REPO))
                state.update(point.name, state='running', command=' '.join(commands[0]), returncode=None,
                             started=time.strftime('%Y-%m-%d %H:%M:%S'), ended=None, engine=settings.engine,
                             job_id=None, attempts=record.get('attempts', 0) + int(train))
                handle = engine.submit(task)
                active[point.name] = (handle, (train, score), gpu)
                state.update(point.name, job_id=engine.job_id(handle))
            for point_name, (handle, (train, score), gpu) in list(active.items()):
                process = getattr(engine, 'processes', {}).get(point_name)
                if process is not None and state.run(point_name).get('pid') != process.pid:
                    state.update(point_name, pid=process.pid, job_id=process.pid)
                if engine.done(handle):
                    del active[point_name]
                    if gpu is not None:
                        gpu_load[gpu] -= 1
                    _record(state, folder, point_name, engine, handle, train, score, bool(stop['signals']), say)
            time.sleep(_POLL_S)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        engine.close(wait=stop['signals'] < 2)
    return bool(stop['signals'])


def _record(state: SweepState, folder: Path, point: str, engine, handle, train: bool, score: bool,
            stopping: bool, say) -> None:
    """The run's new state from its exit statuses and its folder (``finished.json`` marks a complete run)."""
    try:
        codes = engine.result(handle)
    except BaseException as exc:          # noqa: BLE001 - a cancelled future or a cluster job that died
        codes = None
        error = f'{exc.__class__.__name__}: {exc}'.strip()
    else:
        error = ''
    finished = runs.is_finished(folder / point)
    update = {'ended': time.strftime('%Y-%m-%d %H:%M:%S')}
    if finished:
        update['state'] = 'done'
    elif codes is None:             # cancelled before it started, or a cluster job that died
        update['state'] = ('interrupted' if (folder / point).exists() else 'not started') if stopping else 'failed'
        update['error'] = error
    elif stopping or (train and codes and codes[0] == 0):
        update['state'] = 'interrupted'         # a stopped `fig train` exits 0 without finished.json
    else:
        update['state'] = 'failed'
    if codes:
        update['returncode'] = codes[-1]
        if score and finished:
            ran_eval = len(codes) == int(train) + 1
            update['eval'] = ('done' if codes[-1] == 0 else 'failed') if ran_eval else None
    state.update(point, **update)
    record = state.run(point)
    if record['state'] == 'failed' or record.get('eval') == 'failed':
        say(f'{point}: {"evaluation " if record["state"] == "done" else ""}failed; log: {record["log"]}')


def _exit_status(state: SweepState, names: list[str], stopped: bool, say) -> int:
    records = [state.run(n) for n in names]
    failed = [r for r in records if r['state'] == 'failed' or r.get('eval') == 'failed']
    for r in failed:
        say(f'failed: {r["point"]} (exit {r.get("returncode")}): {r["log"]}')
    if stopped:
        say(f'Stopped. Run the same command again to continue ({sum(r["state"] != "done" for r in records)} '
            f'runs left).')
        return 130
    if failed:
        say(f'{len(failed)} of {len(records)} runs failed; their logs are listed above. Run the same command '
            f'again to retry them (finished runs are skipped).')
        return 1
    return 0
