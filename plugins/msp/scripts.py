"""MSP's evaluation scripts: ``eval-msp`` (prediction and equivariance errors over horizons), ``gen``
(predicted sequences beside the ground truth) and ``sbd`` (simultaneous block diagonalisation, ``sbd.py``).

Sequences are fixed and seeded (``--eval_seed``, 1 by default) constant-velocity walks over the dataset's
factor grid (``walks.py``), so every model is scored on the same held-out sequences (``shared/specs/msp.md``
§5, pitfall 11: the original's were not paired).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from framework import register
from framework.errors import ConfigError
from framework.logging import make_grid, save_png
from framework.runs import write_json_atomic

from .walks import factor_walks, grid_of, walk_images


def load_runs(cfg) -> list:
    """(run, its config) for every run named by ``--load`` (one, or a list), each rebuilt from its own saved
    config; the evaluation flags given on the command line (``EVAL_KEYS``) apply to all of them."""
    from framework.config import compose
    from framework.scripts.common import load_run
    load = cfg.pull('load', None, silent=True)
    if load is None:
        raise ConfigError('This script needs a run: `--load RUN [RUN ...]`.')
    if isinstance(load, str) and load.startswith('['):
        load = json.loads(load)
    if isinstance(load, (str, Path)):
        return [(load_run(cfg, split='val'), cfg)]
    overrides = {k: cfg.pull(k) for k in EVAL_KEYS if cfg.pull(k, None, silent=True) is not None}
    out = []
    for path in load:
        run_cfg = compose(str(Path(path) / 'config.yaml'), load=str(path), **overrides)
        out.append((load_run(run_cfg, split='val'), run_cfg))
    return out


EVAL_KEYS = ('device', 'active_factors', 'eval_max_speed')


def eval_grid(cfg, run):
    """The walks evaluation runs on: factor walks over the dataset's grid (``--active_factors``), or, for
    transformation sequences (sequential MNIST), the dataset's own transformations (``TransformWalker``)."""
    from framework.data.base import Subset
    for candidate in (run.dataset, getattr(run.dataset, 'parent', None)):
        if candidate is not None and not isinstance(candidate, Subset) and hasattr(candidate, 'render') \
                and hasattr(candidate, 'draw'):
            return TransformWalker(candidate, cfg.pull('active_factors', None, silent=True))
    grid = grid_of(run.dataset)
    if grid is None:
        full = cfg.pull('dataset', None, silent=True)
        grid = grid_of(full) if full is not None else None
    if grid is None:
        raise ConfigError(f'{run.dataset.name}: the MSP evaluation walks over a factor grid or a transformation '
                          f'sequence dataset, and this dataset is neither (factor_sizes={run.dataset.factor_sizes}).')
    names = list(grid.factor_names)
    active = cfg.pull('active_factors', None, silent=True)
    if active is None:          # the grid's own walk factors (e.g. 3DShapes without shape), else every factor
        walking = list(getattr(grid, 'walk_factors', ()) or ())
        active = [names.index(n) for n in walking] or [i for i, s in enumerate(grid.factor_sizes) if s > 1]
    else:
        active = [names.index(a) if isinstance(a, str) else int(a) for a in active]
    max_speed = cfg.pull('eval_max_speed', None, silent=True)
    if max_speed is None:                      # the training walks' cap, so evaluation stays in distribution
        max_speed = cfg.pull('sequence.max_speed', 0, silent=True)
    fixed = cfg.pull('sequence.fixed', None, silent=True) or {}     # e.g. 3DShapes' {shape: 0}
    fixed = {names.index(k) if isinstance(k, str) else int(k): int(v) for k, v in dict(fixed).items()}
    return Walker(grid, [a for a in active if a not in fixed], int(max_speed or 0), fixed)


class Walker:
    """Seeded constant-velocity walks over ``grid``'s ``active`` factors: factor classes and their frames."""

    def __init__(self, grid, active, max_speed: int = 0, fixed: dict | None = None):
        self.grid, self.active, self.max_speed, self.fixed = grid, list(active), max_speed, dict(fixed or {})

    def frames(self, n: int, length: int, rng, shared: bool = False, force_moving: bool = False,
               active=None) -> torch.Tensor:
        walks = factor_walks(self.grid.factor_sizes, n, length, rng, self.active if active is None else active,
                             shared=shared, force_moving=force_moving, max_speed=self.max_speed, fixed=self.fixed)
        return walk_images(self.grid, walks)

    @property
    def factor_names(self):
        return list(self.grid.factor_names)


