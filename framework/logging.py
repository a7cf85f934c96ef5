"""What a run records as it goes: TensorBoard scalars and images, ``scalars.csv``, image grids and plots.

Only rank 0 writes. Image data gets grids (reconstructions, latent traversals, samples) as PNGs in
``images/``; vector data gets plots instead (each latent against each factor). Every run gets its loss curves.

``scalars.csv`` is the plain-text twin of the TensorBoard scalars, one row per value
(``step,wall_time,tag,value``; ``wall_time`` in seconds since the epoch), appended and flushed as training
goes, so it survives a crash. In pandas: ``pd.read_csv(f).pivot_table(index='step', columns='tag',
values='value')``.
"""
from __future__ import annotations

import csv
import io
import math
import time
from pathlib import Path

import numpy as np
import torch

from .hybrid import hybrid_codes


SCALARS_FILE = 'scalars.csv'
CSV_HEADER = ('step', 'wall_time', 'tag', 'value')


class RunLogger:
    """TensorBoard events and ``scalars.csv`` in the run directory; a no-op on ranks other than 0.

    ``start_step`` is the step training starts (or resumes) from: anything a previous attempt logged after it
    is dropped from both (TensorBoard's ``purge_step``, and a rewrite of the CSV), so a resumed run has one
    value per tag and step.
    """

    def __init__(self, run_dir: Path | None, enabled: bool = True, start_step: int = 0):
        self.writer, self.csv = None, None
        if enabled and run_dir is not None:
            from torch.utils.tensorboard import SummaryWriter
            path = Path(run_dir) / SCALARS_FILE
            resumed = path.exists()
            self.writer = SummaryWriter(log_dir=str(run_dir), purge_step=start_step + 1 if resumed else None)
            if resumed:
                _keep_rows_up_to(path, start_step)
            self.csv = open(path, 'a', newline='')
            self._rows = csv.writer(self.csv)
            if not resumed:
                self._rows.writerow(CSV_HEADER)

    def scalars(self, values: dict[str, float], step: int, prefix: str = '') -> None:
        if self.writer is None:
            return
        now = time.time()
        for key, value in values.items():
            self.writer.add_scalar(f'{prefix}{key}', float(value), step, walltime=now)
            self._rows.writerow((step, f'{now:.3f}', f'{prefix}{key}', repr(float(value))))
        self.csv.flush()

    def images(self, grids: dict[str, torch.Tensor], step: int) -> None:
        if self.writer is None:
            return
        for key, grid in grids.items():
            self.writer.add_image(key, grid.clamp(0, 1), step)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.flush()
            self.writer.close()
            self.csv.close()
            self.writer = None


def read_scalars(path: Path) -> dict[str, list[tuple[int, float]]]:
    """``scalars.csv`` as ``{tag: [(step, value), ...]}``; a line cut short by a crash is skipped."""
    series: dict[str, list[tuple[int, float]]] = {}
    for row in _rows(Path(path)):
        series.setdefault(row[2], []).append((int(row[0]), float(row[3])))
    return series


def _rows(path: Path) -> list[list[str]]:
    rows = []
    with open(path, newline='') as handle:
        for row in csv.reader(handle):
            if len(row) != len(CSV_HEADER) or row[0] == CSV_HEADER[0]:
                continue
            try:
                int(row[0]), float(row[3])
            except ValueError:
                continue
            rows.append(row)
    return rows


def _keep_rows_up_to(path: Path, step: int) -> None:
    from .runs import atomic_write_bytes
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_HEADER)
    writer.writerows(row for row in _rows(path) if int(row[0]) <= step)
    text = buffer.getvalue().encode()
    atomic_write_bytes(path, lambda handle: handle.write(text))


