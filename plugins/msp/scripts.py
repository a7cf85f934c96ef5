"""MSP's evaluation scripts: ``eval-msp`` (prediction and equivariance errors over horizons), ``gen``
(predicted sequences beside the ground truth) and ``sbd`` (simultaneous block diagonalisation, ``sbd.py``).

The sequences come from the run's sequence dataset through the framework's one implementation of MSP's
walks, ``SequenceDataset.sample_sequences`` (``plugins/msp/sequences.py``): seeded by ``--eval_seed`` (1 by
default), so every model is scored on the same sequences (the original's notebooks advanced one random
stream across models, so its comparisons were not paired). Datasets with published parts (MNIST, small
NORB) are evaluated on their test part (``--eval_part``), as the paper does.
"""
from __future__ import annotations

import inspect
import json
from dataclasses import dataclass
from pathlib import Path

import torch
from tqdm import tqdm

from framework import load_run, register, registry
from framework.errors import ConfigError
from framework.logging import make_grid, save_png
from framework.runs import write_json_atomic
from framework.settings import settings_from


@dataclass
class SequenceEvalSettings:
    """What ``eval-msp``, ``gen`` and ``sbd`` share: which sequences they draw."""
    length: int = 8               # frames per evaluation sequence T (horizons 1..T - T_cond)
    eval_seed: int = 1            # seed of the evaluation sequences (the same sequences for every run)
    eval_part: str = 'test'       # published part the sequences come from (mnist, mnist-seq, smallnorb); '' keeps the run's
    active_factors: tuple | str = ()   # factors (actions) that move, a list or one name; () = the training ones


@dataclass
class EvalMspSettings(SequenceEvalSettings):
    """``fig eval-msp``: L^p and L^p_equiv over horizons."""
    num_batches: int = 4          # batches of sequences; each batch shares one velocity (one group element)
    eval_batch_size: int = 32     # sequences per batch
    ident: str = ''               # name of the results file (default: the script's name)
    out: str = ''                 # folder of the combined JSON and plot (default: the first run's images/)


@dataclass
class GenSettings(SequenceEvalSettings):
    """``fig gen``: predicted sequences beside the ground truth."""
    gen_sequences: int = 6        # sequences (pairs of rows) in the image
    ident: str = ''               # name of the image (default: the script's name)


def load_runs(cfg, settings: SequenceEvalSettings) -> list:
    """Every run named by ``--load`` (one, or a list), rebuilt from its own saved config with its dataset's
    ``eval_part``; each run's ``sequences`` is its full sequence dataset (the evaluation draws its own sequences,
    so no split is needed)."""
    from framework.config import compose
    load = cfg.get('load', None)
    if load is None:
        raise ConfigError('This script needs a run: `--load RUN [RUN ...]`.')
    if isinstance(load, str) and load.startswith('['):
        load = json.loads(load)
    if isinstance(load, (str, Path)):
        configs = [cfg]
    else:
        device = cfg.get('device', 'auto')
        configs = [compose(str(Path(path) / 'config.yaml'), load=str(path), device=device) for path in load]
    runs = []
    for run_cfg in configs:
        if settings.eval_part and _accepts_part(run_cfg):
            run_cfg.set('dataset.part', settings.eval_part)
        run = load_run(run_cfg)
        run.sequences = run.dataset('full')
        if not run.sequences.is_sequence:
            raise ConfigError(f'{run.run_dir}: {run.sequences.name} is not a sequence dataset; the MSP evaluation '
                              f'reads runs of sequence methods (m/msp, m/neural-m, ...).')
        runs.append(run)
    return runs


def _accepts_part(run_cfg) -> bool:
    """Whether the run's dataset has published parts (a ``part`` argument: mnist, mnist-seq, smallnorb)."""
    type_name = run_cfg.get('dataset._type', None)
    if type_name is None:
        return False
    return 'part' in inspect.signature(registry.get(*registry.split_type(type_name)).obj).parameters


def moving_factors(dataset, settings: SequenceEvalSettings) -> tuple:
    """The factors the evaluation moves: ``--active_factors``, else those the training sequences move."""
    chosen = settings.active_factors
    chosen = (chosen,) if isinstance(chosen, str) else tuple(chosen)        # `--active_factors posX`: one name
    return chosen or tuple(dataset.moving_factors)


def run_label(run) -> str:
    return f'{run.run_dir.name} ({type(run.method).__name__})'


