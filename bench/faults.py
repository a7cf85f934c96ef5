"""Fault injection: kill, fill, corrupt and double-own runs N times each; print what came back and what was lost.

    python bench/faults.py [--faults 20] [--kinds kill-train,kill-sweep,kill-eval,full-disk,corrupt,second-owner]
                           [--seed 0] [--work DIR]

Every fault is applied to the real command line (``python main.py ...``) at a random moment, then the run is
recovered the way a user would (``--resume``, the same ``fig sweep`` again, the same ``fig eval-metrics`` again)
and compared with an uninterrupted reference: the final checkpoint (parameters, Adam state, data order, random
state, step) and the logged training curve (``train/loss``, ``train/lr`` in ``scalars.csv``) must be identical,
and metric results equal. A run that differs, or cannot be recovered, is a lost run. The kinds:

- ``kill-train``: SIGKILL ``fig train`` at a random moment, then continue it.
- ``kill-sweep``: SIGINT, SIGTERM, SIGINT twice, or SIGKILL to a two-run ``fig sweep``; the driver must exit within
  60 s of a SIGINT/SIGTERM; then the same command again (refused while orphaned trainers still run, as designed).
- ``kill-eval``: SIGKILL or SIGINT ``fig eval-metrics`` once or twice, then the same command again.
- ``full-disk``: the run folder on a tmpfs of a random small size (needs root; skipped otherwise); the failure must
  say "the disk is full" without a traceback; then the disk is enlarged and the run continued.
- ``corrupt``: truncate, zero-fill in place, empty, or replace by a valid pickle without a checkpoint's keys the
  newest checkpoint(s) of a run stopped at its last step, then ``--resume``.
- ``second-owner``: ``fig train --resume`` or ``fig eval`` on a run while its trainer runs: must be refused with the
  holder named, and the first run must end bit-identical to the reference.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from framework import run_lock, runs  # noqa: E402

KINDS = ('kill-train', 'kill-sweep', 'kill-eval', 'full-disk', 'corrupt', 'second-owner')
TRAIN = ['demo-vec', '--steps', '90', '--ckpt_every', '30', '--dataset.num_samples', '600', '--batch_size', '32',
         '--progress', 'false', '--include_eval', 'false', '--log_every', '10', '--viz_every', '0']
SWEEP = ['sweep', *TRAIN, '--seed', '0,1', '--workers', '2', '--threads', '1']


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--faults', type=int, default=20, help='faults of each kind')
    parser.add_argument('--kinds', default=','.join(KINDS))
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--work', default=None, help='scratch folder (default: a new one under /tmp)')
    args = parser.parse_args()
    work = Path(args.work or f'/tmp/structrep-faults-{os.getpid()}')
    work.mkdir(parents=True, exist_ok=True)
    rng = random.Random(args.seed)
    print(f'references in {work} ...', flush=True)
    ref = References(work / 'reference')
    rows = []
    for kind in args.kinds.split(','):
        started = time.time()
        tally = Tally(kind)
        i = 0
        while tally.tried < args.faults and i < 2 * args.faults:      # a fault that came too late is not counted
            i += 1
            shutil.rmtree(work / kind / str(i), ignore_errors=True)
            try:
                FAULTS[kind](work / kind / str(i), ref, rng, tally)
            except Skip as exc:
                tally.notes.append(str(exc))
                break
            except Exception as exc:       # noqa: BLE001 - a bench counts a crash of a recovery as a loss
                tally.lost += 1
                tally.notes.append(f'fault {i}: {exc.__class__.__name__}: {exc}'[:300])
        tally.seconds = time.time() - started
        rows.append(tally)
        print(tally.line(), flush=True)
    print()
    print(table(rows))


class Skip(Exception):
    """This kind cannot run here (e.g. full-disk without root)."""


class Tally:
    def __init__(self, kind: str):
        self.kind, self.tried, self.exact, self.refused, self.lost = kind, 0, 0, 0, 0
        self.notes: list[str] = []
        self.seconds = 0.0
        self.filled = 0            # full-disk: faults where the disk filled before the run ended

    def line(self) -> str:
        return (f'{self.kind}: {self.tried} faults, {self.exact} recovered bit-exactly, {self.refused} refused as '
                f'designed, {self.lost} lost ({self.seconds:.0f} s)'
                + (f'; the disk filled before the end in {self.filled}' if self.kind == 'full-disk' else '') + ''.join(f'\n  {n}' for n in self.notes[:8]))


def table(rows: list[Tally]) -> str:
    head = ('fault', 'tried', 'recovered bit-exact', 'second owner refused', 'runs lost')
    body = [(t.kind, str(t.tried), str(t.exact), str(t.refused), str(t.lost)) for t in rows]
    body.append(('total', *(str(sum(int(r[i]) for r in body)) for i in range(1, 5))))
    widths = [max(len(r[i]) for r in [head, *body]) for i in range(5)]
    return '\n'.join('  '.join(c.rjust(w) if j else c.ljust(w) for j, (c, w) in enumerate(zip(r, widths)))
                     for r in [head, *body])


# --------------------------------------------------------------------------- references and comparison

class References:
    """Uninterrupted runs to compare with: one trained run, one two-run sweep, one metrics file."""

    def __init__(self, folder: Path):
        folder.mkdir(parents=True, exist_ok=True)
        self.run = folder / 'runs' / 'run'
        if not runs.is_finished(self.run):
            shutil.rmtree(self.run, ignore_errors=True)
            started = time.time()
            fig('train', *TRAIN, '--runs_root', folder / 'runs', '--run_name', 'run', check=True)
            (folder / 'train_seconds').write_text(str(time.time() - started))
        self.train_seconds = float((folder / 'train_seconds').read_text())
        self.sweep_root = folder / 'sweep'
        if not (self.sweep_root / 'seconds').is_file():
            started = time.time()
            fig(*SWEEP, '--runs_root', self.sweep_root, check=True)
            (self.sweep_root / 'seconds').write_text(str(time.time() - started))
        self.sweep_seconds = float((self.sweep_root / 'seconds').read_text())
        self.scored = folder / 'scored'
        if not (self.scored / 'results' / 'metrics-fast.json').is_file():
            shutil.rmtree(self.scored, ignore_errors=True)
            shutil.copytree(self.run, self.scored)
            started = time.time()
            fig('eval-metrics', 'eval/fast', '--load', self.scored, check=True)
            (folder / 'eval_seconds').write_text(str(time.time() - started))
        self.eval_seconds = float((folder / 'eval_seconds').read_text())
        self.final = signature(self.run)
        self.metrics = metric_values(self.scored)

    def sweep_run(self, point: str) -> Path:
        return next(self.sweep_root.glob(f'sweeps/*/{point}'))


def signature(run: Path) -> dict:
    """What a bit-exact recovery must reproduce: the final checkpoint and the logged training curve."""
    state = torch.load(run / runs.CHECKPOINT_DIR / runs.LAST_CHECKPOINT, map_location='cpu', weights_only=True)
    curve = {}
    with open(run / 'scalars.csv', newline='') as handle:
        for row in csv.reader(handle):
            if len(row) == 4 and row[2] in ('train/loss', 'train/lr'):
                curve.setdefault((int(row[0]), row[2]), set()).add(row[3])
    return {'state': state, 'curve': curve}


def identical(a: dict, b: dict) -> bool:
    sa, sb = a['state'], b['state']
    if sa['step'] != sb['step'] or sa['stream'] != sb['stream'] or a['curve'] != b['curve']:
        return False
    if not torch.equal(sa['rng']['torch'], sb['rng']['torch']):
        return False
    if sa['method'].keys() != sb['method'].keys() or not all(torch.equal(sa['method'][k], sb['method'][k])
                                                                for k in sa['method']):
        return False
    oa, ob = sa['optimizer']['state'], sb['optimizer']['state']
    return all(torch.equal(oa[p][k], ob[p][k]) for p in oa for k in oa[p] if torch.is_tensor(oa[p][k]))


def metric_values(run: Path) -> dict:
    data = json.loads((run / 'results' / 'metrics-fast.json').read_text())
    return {name: entry.get('values') for name, entry in data['metrics'].items()}


# --------------------------------------------------------------------------- the faults

def kill_train(folder: Path, ref: References, rng: random.Random, tally: Tally) -> None:
    root = folder / 'runs'
    proc = fig_popen('train', *TRAIN, '--runs_root', root, '--run_name', 'run')
    time.sleep(rng.uniform(0, ref.train_seconds * 1.1))
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    tally.tried += 1
    finish_run(root / 'run', ['train', *TRAIN, '--runs_root', root, '--run_name', 'run'])
    count(tally, identical(signature(root / 'run'), ref.final), f'{folder}: not bit-identical')


def kill_sweep(folder: Path, ref: References, rng: random.Random, tally: Tally) -> None:
    command = [*SWEEP, '--runs_root', folder]
    proc = fig_popen(*command)
    time.sleep(rng.uniform(0, ref.sweep_seconds * 1.1))
    how = rng.choice(['SIGINT', 'SIGTERM', 'SIGINT twice', 'SIGKILL'])
    proc.send_signal(signal.SIGKILL if how == 'SIGKILL' else getattr(signal, how.split()[0]))
    if how == 'SIGINT twice':
        time.sleep(rng.uniform(0, 2))
        proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        tally.notes.append(f'{folder}: the sweep did not exit within 60 s of {how}')
        tally.lost += 1
    tally.tried += 1
    for attempt in range(120):        # refused while the trainers a SIGKILLed driver left behind still run
        result = fig(*command)
        if result.returncode == 0:
            break
        if 'Wait for it or stop it' not in result.stdout + result.stderr:
            raise RuntimeError(f'rerun after {how} failed: {(result.stdout + result.stderr)[-400:]}')
        time.sleep(2)
    sweep = next(folder.glob('sweeps/*'))
    exact = all(identical(signature(sweep / p), signature(ref.sweep_run(p))) for p in ('seed-0', 'seed-1'))
    count(tally, exact, f'{folder}: a run differs after {how}')


def kill_eval(folder: Path, ref: References, rng: random.Random, tally: Tally) -> None:
    run = folder / 'run'
    shutil.copytree(ref.run, run)
    for _ in range(rng.choice([1, 2])):
        proc = fig_popen('eval-metrics', 'eval/fast', '--load', run)
        time.sleep(rng.uniform(0, ref.eval_seconds * 1.1))
        proc.send_signal(rng.choice([signal.SIGKILL, signal.SIGINT]))
        proc.wait()
    tally.tried += 1
    fig('eval-metrics', 'eval/fast', '--load', run, check=True)
    count(tally, metric_values(run) == ref.metrics, f'{folder}: metrics differ')


def full_disk(folder: Path, ref: References, rng: random.Random, tally: Tally) -> None:
    if os.geteuid() != 0:
        raise Skip('full-disk needs root to mount a small tmpfs; skipped')
    folder.mkdir(parents=True, exist_ok=True)
    needed = sum(p.stat().st_size for p in ref.run.rglob('*') if p.is_file())
    size_kib = max(8, int(rng.uniform(0.05, 1.0) * needed / 1024))
    subprocess.run(['mount', '-t', 'tmpfs', '-o', f'size={size_kib}k', 'tmpfs', str(folder)], check=True)
    try:
        command = ['train', *TRAIN, '--runs_root', folder / 'runs', '--run_name', 'run']
        result = fig(*command)
        tally.tried += 1
        said = result.stdout + result.stderr
        tally.filled += result.returncode != 0
        if result.returncode != 0 and ('disk is full' not in said or 'Traceback' in said):
            tally.notes.append(f'{size_kib} KiB: the failure was not named cleanly: {said.strip()[-300:]}')
        subprocess.run(['mount', '-o', 'remount,size=256m', str(folder)], check=True)      # space freed
        finish_run(folder / 'runs' / 'run', command)
        count(tally, identical(signature(folder / 'runs' / 'run'), ref.final), f'{size_kib} KiB: not bit-identical')
    finally:
        subprocess.run(['umount', str(folder)], check=False)


DAMAGE = ('truncate last.pt', 'zero-fill last.pt in place', 'empty last.pt', 'last.pt without its keys',
          'truncate last.pt and the newest ckpt')


def corrupt(folder: Path, ref: References, rng: random.Random, tally: Tally) -> None:
    run = folder / 'run'
    shutil.copytree(ref.run, run)
    (run / runs.FINISHED_FILE).unlink()          # as if killed right after its last checkpoint
    how = rng.choice(DAMAGE)
    ckpts = run / runs.CHECKPOINT_DIR
    targets = [ckpts / runs.LAST_CHECKPOINT] + (runs.numbered_checkpoints(ckpts)[:1] if 'newest' in how else [])
    for path in targets:
        size = path.stat().st_size
        if how.startswith('truncate'):
            os.truncate(path, rng.randrange(1, size))
        elif how.startswith('zero-fill'):
            with open(path, 'r+b') as handle:
                handle.seek(rng.randrange(0, size - 64))
                handle.write(b'\0' * rng.randrange(1, 64))
        elif how.startswith('empty'):
            os.truncate(path, 0)
        else:
            torch.save({'weights': torch.zeros(3)}, path)
    tally.tried += 1
    fig('train', '--load', run, '--resume', check=True)
    count(tally, identical(signature(run), ref.final), f'{folder}: not bit-identical after {how}')


def second_owner(folder: Path, ref: References, rng: random.Random, tally: Tally) -> None:
    from framework.testing import run_in_process
    root = folder / 'runs'
    proc = fig_popen('train', *TRAIN, '--runs_root', root, '--run_name', 'run')
    run = root / 'run'
    deadline = time.time() + 120
    while run_lock.holder(run) is None and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(rng.uniform(0, 2))
    second = rng.choice([['train', '--load', run, '--resume'], ['eval', '--load', run]])
    code, said = run_in_process(*second)       # in this process: it asks within a second, not after a start-up
    still_training = proc.poll() is None
    if still_training:
        tally.tried += 1
        if code == 2 and f'process {proc.pid}' in said:
            tally.refused += 1
        else:
            tally.notes.append(f'{folder}: `fig {second[0]}` was not refused: {said.strip()[-300:]}')
    else:
        tally.notes.append(f'{folder}: the first run ended before the second owner came; not counted')
    proc.wait(timeout=300)
    finish_run(run, ['train', *TRAIN, '--runs_root', root, '--run_name', 'run'])
    if still_training:
        count(tally, identical(signature(run), ref.final), f'{folder}: the first run is not bit-identical')


FAULTS = {'kill-train': kill_train, 'kill-sweep': kill_sweep, 'kill-eval': kill_eval, 'full-disk': full_disk,
          'corrupt': corrupt, 'second-owner': second_owner}


# --------------------------------------------------------------------------- helpers

def finish_run(run: Path, command: list) -> None:
    """Continue ``run`` the way a user would until it has finished (or start it again if it never began)."""
    for _ in range(3):
        if runs.is_finished(run):
            return
        if runs.is_run(run):
            fig('train', '--load', run, '--resume', check=True)
        else:
            shutil.rmtree(run, ignore_errors=True)
            fig(*command, check=True)
    if not runs.is_finished(run):
        raise RuntimeError(f'{run} did not finish after three attempts')


def count(tally: Tally, exact: bool, note: str) -> None:
    if exact:
        tally.exact += 1
    else:
        tally.lost += 1
        tally.notes.append(note)


def fig_popen(*args) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(REPO / 'main.py'), *map(str, args)], cwd=REPO, env=_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def fig(*args, check: bool = False) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, str(REPO / 'main.py'), *map(str, args)], cwd=REPO, env=_env(),
                            capture_output=True, text=True, timeout=600)
    if check and result.returncode != 0:
        raise RuntimeError(f'fig {" ".join(map(str, args[:4]))} failed ({result.returncode}): '
                           f'{(result.stdout + result.stderr).strip()[-400:]}')
    return result


def _env() -> dict:
    return {**os.environ, 'OMP_NUM_THREADS': '1', 'PYTHONUNBUFFERED': '1',
            'PYTHONPATH': os.pathsep.join([str(REPO), os.environ.get('PYTHONPATH', '')])}


if __name__ == '__main__':
    main()