class TransformWalker:
    """Seeded sequences of a transformation dataset (``transform-seq``, ``mnist-seq``) at any length.

    Uses the dataset's own draw and render, with the evaluation's choices on top: max_length = length (as
    MSP's evaluation sets max_T = T), a seed from ``rng``, one shared velocity and acceleration per batch
    (``shared``), and the velocity of actions outside ``active`` set to zero.
    """
    factor_names = ('rotation', 'hue', 'translation')
    max_speed = 0

    def __init__(self, sequences, active=None):
        self.sequences = sequences
        names = list(self.factor_names)
        actions = list(getattr(sequences, 'actions', names))
        chosen = actions if active is None else [names[a] if isinstance(a, int) else a for a in active]
        self.active = [names.index(a) for a in chosen if a in actions]

    def frames(self, n: int, length: int, rng, shared: bool = False, force_moving: bool = False,
               active=None) -> torch.Tensor:
        import copy
        data = copy.copy(self.sequences)
        data.length, data.max_length, data.seed = length, length, int(rng.randint(2 ** 31 - 1))
        keep = self.active if active is None else list(active)
        mask = torch.tensor([0 in keep, 1 in keep, 2 in keep, 2 in keep], dtype=torch.float32)
        draw = data.draw

        def shared_draw(indices):
            state = draw(indices)
            v, acc = state['velocity'] * mask, state['acceleration'] * mask
            if shared:
                v, acc = v[:1].expand_as(v), acc[:1].expand_as(acc)
            t = torch.arange(length, dtype=torch.float32)[None, :]
            angle = state['angle'][:, :1] + v[:, :1] * t + 0.5 * acc[:, :1] * t ** 2
            hue = (state['hue'][:, :1] + v[:, 1:2] * t + 0.5 * acc[:, 1:2] * t ** 2).remainder(1.0)
            translation = state['translation'][:, :1] + v[:, None, 2:] * t[..., None] + \
                0.5 * acc[:, None, 2:] * t[..., None] ** 2
            return {**state, 'angle': angle, 'hue': hue, 'translation': translation,
                    'velocity': v, 'acceleration': acc}

        data.draw = shared_draw
        indices = torch.as_tensor(rng.randint(0, len(data.base), size=n), dtype=torch.long)
        return data.batch(indices)['x']


def run_label(run) -> str:
    method = type(run.method).__name__
    return f'{run.run_dir.name} ({method})'


@torch.no_grad()
def prediction_errors(method, walker: Walker, length: int, num_batches: int, batch_size: int, seed: int,
                      device) -> dict:
    """L^p(k) and L^p_equiv(k), k = 1..length−T_cond (§5.2): per-frame SSE, mean and std over sequences.

    Each batch shares one velocity (one group element), so sequence b can be rolled out with the transition
    fitted on sequence b−1 (L^p_equiv); both errors are measured on the same sequences.
    """
    rng = np.random.RandomState(seed)
    Tc = method.T_cond
    if length <= Tc:
        raise ConfigError(f'--length {length} must exceed the method\'s T_cond={Tc}.')
    errors, equiv, copy = [], [], []
    for _ in tqdm(range(num_batches), desc='eval-msp', leave=False, mininterval=0.5):
        x = walker.frames(batch_size, length, rng, shared=True).to(device)
        target = x[:, Tc:]
        pred = method.predict(x[:, :Tc], length - Tc)
        errors.append((pred - target).pow(2).flatten(2).sum(-1).cpu())
        copy.append((x[:, Tc - 1:Tc] - target).pow(2).flatten(2).sum(-1).cpu())
        if method.has_transition:
            swapped = method.predict(x[:, :Tc], length - Tc, swap_transitions=True)
            equiv.append((swapped - target).pow(2).flatten(2).sum(-1).cpu())
    errors = torch.cat(errors)
    out = {'horizons': list(range(1, length - Tc + 1)), 'sequences': int(errors.shape[0]),
           'Lp': errors.mean(0).tolist(), 'Lp_std': errors.std(0).tolist(),
           'copy_last_frame': torch.cat(copy).mean(0).tolist()}     # reference: predict "nothing moves"
    if equiv:
        equiv = torch.cat(equiv)
        out.update(Lp_equiv=equiv.mean(0).tolist(), Lp_equiv_std=equiv.std(0).tolist())
    return out


