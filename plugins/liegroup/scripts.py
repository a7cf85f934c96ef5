"""``fig liegroup-basis --load RUN``: pictures and numbers of a trained run's Lie algebra basis.

Writes ``images/basis.png`` (each A_i as a heatmap, red positive, blue negative, one shared scale),
``images/lie_traversals.png`` (the released code's traversal: each latent replaced by 20 values in [-4, 4]) and ``results/liegroup_basis.json`` (‖A_i‖, the Hessian products ‖A_j A_i‖ and commutators
‖[A_i, A_j]‖ per subgroup, which show how far the learned basis is from commuting).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from framework import register
from framework.errors import ConfigError
from framework import load_run
from framework.settings import settings_from

from . import ops


@dataclass
class BasisSettings:
    """``fig liegroup-basis`` settings (top-level keys)."""
    pixels_per_entry: int = 8        # each matrix entry becomes a square of this many pixels in basis.png
    traversal_span: float = 4.0      # latents are traversed over [-span, span], as the released code does
    traversal_steps: int = 20        # values per traversed latent


@register.script('liegroup-basis', settings=BasisSettings)
def liegroup_basis(cfg):
    """Heatmaps of the learned Lie algebra basis A_i, ±4 traversals, product/commutator norms of a run."""
    from framework.logging import make_grid, save_png
    from framework.runs import write_json_atomic

    settings = settings_from(cfg, BasisSettings)
    run = load_run(cfg)
    dataset = run.dataset('val')
    method = run.method
    if not hasattr(method.decoder, 'basis'):
        raise ConfigError(f'{run.run_dir} was not trained with a/liegroup m/liegroup: its decoder has no Lie basis.')
    images = run.run_dir / 'images'
    images.mkdir(parents=True, exist_ok=True)
    blocks = [a.detach().cpu() for a in method.decoder.basis]
    save_png(basis_heatmaps(blocks, settings.pixels_per_entry), images / 'basis.png')

    span, steps = settings.traversal_span, settings.traversal_steps
    with torch.no_grad():
        x = dataset.batch(torch.arange(1))['x'].to(run.device)
        if len(dataset.observation_shape) == 3:
            code = method.represent(x)[0]
            values = torch.linspace(-span, span, steps, device=code.device)
            codes = code.repeat(code.numel() * steps, 1)
            for d in range(code.numel()):
                codes[d * steps:(d + 1) * steps, d] = values
            save_png(make_grid(method.decode(codes), nrow=steps), images / 'lie_traversals.png')

    summary = {'subgroups': [basis_summary(a) for a in blocks], 'step': run.step}
    write_json_atomic(run.run_dir / 'results' / 'liegroup_basis.json', summary)
    print(f'wrote {images / "basis.png"} and {run.run_dir / "results" / "liegroup_basis.json"}')
    return summary


def basis_heatmaps(blocks: list[torch.Tensor], pixels_per_entry: int = 8, padding: int = 2) -> torch.Tensor:
    """(3, H, W) image: one row per subgroup, one heatmap per generator A_i (m×m entries, enlarged)."""
    largest = max(float(a.abs().max()) for a in blocks) or 1.0
    rows = []
    for block in blocks:
        tiles = [diverging(a / largest).repeat_interleave(pixels_per_entry, 1).repeat_interleave(pixels_per_entry, 2)
                 for a in block]
        rows.append(tiles)
    side = max(t.shape[-1] for r in rows for t in r)
    width = max(len(r) for r in rows) * (side + padding) + padding
    canvas = torch.ones(3, len(rows) * (side + padding) + padding, width)
    for i, tiles in enumerate(rows):
        for j, tile in enumerate(tiles):
            top, left = padding + i * (side + padding), padding + j * (side + padding)
            canvas[:, top:top + tile.shape[1], left:left + tile.shape[2]] = tile
    return canvas


def diverging(values: torch.Tensor) -> torch.Tensor:
    """Values in [-1, 1] (m, n) -> RGB (3, m, n): white at 0, red at +1, blue at -1."""
    v = values.clamp(-1, 1)
    positive, negative = v.clamp(min=0), (-v).clamp(min=0)
    red = 1 - negative
    green = 1 - positive - negative
    blue = 1 - positive
    return torch.stack([red, green, blue])


def basis_summary(basis: torch.Tensor) -> dict:
    """Norms of one subgroup's generators, their products A_j A_i and commutators (as nested lists)."""
    products = ops.pairwise_products(basis)                 # [a, b] = A_b A_a
    commutators = products.transpose(0, 1) - products
    return {'generator_norms': basis.flatten(1).norm(dim=1).tolist(),
            'product_norms': products.flatten(2).norm(dim=2).tolist(),
            'commutator_norms': commutators.flatten(2).norm(dim=2).tolist(),
            'hessian_penalty': float(ops.hessian_penalty(basis)),
            'commutator_penalty': float(ops.commutator_penalty(basis, 'bracket'))}