class ScalarWindow:
    """Running sums of a step's scalar outputs, kept on the device: adding one never waits for the GPU.

    ``means()`` copies every mean to the CPU in one transfer, so the caller decides how often to sync.
    """

    def __init__(self):
        self.sums: dict[str, torch.Tensor] = {}
        self.count = 0

    def add(self, scalars: dict[str, torch.Tensor]) -> None:
        for key, value in scalars.items():
            value = value.detach().float() if torch.is_tensor(value) else torch.tensor(float(value))
            self.sums[key] = self.sums[key] + value if key in self.sums else value
        self.count += 1

    def means(self) -> dict[str, float]:
        if not self.sums:
            return {}
        values = torch.stack([v.reshape(()) for v in self.sums.values()]).cpu() / self.count
        return dict(zip(self.sums, values.tolist()))

    def reset(self) -> None:
        self.sums, self.count = {}, 0


def make_grid(images: torch.Tensor, nrow: int, padding: int = 2) -> torch.Tensor:
    """(N, C, H, W) -> (C', H', W') grid with ``nrow`` images per row; grey images become RGB."""
    images = images.detach().float().cpu().clamp(0, 1)
    if images.shape[1] == 1:
        images = images.expand(-1, 3, -1, -1)
    n, c, h, w = images.shape
    rows = (n + nrow - 1) // nrow
    grid = torch.ones(c, rows * (h + padding) + padding, nrow * (w + padding) + padding)
    for i in range(n):
        r, col = divmod(i, nrow)
        top, left = padding + r * (h + padding), padding + col * (w + padding)
        grid[:, top:top + h, left:left + w] = images[i]
    return grid


def save_png(grid: torch.Tensor, path: Path, scale: int = 1) -> None:
    """A (C, H, W) grid in [0, 1] as a PNG, each pixel repeated ``scale`` times (small images stay legible)."""
    from PIL import Image
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    array = (grid.clamp(0, 1).permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
    image = Image.fromarray(array)
    if scale > 1:
        image = image.resize((image.width * scale, image.height * scale), Image.NEAREST)
    image.save(path)


@torch.no_grad()
def image_grids(method, dataset, device: torch.device, num: int = 8, steps: int = 9,
                generator: torch.Generator | None = None, hybrid: bool = False) -> dict[str, torch.Tensor]:
    """Grids of what a method does: originals over reconstructions, traversals, prior and hybrid samples."""
    if len(dataset.observation_shape) != 3 or getattr(dataset, 'is_sequence', False):
        return {}
    generator = generator or torch.Generator().manual_seed(0)
    was_training = method.training
    method.eval()
    try:
        indices = torch.randperm(len(dataset), generator=generator)[:num]
        x = dataset.batch(indices)['x'].to(device)
        grids = {}
        if hasattr(method, 'reconstruct'):
            grids['reconstructions'] = make_grid(torch.cat([x, method.reconstruct(x)]), nrow=num)
        if hasattr(method, 'decode'):
            grids['traversals'] = make_grid(latent_traversals(method, x[:1], steps), nrow=steps)
        if hasattr(method, 'sample'):
            grids['prior_samples'] = make_grid(method.sample(num * 2, generator=generator), nrow=num)
        if hybrid and hasattr(method, 'decode'):
            codes = hybrid_codes(method, dataset, num * 2, device, generator=generator)
            grids['hybrid_samples'] = make_grid(method.decode(codes), nrow=num)
        return grids
    finally:
        method.train(was_training)


MAX_TRAVERSED_LATENTS = 32      # rows of a traversal grid: a grid of every latent of a wide code is unreadable anyway


def latent_traversals(method, x: torch.Tensor, steps: int = 9, span: float = 2.0,
                      max_latents: int = MAX_TRAVERSED_LATENTS) -> torch.Tensor:
    """Decode the code of ``x`` with one latent at a time moved over [-span, span], for the first
    ``max_latents`` latents: (min(D, max_latents) * steps, C, H, W)."""
    code = method.represent(x)[0]
    rows = min(code.numel(), max_latents)
    values = torch.linspace(-span, span, steps, device=code.device)
    codes = code.repeat(rows * steps, 1)
    for d in range(rows):
        codes[d * steps:(d + 1) * steps, d] = values
    return method.decode(codes)



# --------------------------------------------------------------------------- plots (matplotlib, Agg)

def save_loss_curves(scalars_csv: Path, path: Path) -> bool:
    """One panel per scalar of ``scalars.csv`` against the step: the ``train/`` curve with the ``val/`` scores
    of the same name as points; False when there is nothing to plot."""
    panels: dict[str, dict[str, list[tuple[int, float]]]] = {}
    for tag, points in read_scalars(scalars_csv).items():
        split, _, name = tag.partition('/')
        if split in ('train', 'val') and name not in ('lr', 'steps_per_s') and not name.startswith('lr_'):
            panels.setdefault(name, {})[split] = sorted(points)
    panels = {name: splits for name, splits in panels.items() if sum(map(len, splits.values())) >= 2}
    if not panels:          # a lone point is no curve (a run of 0 steps), and not worth importing matplotlib for
        return False
    cols = min(3, len(panels))
    rows = math.ceil(len(panels) / cols)
    fig, axes = _figure(rows, cols, (4 * cols, 2.8 * rows))
    for ax, (name, splits) in zip(axes.flat, sorted(panels.items())):
        values = []
        for split, style in (('train', {'linewidth': 1.2}), ('val', {'marker': 'o', 'markersize': 4})):
            if split in splits:
                steps, ys = zip(*splits[split])
                ax.plot(steps, ys, label=split, **style)
                values += ys
        if min(values) > 0 and max(values) > 20 * min(values):
            ax.set_yscale('log')
        ax.set_title(name, fontsize=9)
        ax.set_xlabel('step', fontsize=8)
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=7)
    for ax in list(axes.flat)[len(panels):]:
        ax.axis('off')
    fig.tight_layout()
    _save(fig, path)
    return True


