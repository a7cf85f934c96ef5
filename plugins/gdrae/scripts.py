"""``fig gdrae-eval --load RUN``: GDRAE's own evaluation, the checks the reference logs during training.

- Every run: the Jacobian checks at prior points (orthogonality of J^T J, predicted against actual column norms,
  the power-iteration estimate against the exact σ_max²) and a bar plot of the mean predicted singular values.
- Sector2D (2-D vector data): the correspondence between the codes and the true polar coordinates (angle,
  radius) of the data: |Pearson correlation| of each true coordinate with each latent, the best latent per
  coordinate, and a picture of the learned chart (a latent grid decoded onto the manifold) and of the codes.
- Images: latent traversals (one row per latent: real, reconstruction, 10 decodes over [-r, r]). The standard
  disentanglement suite is `fig eval-metrics --load RUN`.

Results go to ``RUN/results/<ident>.json`` and pictures to ``RUN/images/<ident>_*.png`` (``--ident``, default
``gdrae``), so evaluations of several checkpoints sit side by side.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from framework import register
from framework.errors import ConfigError
from framework.logging import make_grid, save_png
from framework.runs import write_json_atomic
from framework import load_run
from framework.settings import settings_from

from .jacobian import full_jacobian, orthogonality_scores, spectral_norm_sq


@dataclass
class GdraeEvalSettings:
    """``fig gdrae-eval`` settings (top-level keys)."""
    mode: str = 'full'           # the split whose observations are encoded: full (the reference's), train, val, test
    ident: str = 'gdrae'         # names results/<ident>.json and images/<ident>_*.png
    eval_seed: int = 0           # seeds the prior points and the observations drawn
    jacob_points: int = 64       # prior points at which the exact Jacobian is computed
    num_points: int = 5000       # observations encoded for the Sector2D correspondence


@register.script('gdrae-eval', settings=GdraeEvalSettings)
def gdrae_eval(cfg):
    """GDRAE's evaluation: Jacobian checks, singular values, Sector2D correspondence or traversals."""
    settings = settings_from(cfg, GdraeEvalSettings)
    run = load_run(cfg)
    dataset = run.dataset(settings.mode)
    method = run.method
    if not hasattr(method, 'log_singular_values'):
        raise ConfigError(f'{run.run_dir} is not a gdrae run; gdrae-eval reads the Jacobians of its flow decoder.')
    ident, seed = settings.ident, settings.eval_seed
    jacob_points, num_points = settings.jacob_points, settings.num_points
    images = Path(run.run_dir) / 'images'
    images.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)

    result = {'ident': ident, 'step': run.step, 'capacity': method.capacity.item(),
              'log_capacity': method.log_capacity.item()}
    result.update(jacobian_report(method, jacob_points, generator))
    save_bar_plot(result['predicted_sv'], images / f'{ident}_singular_values.png')
    if len(method.observation_shape) == 1 and method.latent_dim >= 2:
        codes, polar = encode_with_polar(method, dataset, num_points, generator)
        result.update(correspondence(codes, polar))
        save_chart(method, codes, polar, dataset, images / f'{ident}_chart.png')
    elif len(method.observation_shape) == 3:
        save_png(traversal_grid(method, dataset, generator), images / f'{ident}_traversals.png')
    result['seconds'] = round(time.perf_counter() - start, 3)
    write_json_atomic(Path(run.run_dir) / 'results' / f'{ident}.json', result)
    summary = {k: v for k, v in result.items() if isinstance(v, float)}
    print(f'{ident} (step {run.step}): ' + ', '.join(f'{k}={v:.4g}' for k, v in summary.items()))
    return result


def jacobian_report(method, n: int, generator: torch.Generator, chunk: int = 16) -> dict:
    """Jacobian orthogonality, singular-value match and the power-iteration error at n prior points.

    ``sv_match_err`` is the reference's definition for the run's data: the ratio form for vectors (Sector2D), the
    normalised mean absolute error for images; both are reported under their own names too.
    """
    z = method.sample_prior(n, generator)
    jacobians, log_svs, estimates = [], [], []
    for part in z.split(chunk):
        with torch.no_grad():
            u = method.capacity * part
            log_sv = method.log_singular_values(u)
        jacobians.append(full_jacobian(method.decoder, u))
        log_svs.append(log_sv)
        estimates.append(spectral_norm_sq(method.decoder, u, torch.exp(-log_sv), power=20).detach())
    jacobian, log_sv, estimate = torch.cat(jacobians), torch.cat(log_svs), torch.cat(estimates)
    scores = orthogonality_scores(jacobian, log_sv)
    images = len(method.observation_shape) == 3
    scores['sv_match_err'] = scores['sv_match_err_nmae' if images else 'sv_match_err_ratio']
    exact = torch.linalg.svdvals(jacobian * torch.exp(-log_sv).unsqueeze(1))[:, 0] ** 2
    scores.update(power_iteration_err=float(((estimate - exact).abs() / exact).mean()),
                  normalised_sigma_max=float(exact.sqrt().mean()),
                  predicted_sv=torch.exp(log_sv).mean(0).tolist())
    return scores


