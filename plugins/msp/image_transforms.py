"""Image transformations of the transformation sequences: similarity warps, hue changes, backgrounds.

Conventions: angles turn images counter-clockwise on screen (as ``torch.rot90`` with positive ``k``);
translations are in pixels, x to the right and y down; hues are in cycles.
"""
from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F

from framework.data.colour import hsv_to_rgb, shift_hue
from framework.data.paths import REPO_ROOT
from framework.errors import DataError


def warp(images: torch.Tensor, angle: torch.Tensor, translation: torch.Tensor) -> torch.Tensor:
    """Rotate images (N, C, H, W) counter-clockwise on screen by ``angle`` (N,) radians about their centre,
    then shift them by ``translation`` (N, 2) pixels (x right, y down); bilinear, zeros outside."""
    N, _, H, W = images.shape
    cos, sin = torch.cos(angle), torch.sin(angle)
    tx, ty = translation[:, 0] * 2 / W, translation[:, 1] * 2 / H
    # output pixel q samples the input at R(angle)^T (q - t), in y-down normalised coordinates
    theta = torch.stack([torch.stack([cos, -sin, -(cos * tx - sin * ty)], -1),
                         torch.stack([sin, cos, -(sin * tx + cos * ty)], -1)], 1)
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    return F.grid_sample(images, grid, mode='bilinear', padding_mode='zeros', align_corners=False)


def colourise(frames: torch.Tensor, hue: torch.Tensor) -> torch.Tensor:
    """Grey frames become grey x HSV(hue, 1, 1); RGB frames have their hue rotated by ``hue``."""
    if frames.shape[1] == 1:
        return frames * hsv_to_rgb(hue)[:, :, None, None]
    return shift_hue(frames, hue[:, None, None], dim=1)


def over_background(frames: torch.Tensor, background: torch.Tensor) -> torch.Tensor:
    """MSP's composition: where a frame's RGB sum is below 0.3, frame + background (clipped at 1)."""
    dark = frames.sum(2, keepdim=True) < 0.3
    return torch.where(dark, (frames + background[:, None]).clamp(max=1.0), frames)


def prepare(images: torch.Tensor, resize: int, pad: int) -> torch.Tensor:
    if resize and images.shape[-1] != resize:
        images = F.interpolate(images, size=(resize, resize), mode='bilinear', antialias=True, align_corners=False)
    return F.pad(images, (pad, pad, pad, pad)) if pad else images


def load_background(background: str, shape: tuple[int, int, int]):
    """'' (none), 'procedural' (seeded smooth colour fields), or a file of images (N, C, H, W) in [0, 1]."""
    if not background:
        return None
    if background == 'procedural':
        return 'procedural'
    path = Path(background) if Path(background).is_absolute() else REPO_ROOT / background
    if not path.is_file():
        raise DataError(f"transform-seq: background file {path} not found; give a .pt or .npy file of "
                        f"(N, {shape[0]}, {shape[1]}, {shape[2]}) images, or `background: procedural`.")
    if path.suffix == '.npy':
        import numpy as np
        images = torch.from_numpy(np.load(path, allow_pickle=False))
    else:
        images = torch.as_tensor(torch.load(path, map_location='cpu', weights_only=True))
    images = images.float() / 255 if images.dtype == torch.uint8 else images.float()
    if images.dim() != 4 or tuple(images.shape[1:]) != tuple(shape):
        raise DataError(f'transform-seq: background file {path} holds shape {tuple(images.shape)}; expected '
                        f'(N, {shape[0]}, {shape[1]}, {shape[2]}).')
    return images