@torch.no_grad()
def prediction_errors(method, sequences, length: int, num_batches: int, batch_size: int, seed: int,
                      device, moving=None) -> dict:
    """L^p(k) and L^p_equiv(k), k = 1..length−T_cond: per-frame SSE, mean and std over sequences.

    Each batch shares one velocity (one group element), so sequence b can be rolled out with the transition
    fitted on sequence b−1 (L^p_equiv, the paper's equivariance error); both errors are
    measured on the same sequences.
    """
    generator = torch.Generator().manual_seed(int(seed))
    Tc = method.T_cond
    if length <= Tc:
        raise ConfigError(f'--length {length} must exceed the method\'s T_cond={Tc}.')
    errors, equiv, copy = [], [], []
    for _ in tqdm(range(num_batches), desc='eval-msp', leave=False, mininterval=0.5):
        x = sequences.sample_sequences(batch_size, length, generator, shared=True, moving=moving)['x'].to(device)
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


@register.script('eval-msp', settings=EvalMspSettings)
def eval_msp(cfg):
    """Prediction error L^p(k) and equivariance error L^p_equiv(k) over horizons; JSON + a PNG plot."""
    s = settings_from(cfg, EvalMspSettings)
    ident = s.ident or 'eval-msp'
    results = {}
    runs = load_runs(cfg, s)
    for run in runs:
        moving = moving_factors(run.sequences, s)
        scores = prediction_errors(run.method, run.sequences, s.length, s.num_batches, s.eval_batch_size,
                                   s.eval_seed, run.device, moving)
        result = {'ident': ident, 'step': run.step, 'method': type(run.method).__name__, 'length': s.length,
                  'T_cond': run.method.T_cond, 'active_factors': list(moving), 'eval_part': s.eval_part,
                  'num_batches': s.num_batches, 'batch_size': s.eval_batch_size, 'seed': s.eval_seed, **scores}
        write_json_atomic(run.run_dir / 'results' / f'{ident}.json', result)
        results[run_label(run)] = result
        line = ', '.join(f'k={k}: {e:.3g}' for k, e in zip(scores['horizons'], scores['Lp']))
        tqdm.write(f'{run.run_dir.name}: L^p {line}')
        if 'Lp_equiv' in scores:
            tqdm.write(f'{run.run_dir.name}: L^p_equiv ' +
                       ', '.join(f'k={k}: {e:.3g}' for k, e in zip(scores['horizons'], scores['Lp_equiv'])))
    folder = Path(s.out) if s.out else runs[0].run_dir / 'images'
    folder.mkdir(parents=True, exist_ok=True)
    write_json_atomic(folder / f'{ident}.json', results)
    plot_errors(results, folder / f'{ident}.png')
    first = next(iter(results.values()))
    tqdm.write(f'Wrote {folder / (ident + ".png")} ({len(results)} run(s), {first["sequences"]} sequences each)')
    return results


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


@register.script('gen', settings=GenSettings)
def gen(cfg):
    """Predicted sequences beside the ground truth (rows: truth, prediction) as an image grid PNG."""
    s = settings_from(cfg, GenSettings)
    run = load_runs(cfg, s)[0]
    generator = torch.Generator().manual_seed(s.eval_seed)
    x = run.sequences.sample_sequences(s.gen_sequences, s.length, generator,
                                     moving=moving_factors(run.sequences, s))['x'].to(run.device)
    Tc = run.method.T_cond
    if s.length <= Tc:
        raise ConfigError(f'--length {s.length} must exceed the method\'s T_cond={Tc}.')
    pred = run.method.predict(x[:, :Tc], s.length - Tc)
    blank = torch.ones_like(x[:, :Tc])
    rows = torch.stack([x, torch.cat([blank, pred], 1)], 1)          # (num, 2, T, C, H, W)
    image = make_grid(enlarge(rows.reshape(-1, *x.shape[2:])), nrow=s.length)
    path = run.run_dir / 'images' / f'{s.ident or "gen"}.png'
    path.parent.mkdir(parents=True, exist_ok=True)
    save_png(image, path)
    tqdm.write(f'Wrote {path}: {s.gen_sequences} sequences, truth above prediction (first {Tc} frames condition it)')
    return {'path': str(path)}


def enlarge(frames: torch.Tensor, side: int = 64) -> torch.Tensor:
    """Nearest-neighbour upscaling of small frames (N, C, H, W) to about ``side`` pixels, for viewing."""
    factor = max(1, side // frames.shape[-1])
    return torch.nn.functional.interpolate(frames.float(), scale_factor=factor, mode='nearest') if factor > 1 else frames


from . import sbd  # noqa: E402,F401  (registers the `sbd` script)
