"""Scripts of the SAE plugin: ``responses`` (latent responses), ``sae-samples`` (hybrid grids), ``sae-fid``.

``fig responses --load RUN`` writes, separately for each definition (never mixed in one file):
``results/responses-2021.json`` / ``results/responses-2022.json`` with the latent response matrix, the latent
factor-response matrix and the score, and heatmaps ``images/responses-<year>-{latent,factor}.png``.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from tqdm import tqdm

from framework import register
from framework.config import build_from_signature
from framework.errors import ConfigError
from framework.runs import write_json_atomic

from .responses import (conditioned_response_matrix_2022, factor_response_matrix_2021, factor_responses_2021,
                        latent_pool, make_response, rescaled_score, response_matrix_2021, response_matrix_2022,
                        response_score)


@dataclass
class ResponseSettings:
    """Protocol of ``fig responses`` (top-level keys, e.g. ``--num-groups 10``); defaults are the papers'."""
    variant: str | int | None = None  # 2021 | 2022 | None (or 'both') for both
    num_latent: int = 10000           # codes in the pool (scales s_j of 2021; samples of the 2022 matrix)
    num_response: int = 100           # codes used for the latent response matrix
    num_groups: int = 50              # 2021: full-intervention groups per factor
    num_traversals: int = 50          # 2022: traversals per factor
    traversal_samples: int = 32       # 2022: codes drawn per traversal group
    continuous_values: int = 10       # values per group for a continuous factor (e.g. d/vec)
    response_batch_size: int = 64
    response_seed: int = 0


@register.script('responses')
def responses(cfg):
    """Latent response matrices and factor-response matrices of a run (2021 and 2022 definitions, separately)."""
    from framework.scripts.common import load_run
    run = load_run(cfg, split=cfg.pull('mode', 'val', silent=True))   # built first: settings cannot leak into it
    settings = build_from_signature(ResponseSettings, cfg)
    variants = ('2021', '2022') if settings.variant in (None, 'both') else (str(settings.variant),)
    if set(variants) - {'2021', '2022'}:
        raise ConfigError(f"--variant must be 2021, 2022 or both, got {settings.variant!r}.")
    method, dataset, device = run.method, run.dataset, run.device
    if not hasattr(method, 'decode'):
        raise ConfigError(f'{type(method).__name__} has no decode(): latent responses need a decoder.')
    response = make_response(method.represent, method.decode)
    has_factors = getattr(dataset, 'has_factors', True) and dataset.num_factors > 0
    reports = {}
    for variant in variants:
        start = time.perf_counter()
        generator = torch.Generator().manual_seed(settings.response_seed)
        pool = latent_pool(dataset, method.represent, settings.num_latent, generator, device,
                           settings.response_batch_size)
        codes = pool[:settings.num_response]
        report = {'definition': variant, 'run': run.run_dir.name, 'step': run.step, 'settings': asdict(settings),
                  'factor_names': list(dataset.factor_names)}
        if variant == '2021':
            scales = pool.std(0)
            latent = response_matrix_2021(response, codes, scales, generator=generator,
                                          batch_size=settings.response_batch_size)
            report.update(scales=scales.tolist(), latent_response_matrix=latent.tolist())
            if has_factors:
                groups = factor_responses_2021(dataset, method.represent, response, scales, generator, device,
                                               settings.num_groups, continuous_values=settings.continuous_values,
                                               batch_size=settings.response_batch_size)
                factor = factor_response_matrix_2021(groups)
        else:
            latent = response_matrix_2022(response, pool, num_samples=settings.num_response, generator=generator,
                                          batch_size=settings.response_batch_size)
            report.update(latent_response_matrix=latent.tolist())
            if has_factors:
                factor = conditioned_response_matrix_2022(dataset, method.represent, response, generator, device,
                                                          settings.num_traversals, settings.traversal_samples,
                                                          continuous_values=settings.continuous_values,
                                                          batch_size=settings.response_batch_size)
        images = run.run_dir / 'images'
        images.mkdir(parents=True, exist_ok=True)
        title = {'2021': 'latent responses (2021 definition, normalised)',
                 '2022': 'latent responses (2022 definition)'}[variant]
        save_heatmap(latent.cpu(), images / f'responses-{variant}-latent.png', title,
                     'responding latent j', 'intervened latent i')
        if has_factors:
            score = response_score(factor.cpu())
            report.update(factor_response_matrix=factor.tolist(), score=score,
                          score_rescaled=rescaled_score(score, dataset.num_factors))
            save_heatmap(factor.cpu(), images / f'responses-{variant}-factor.png',
                         f'latent factor responses ({variant} definition), score {score:.3f}', 'latent',
                         'factor', row_labels=list(dataset.factor_names))
        report['seconds'] = round(time.perf_counter() - start, 3)
        write_json_atomic(run.run_dir / 'results' / f'responses-{variant}.json', report)
        tqdm.write(f'responses ({variant} definition): ' + (f"score {report['score']:.4f} "
                   f"(rescaled {report['score_rescaled']:.4f})" if 'score' in report else 'no factors') +
                   f" -> {run.run_dir / 'results' / f'responses-{variant}.json'}")
        reports[variant] = report
    return reports