@register.script('eval-msp')
def eval_msp(cfg):
    """Prediction error L^p(k) and equivariance error L^p_equiv(k) over horizons; JSON + a PNG plot."""
    length = int(cfg.pull('length', 8, silent=True))
    settings = dict(num_batches=int(cfg.pull('num_batches', 10, silent=True)),
                    batch_size=int(cfg.pull('eval_batch_size', 32, silent=True)),
                    seed=int(cfg.pull('eval_seed', 1, silent=True)))
    ident = cfg.pull('ident', 'eval-msp', silent=True)
    results = {}
    for run, run_cfg in load_runs(cfg):
        walker = eval_grid(run_cfg, run)
        scores = prediction_errors(run.method, walker, length, device=run.device, **settings)
        result = {'ident': ident, 'step': run.step, 'method': type(run.method).__name__, 'length': length,
                  'T_cond': run.method.T_cond, 'active_factors': walker.active, 'max_speed': walker.max_speed, **settings, **scores}
        write_json_atomic(run.run_dir / 'results' / f'{ident}.json', result)
        results[run_label(run)] = result
        line = ', '.join(f'k={k}: {e:.3g}' for k, e in zip(scores['horizons'], scores['Lp']))
        tqdm.write(f'{run.run_dir.name}: L^p {line}')
        if 'Lp_equiv' in scores:
            tqdm.write(f'{run.run_dir.name}: L^p_equiv ' +
                       ', '.join(f'k={k}: {e:.3g}' for k, e in zip(scores['horizons'], scores['Lp_equiv'])))
    out = cfg.pull('out', None, silent=True)
    first = next(iter(results.values()))
    folder = Path(out) if out else Path(_first_load(cfg)) / 'images'
    folder.mkdir(parents=True, exist_ok=True)
    write_json_atomic(folder / f'{ident}.json', results)
    plot_errors(results, folder / f'{ident}.png')
    tqdm.write(f'Wrote {folder / (ident + ".png")} ({len(results)} run(s), {first["sequences"]} sequences each)')
    return results


def _first_load(cfg) -> str:
    load = cfg.pull('load')
    if isinstance(load, str) and load.startswith('['):
        load = json.loads(load)
    return str(load if isinstance(load, (str, Path)) else load[0])


def plot_errors(results: dict, path: Path) -> None:
    """Error vs horizon: L^p solid, L^p_equiv dashed, one colour per run."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 4))
    for i, (label, r) in enumerate(results.items()):
        colour = f'C{i % 10}'
        ax.plot(r['horizons'], r['Lp'], '-o', color=colour, label=f'{label}: L^p')
        if 'Lp_equiv' in r:
            ax.plot(r['horizons'], r['Lp_equiv'], '--s', color=colour, label=f'{label}: L^p_equiv')
    ax.set_xlabel('horizon k (predicted frames after the last conditioning frame)')
    ax.set_ylabel('per-frame SSE')
    ax.set_yscale('log')
    ax.legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


@register.script('gen')
def gen(cfg):
    """Predicted sequences beside the ground truth (rows: truth, prediction) as an image grid PNG."""
    run, run_cfg = load_runs(cfg)[0]
    walker = eval_grid(run_cfg, run)
    length = int(cfg.pull('length', 8, silent=True))
    num = int(cfg.pull('num_sequences', 6, silent=True))
    rng = np.random.RandomState(int(cfg.pull('eval_seed', 1, silent=True)))
    x = walker.frames(num, length, rng).to(run.device)
    Tc = run.method.T_cond
    pred = run.method.predict(x[:, :Tc], length - Tc)
    blank = torch.ones_like(x[:, :Tc])
    rows = torch.stack([x, torch.cat([blank, pred], 1)], 1)          # (num, 2, T, C, H, W)
    image = make_grid(enlarge(rows.reshape(-1, *x.shape[2:])), nrow=length)
    path = run.run_dir / 'images' / f'{cfg.pull("ident", "gen", silent=True)}.png'
    path.parent.mkdir(parents=True, exist_ok=True)
    save_png(image, path)
    tqdm.write(f'Wrote {path}: {num} sequences, truth above prediction (first {Tc} frames condition it)')
    return {'path': str(path)}


def enlarge(frames: torch.Tensor, side: int = 64) -> torch.Tensor:
    """Nearest-neighbour upscaling of small frames (N, C, H, W) to about ``side`` pixels, for viewing."""
    factor = max(1, side // frames.shape[-1])
    return torch.nn.functional.interpolate(frames.float(), scale_factor=factor, mode='nearest') if factor > 1 else frames


from . import sbd  # noqa: E402,F401  (registers the `sbd` script)