@torch.no_grad()
def save_latent_scatter(method, dataset, device: torch.device, path: Path, num: int = 1000,
                        max_latents: int = 12, max_factors: int = 10) -> bool:
    """Each latent (row) against each ground-truth factor (column) for ``num`` observations; False if the
    dataset has no factors. A disentangled code shows one clear curve per row and noise elsewhere."""
    generator = torch.Generator().manual_seed(0)
    indices = torch.randperm(len(dataset), generator=generator)[:num]
    batch = dataset.batch(indices)
    factors = batch.get('y')
    if factors is None or factors.ndim != 2 or factors.shape[1] == 0:
        return False
    was_training = method.training
    method.eval()
    try:
        codes = method.represent(batch['x'].to(device)).float().cpu()
    finally:
        method.train(was_training)
    codes, factors = codes[:, :max_latents], factors.float()[:, :max_factors]
    names = list(getattr(dataset, 'factor_names', None) or [f'factor {i}' for i in range(factors.shape[1])])
    rows, cols = codes.shape[1], factors.shape[1]
    correlation = np.corrcoef(codes.T.numpy(), factors.T.numpy())[:rows, rows:]
    fig, axes = _figure(rows, cols, (1.6 * cols + 0.6, 1.2 * rows + 0.6))
    for i in range(rows):
        for j in range(cols):
            ax = axes[i, j]
            ax.scatter(factors[:, j], codes[:, i], s=1, alpha=0.4, rasterized=True)
            ax.set_xticks([]), ax.set_yticks([])
            ax.text(0.03, 0.97, f'r={correlation[i, j]:+.2f}', transform=ax.transAxes, fontsize=6, va='top')
            if i == rows - 1:
                ax.set_xlabel(str(names[j]) if j < len(names) else f'factor {j}', fontsize=7)
            if j == 0:
                ax.set_ylabel(f'latent {i}', fontsize=7)
    fig.suptitle('latents (rows) against ground-truth factors (columns); r: Pearson correlation', fontsize=9)
    fig.tight_layout()
    _save(fig, path)
    return True


def _figure(rows: int, cols: int, size: tuple[float, float]):
    """A matplotlib figure that never touches pyplot's global state or the user's backend (Agg canvas)."""
    from matplotlib.figure import Figure
    fig = Figure(figsize=size)
    return fig, fig.subplots(rows, cols, squeeze=False)


def _save(fig, path: Path) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80)