def save_heatmap(matrix: torch.Tensor, path: Path, title: str, xlabel: str, ylabel: str,
                 row_labels: list[str] | None = None) -> None:
    """A heatmap PNG of a matrix with its values written in the cells."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    values = matrix.detach().float().numpy()
    rows, cols = values.shape
    fig, ax = plt.subplots(figsize=(1.0 + 0.5 * cols, 1.0 + 0.45 * rows))
    image = ax.imshow(values, cmap='viridis', aspect='auto')
    ax.set_xticks(range(cols))
    ax.set_yticks(range(rows))
    if row_labels:
        ax.set_yticklabels(row_labels)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=9)
    if rows * cols <= 400:
        top = values.max() if values.size else 0
        for (r, c), v in __import__('numpy').ndenumerate(values):
            ax.text(c, r, f'{v:.2f}', ha='center', va='center', fontsize=6,
                    color='black' if v > 0.6 * top else 'white')
    fig.colorbar(image, ax=ax)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


# --------------------------------------------------------------------------- hybrid samples and FID

def latent_groups(method) -> list[int] | None:
    """The decoder's latent blocks (SAE: one per structural transform), for block ("group") hybrids."""
    return getattr(getattr(method, 'decoder', None), 'latent_groups', None)


@torch.no_grad()
def generated(method, kind: str, n: int, generator: torch.Generator, bank: torch.Tensor | None = None):
    """``n`` generated observations: 'hybrid' (each latent from its own code of ``bank``), 'hybrid-blocks' (each
    decoder block from its own code, coordinates inside a block kept together) or 'prior' (z ~ N(0, I))."""
    from framework.hybrid import hybridize
    if kind == 'prior':
        return method.sample(n, generator=generator)
    groups = latent_groups(method) if kind == 'hybrid-blocks' else None
    return method.decode(hybridize(bank, n, generator, groups))


def code_bank(run, generator: torch.Generator, size: int = 1024) -> torch.Tensor:
    """Codes of ``size`` random observations of the run's split: the pool hybrids draw from."""
    from framework.hybrid import encode_bank
    return encode_bank(run.method, run.dataset, min(size, len(run.dataset)), run.device, generator)


def sample_kinds(method) -> list[str]:
    kinds = ['hybrid'] + (['hybrid-blocks'] if latent_groups(method) else [])
    return kinds + (['prior'] if hasattr(method, 'sample') else [])


@register.script('sae-samples')
def sae_samples(cfg):
    """Grids of hybrid, block-hybrid (SAE decoder blocks) and prior samples of an image run: images/samples-*.png."""
    from framework.logging import make_grid, save_png
    from framework.scripts.common import load_run
    run = load_run(cfg, split='train')
    if len(run.dataset.observation_shape) != 3:
        raise ConfigError(f'{run.dataset.name} observations are not images; sae-samples draws image grids.')
    num = int(cfg.pull('grid_size', 8, silent=True))
    generator = torch.Generator().manual_seed(int(cfg.pull('sample_seed', 0, silent=True)))
    out = run.run_dir / 'images'
    out.mkdir(parents=True, exist_ok=True)
    written = []
    bank = code_bank(run, generator, int(cfg.pull('bank_size', 1024, silent=True)))
    for kind in sample_kinds(run.method):
        images = generated(run.method, kind, num * num, generator, bank)
        save_png(make_grid(images, nrow=num), out / f'samples-{kind}.png')
        written.append(str(out / f'samples-{kind}.png'))
    tqdm.write('wrote ' + ', '.join(written))
    return written


@register.script('sae-fid')
def sae_fid(cfg):
    """FID of reconstructions, hybrid, block-hybrid and prior samples (needs local Inception weights)."""
    from framework.scripts.common import load_run
    from .fid import DEFAULT_WEIGHTS, frechet_distance, inception_features, load_inception, statistics
    weights = Path(cfg.pull('inception_weights', str(DEFAULT_WEIGHTS), silent=True))
    if not weights.exists():
        message = (f'sae-fid skipped: no Inception weights at {weights}. Put the FID Inception state dict '
                   f'(pt_inception-2015-12-05-6726825d.pth) there or pass --inception-weights PATH.')
        tqdm.write(message)
        return {'skipped': True, 'reason': message}
    mode = cfg.pull('mode', 'test', silent=True)
    run = load_run(cfg, split=mode)
    if len(run.dataset.observation_shape) != 3:
        raise ConfigError(f'{run.dataset.name} observations are not images; FID needs images.')
    n = int(cfg.pull('fid_samples', 10000, silent=True))
    generator = torch.Generator().manual_seed(int(cfg.pull('sample_seed', 0, silent=True)))
    net = load_inception(weights, run.device)
    indices = torch.randperm(len(run.dataset), generator=generator)[:n]
    real = torch.cat([run.dataset.batch(chunk)['x'] for chunk in indices.split(256)])
    reference = statistics(inception_features(net, real))
    scores = {}
    with torch.no_grad():
        recs = torch.cat([run.method.reconstruct(chunk.to(run.device)).cpu() for chunk in real.split(256)])
    scores['rec_fid'] = frechet_distance(*reference, *statistics(inception_features(net, recs)))
    bank = code_bank(run, generator, int(cfg.pull('bank_size', 1024, silent=True)))
    for kind in sample_kinds(run.method):
        images = torch.cat([generated(run.method, kind, len(chunk), generator, bank).cpu()
                            for chunk in torch.arange(n).split(256)])
        scores[f'{kind}_fid'] = frechet_distance(*reference, *statistics(inception_features(net, images)))
    result = {'mode': mode, 'step': run.step, 'samples': len(real), 'scores': scores, 'weights': str(weights)}
    write_json_atomic(run.run_dir / 'results' / 'fid.json', result)
    tqdm.write('FID: ' + ', '.join(f'{k}={v:.2f}' for k, v in scores.items()))
    return result
