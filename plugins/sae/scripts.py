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
from framework.errors import ConfigError
from framework.runs import write_json_atomic
from framework import load_run
from framework.settings import settings_from

from .responses import (conditioned_response_matrix_2022, factor_response_matrix_2021, factor_responses_2021,
                        latent_pool, make_response, rescaled_score, response_matrix_2021, response_matrix_2022,
                        response_score)


@dataclass
class ResponseSettings:
    """Top-level keys of ``fig responses`` (e.g. ``--num-groups 50``). The defaults take minutes on a CPU; the
    papers' protocol is the config ``responses/paper`` (``fig responses responses/paper --load RUN``)."""
    variant: str | int | None = None  # 2021 | 2022 | None (or 'both') for both definitions
    mode: str = 'val'                 # the split whose observations are encoded: train | val | test | full
    num_latent: int = 1000            # codes in the pool (the 2021 scales s_j; the 2022 matrix with base 'data')
    num_response: int = 50            # codes (2022 with base 'prior': prior draws per latent) for the d x d matrix
    response_base: str = 'prior'      # 2022 d x d matrix: 'prior' (z, v ~ N(0, I), released code) or 'data' (pool)
    num_groups: int = 5               # 2021: full-intervention groups per factor (papers: 50)
    num_traversals: int = 5           # 2022: traversals per factor (papers: 50)
    traversal_samples: int = 8        # 2022: codes drawn per traversal group (papers: 32)
    continuous_values: int = 10       # values per group for a continuous factor (e.g. d/vec's)
    response_batch_size: int = 64     # codes decoded and re-encoded at once
    response_seed: int = 0            # seed of every draw (pool, groups, interventions)


RESPONSE_BASES = ('prior', 'data')


@register.script('responses', settings=ResponseSettings)
def responses(cfg):
    """Latent response matrices and factor-response matrices of a run (2021 and 2022 definitions, separately)."""
    settings = settings_from(cfg, ResponseSettings)
    variants = ('2021', '2022') if settings.variant in (None, 'both') else (str(settings.variant),)
    if set(variants) - {'2021', '2022'}:
        raise ConfigError(f"--variant must be 2021, 2022 or both, got {settings.variant!r}.")
    if settings.response_base not in RESPONSE_BASES:
        raise ConfigError(f"--response-base must be one of {', '.join(RESPONSE_BASES)}, got "
                          f"{settings.response_base!r}.")
    run = load_run(cfg)
    method, dataset, device = run.method, run.dataset(settings.mode), run.device
    if not hasattr(method, 'decode'):
        raise ConfigError(f'{type(method).__name__} has no decode(): latent responses need a decoder.')
    response = make_response(method.represent, method.decode)
    has_factors = getattr(dataset, 'has_factors', True) and dataset.num_factors > 0
    reports = {}
    for variant in variants:
        start, cpu_start = time.perf_counter(), time.process_time()
        generator = torch.Generator().manual_seed(settings.response_seed)
        report = {'definition': variant, 'run': run.run_dir.name, 'step': run.step, 'settings': asdict(settings),
                  'factor_names': list(dataset.factor_names)}
        if variant == '2021':
            pool = latent_pool(dataset, method.represent, settings.num_latent, generator, device,
                               settings.response_batch_size)
            scales = pool.std(0)
            latent = response_matrix_2021(response, pool[:settings.num_response], scales, generator=generator,
                                          batch_size=settings.response_batch_size)
            report.update(scales=scales.tolist(), latent_response_matrix=latent.tolist())
            if has_factors:
                groups = factor_responses_2021(dataset, method.represent, response, scales, generator, device,
                                               settings.num_groups, continuous_values=settings.continuous_values,
                                               batch_size=settings.response_batch_size)
                factor = factor_response_matrix_2021(groups)
        else:
            if settings.response_base == 'prior':
                latent = response_matrix_2022(response, num_samples=settings.num_response, generator=generator,
                                              batch_size=settings.response_batch_size,
                                              latent_dim=method.latent_dim, device=device)
            else:
                pool = latent_pool(dataset, method.represent, settings.num_latent, generator, device,
                                   settings.response_batch_size)
                latent = response_matrix_2022(response, pool, num_samples=settings.num_response,
                                              generator=generator, batch_size=settings.response_batch_size)
            report.update(latent_response_matrix=latent.tolist())
            if has_factors:
                factor = conditioned_response_matrix_2022(dataset, method.represent, response, generator, device,
                                                          settings.num_traversals, settings.traversal_samples,
                                                          continuous_values=settings.continuous_values,
                                                          batch_size=settings.response_batch_size)
        images, results = run.run_dir / 'images', run.run_dir / 'results'
        images.mkdir(parents=True, exist_ok=True)
        results.mkdir(parents=True, exist_ok=True)
        title = {'2021': 'latent responses (2021 definition, normalised)',
                 '2022': f'latent responses (2022 definition, {settings.response_base} codes)'}[variant]
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
        report['cpu_seconds'] = round(time.process_time() - cpu_start, 3)     # all threads of this process
        write_json_atomic(run.run_dir / 'results' / f'responses-{variant}.json', report)
        tqdm.write(f'responses ({variant} definition): ' + (f"score {report['score']:.4f} "
                   f"(rescaled {report['score_rescaled']:.4f})" if 'score' in report else 'no factors') +
                   f" in {report['seconds']:.0f} s -> {run.run_dir / 'results' / f'responses-{variant}.json'}")
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


