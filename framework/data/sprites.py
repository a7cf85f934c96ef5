"""``sprites``: dSprites' factor grid rendered on the fly, batched in torch (no file, no download).

Same factors, sizes, values and flat index as the published file: color 1, shape 3 (square, ellipse, heart),
scale 6 (0.5..1), orientation 40 (0..2 pi), posX 32 and posY 32 (0..1), posY fastest; the constant colour is
dropped by default as in ``dsprites``. Images are binary 1x64x64, hard-edged, a pure function of the index.

Geometry (measured on real dSprites frames): the shape's centroid sits at
column 15.9 + 31.5 posX and row 15.4 + 31.7 posY (row 0 at the top); at scale 1 the square has side 19.2
px, the ellipse axes 26 x 14 px (long axis horizontal at orientation 0), the heart is the classic implicit
curve (x^2 + y^2 - 1)^3 = x^2 y^3 with lobes up and tip down, about 18 px wide; orientation turns the shape
counter-clockwise on screen about its centroid; a pixel is on when its centre is inside the shape.

Differences from the published images: DeepMind never released their renderer, so outlines differ by a
pixel or so along edges (squares and ellipses overlap the real sprites well; the heart's outline is a
generic one and differs most); the square and ellipse here are exactly symmetric, so orientations that are
equivalent (square every pi/2, ellipse every pi) give identical images, as they nearly do in dSprites.
Scores on ``sprites`` are not published dSprites numbers.
"""
from __future__ import annotations

import math

import torch

from ..registry import register
from .base import GroundTruthDataset
from .dsprites import FACTOR_NAMES, FACTOR_SIZES, FACTOR_VALUES

SQUARE_HALF_SIDE = 9.6
ELLIPSE_AXES = (13.0, 7.0)
HEART_SCALE = 8.0              # pixels per unit of the implicit heart at scale 1
HEART_CENTROID_Y = 0.2935      # the implicit heart's area centroid (it is symmetric in x)
CENTRE_COLUMN = (15.9, 31.5)   # offset, slope in posX, in pixels of a 64-pixel image
CENTRE_ROW = (15.4, 31.7)
REACH = 14.0                   # no shape reaches further from its centroid (pixels at scale 1)


@register.dataset('sprites')
class Sprites(GroundTruthDataset):
    """Procedural dSprites: the published factor grid drawn on the fly (binary 64x64, no download)."""
    name = 'sprites'
    metric_suite = 'dsprites'      # scored as the dSprites it imitates (config/eval/dsprites.yaml)
    observation_shape = (1, 64, 64)

    def __init__(self, keep_color: bool = False, size: int = 64):
        keep = slice(0, None) if keep_color else slice(1, None)
        self.factor_names = FACTOR_NAMES[keep]
        self.factor_sizes = FACTOR_SIZES[keep]
        self.factor_values_grid = FACTOR_VALUES[keep]
        self.size = size
        self.observation_shape = (1, size, size)
        self._offset = 0 if keep_color else 1
        self._values = [torch.tensor(v, dtype=torch.float32) for v in FACTOR_VALUES]

    def __len__(self) -> int:
        return math.prod(self.factor_sizes)

    def batch(self, indices: torch.Tensor) -> dict[str, torch.Tensor]:
        indices = torch.as_tensor(indices, dtype=torch.long).reshape(-1)
        factors = self.indices_to_factors(indices)
        full = factors if self._offset == 0 else torch.cat([torch.zeros_like(factors[:, :1]), factors], 1)
        _, shape, scale, orientation, pos_x, pos_y = (self._values[i][full[:, i]] for i in range(6))
        x = render_sprites(full[:, 1], scale, orientation, pos_x, pos_y, self.size)
        return {'x': x, 'y': factors}


def render_sprites(shape: torch.Tensor, scale: torch.Tensor, orientation: torch.Tensor, pos_x: torch.Tensor,
                   pos_y: torch.Tensor, size: int = 64) -> torch.Tensor:
    """Binary sprites ``(B, 1, size, size)`` from shape classes (0 square, 1 ellipse, 2 heart) and values.

    Every sprite fits in a disc of radius ``REACH`` pixels (at 64 px, scale 1) about its centroid, so only a
    window around it is tested and then pasted into the blank image: about a quarter of the pixels.
    """
    unit = size / 64.0
    half = min(math.ceil(REACH * unit) + 1, (size - 1) // 2)
    window = 2 * half + 1
    centre_col = (CENTRE_COLUMN[0] + CENTRE_COLUMN[1] * pos_x.float()) * unit
    centre_row = (CENTRE_ROW[0] + CENTRE_ROW[1] * pos_y.float()) * unit
    left = (centre_col.floor().long() - half).clamp(0, size - window)
    top = (centre_row.floor().long() - half).clamp(0, size - window)
    offsets = torch.arange(window)
    right = (left[:, None] + offsets).float()[:, None, :] - centre_col[:, None, None]       # (B, 1, w), x right
    up = centre_row[:, None, None] - (top[:, None] + offsets).float()[:, :, None]           # (B, w, 1), y up
    cos, sin = torch.cos(orientation.float())[:, None, None], torch.sin(orientation.float())[:, None, None]
    pixels_per_unit = (scale.float() * unit)[:, None, None]
    a = (cos * right + sin * up) / pixels_per_unit                      # the shape's own frame (rotated back)
    b = (cos * up - sin * right) / pixels_per_unit
    inside = torch.empty(shape.shape[0], window, window, dtype=torch.bool)
    for kind, test in enumerate((_square, _ellipse, _heart)):
        rows = (shape == kind).nonzero().squeeze(1)
        if len(rows):
            inside[rows] = test(a[rows], b[rows])
    flat = ((top[:, None, None] + offsets[:, None]) * size + left[:, None, None] + offsets).reshape(len(shape), -1)
    out = torch.zeros(len(shape), size * size)
    out.scatter_(1, flat, inside.reshape(len(shape), -1).float())
    return out.reshape(-1, 1, size, size)


def _square(a, b):
    return torch.maximum(a.abs(), b.abs()) <= SQUARE_HALF_SIDE


def _ellipse(a, b):
    return (a / ELLIPSE_AXES[0]) ** 2 + (b / ELLIPSE_AXES[1]) ** 2 <= 1


def _heart(a, b):
    x, y = a / HEART_SCALE, b / HEART_SCALE + HEART_CENTROID_Y
    return (x * x + y * y - 1) ** 3 - x * x * y ** 3 <= 0