@torch.no_grad()
def encode_with_polar(method, dataset, n: int, generator: torch.Generator):
    """Codes of n observations and their true (angle, radius): the dataset's factors, else polar of x[:2]."""
    indices = torch.randint(len(dataset), (n,), generator=generator)
    batches = [dataset.batch(part) for part in indices.split(1024)]
    x = torch.cat([b['x'] for b in batches]).float()
    device = method.log_capacity.device
    codes = torch.cat([method.represent(part.to(device)).cpu() for part in x.split(1024)])
    if tuple(getattr(dataset, 'factor_names', ())) == ('angle', 'radius') and 'y' in batches[0]:
        polar = torch.cat([b['y'] for b in batches]).float()
    else:
        polar = torch.stack([torch.atan2(x[:, 1], x[:, 0]), x[:, :2].norm(dim=1)], dim=1)
    return codes, polar


def correspondence(codes: torch.Tensor, polar: torch.Tensor) -> dict:
    """|corr| between each true coordinate and each latent; the best latent per coordinate ("recovered" needs >= 0.9)."""
    corr = np.abs(np.corrcoef(polar.T.numpy(), codes.T.numpy())[:2, 2:])
    corr = np.nan_to_num(corr)
    best = corr.max(1)
    pairs = corr.argmax(1)
    return {'abs_corr': corr.round(4).tolist(), 'true_coordinates': ['angle', 'radius'],
            'angle_best_abs_corr': float(best[0]), 'radius_best_abs_corr': float(best[1]),
            'angle_latent': int(pairs[0]), 'radius_latent': int(pairs[1]),
            'correspondence_score': float(best.mean()),
            'distinct_latents': bool(pairs[0] != pairs[1]),
            'recovered': bool(best.min() >= 0.9 and pairs[0] != pairs[1])}


@torch.no_grad()
def save_chart(method, codes, polar, dataset, path: Path, lines: int = 10) -> None:
    """Three panels: the latent grid, its image on the manifold over the data, and the codes coloured by angle."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    r = method.prior_radius
    ticks = torch.linspace(-r, r, lines)
    dense = torch.linspace(-r, r, 100)
    fig, axes = plt.subplots(1, 3, figsize=(13, 4.2))
    x = torch.stack([polar[:, 1] * polar[:, 0].cos(), polar[:, 1] * polar[:, 0].sin()], 1)
    axes[1].scatter(x[:, 0], x[:, 1], s=1, c='0.85')
    for axis, cmap in ((0, plt.cm.viridis), (1, plt.cm.plasma)):
        for i, t in enumerate(ticks):
            z = torch.zeros(len(dense), 2)
            z[:, axis], z[:, 1 - axis] = dense, t
            colour = cmap(i / max(lines - 1, 1))
            axes[0].plot(z[:, 0], z[:, 1], color=colour, lw=1)
            full_z = torch.zeros(len(dense), method.latent_dim)
            full_z[:, :2] = z
            y = method.decode(full_z.to(method.log_capacity.device)).cpu()
            axes[1].plot(y[:, 0], y[:, 1], color=colour, lw=1)
    axes[0].set_title('latent grid (z1 lines: viridis, z2 lines: plasma)')
    axes[1].set_title('decoded grid on the manifold')
    axes[2].scatter(codes[:, 0], codes[:, 1], s=2, c=polar[:, 0], cmap='twilight')
    axes[2].set_title('codes E(x), coloured by angle')
    for ax in axes:
        ax.set_aspect('equal')
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def save_bar_plot(values, path: Path) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(max(3, 0.5 * len(values) + 1.5), 3))
    ax.bar(range(len(values)), values)
    ax.set_xlabel('latent')
    ax.set_ylabel('mean predicted singular value')
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


@torch.no_grad()
def traversal_grid(method, dataset, generator: torch.Generator, steps: int = 10) -> torch.Tensor:
    """One row per latent: the real image, its reconstruction, and z_j set to linspace(-r, r, steps)."""
    index = torch.randint(len(dataset), (1,), generator=generator)
    x = dataset.batch(index)['x'].to(method.log_capacity.device)
    code = method.represent(x)
    recon = method.decode(code)
    rows = []
    for j in range(method.latent_dim):
        codes = code.repeat(steps, 1)
        codes[:, j] = torch.linspace(-method.prior_radius, method.prior_radius, steps)
        rows.append(torch.cat([x, recon, method.decode(codes)]))
    return make_grid(torch.cat(rows), nrow=steps + 2)