def code_bank(run, dataset, generator: torch.Generator, size: int = 1024) -> torch.Tensor:
    """Codes of ``size`` random observations of ``dataset`` (a split of the run): the pool hybrids draw from."""
    from framework.hybrid import encode_bank
    return encode_bank(run.method, dataset, min(size, len(dataset)), run.device, generator)


def sample_kinds(method) -> list[str]:
    kinds = ['hybrid'] + (['hybrid-blocks'] if latent_groups(method) else [])
    return kinds + (['prior'] if hasattr(method, 'sample') else [])


@dataclass
class SampleSettings:
    """Top-level keys of ``fig sae-samples``."""
    grid_size: int = 8                # the grids are grid_size x grid_size images
    bank_size: int = 1024             # encoded training observations that hybrid samples draw their latents from
    sample_seed: int = 0              # seed of the bank and of the samples


@register.script('sae-samples', settings=SampleSettings)
def sae_samples(cfg):
    """Grids of hybrid, block-hybrid (SAE decoder blocks) and prior samples of an image run: images/samples-*.png."""
    from framework.logging import make_grid, save_png
    settings = settings_from(cfg, SampleSettings)
    run = load_run(cfg)
    dataset = run.dataset('train')
    if len(dataset.observation_shape) != 3:
        raise ConfigError(f'{dataset.name} observations are not images; sae-samples draws image grids.')
    num = settings.grid_size
    generator = torch.Generator().manual_seed(settings.sample_seed)
    out = run.run_dir / 'images'
    out.mkdir(parents=True, exist_ok=True)
    written = []
    bank = code_bank(run, dataset, generator, settings.bank_size)
    for kind in sample_kinds(run.method):
        images = generated(run.method, kind, num * num, generator, bank)
        save_png(make_grid(images, nrow=num), out / f'samples-{kind}.png')
        written.append(str(out / f'samples-{kind}.png'))
    tqdm.write('wrote ' + ', '.join(written))
    return written


@dataclass
class FidSettings:
    """Top-level keys of ``fig sae-fid``."""
    inception_weights: str | None = None  # FID Inception weights (None: fid.DEFAULT_WEIGHTS, under local_data/)
    mode: str = 'val'                 # the split of the real images and of the reconstructions (the paper: test)
    fid_samples: int = 10000          # real and generated images per FID (the paper: 50000 generated)
    bank_size: int = 1024             # encoded training observations that hybrid samples draw their latents from
    sample_seed: int = 0              # seed of the real images, the bank and the samples


@register.script('sae-fid', settings=FidSettings)
def sae_fid(cfg):
    """FID of reconstructions, hybrid, block-hybrid and prior samples (needs local Inception weights)."""
    from .fid import DEFAULT_WEIGHTS, frechet_distance, inception_features, load_inception, statistics
    settings = settings_from(cfg, FidSettings)
    weights = Path(settings.inception_weights or DEFAULT_WEIGHTS)
    if not weights.exists():
        message = (f'sae-fid skipped: no Inception weights at {weights}. Put the FID Inception state dict '
                   f'(pt_inception-2015-12-05-6726825d.pth) there or pass --inception-weights PATH.')
        tqdm.write(message)
        return {'skipped': True, 'reason': message}
    mode = settings.mode
    run = load_run(cfg)
    dataset = run.dataset(mode)
    if len(dataset.observation_shape) != 3:
        raise ConfigError(f'{dataset.name} observations are not images; FID needs images.')
    n = settings.fid_samples
    generator = torch.Generator().manual_seed(settings.sample_seed)
    net = load_inception(weights, run.device)
    indices = torch.randperm(len(dataset), generator=generator)[:n]
    real = torch.cat([dataset.batch(chunk)['x'] for chunk in indices.split(256)])
    reference = statistics(inception_features(net, real))
    scores = {}
    with torch.no_grad():
        recs = torch.cat([run.method.reconstruct(chunk.to(run.device)).cpu() for chunk in real.split(256)])
    scores['rec_fid'] = frechet_distance(*reference, *statistics(inception_features(net, recs)))
    bank = code_bank(run, dataset, generator, settings.bank_size)
    for kind in sample_kinds(run.method):
        images = torch.cat([generated(run.method, kind, len(chunk), generator, bank).cpu()
                            for chunk in torch.arange(n).split(256)])
        scores[f'{kind}_fid'] = frechet_distance(*reference, *statistics(inception_features(net, images)))
    result = {'mode': mode, 'step': run.step, 'samples': len(real), 'scores': scores, 'weights': str(weights)}
    (run.run_dir / 'results').mkdir(parents=True, exist_ok=True)
    write_json_atomic(run.run_dir / 'results' / 'fid.json', result)
    tqdm.write('FID: ' + ', '.join(f'{k}={v:.2f}' for k, v in scores.items()))
    return result
