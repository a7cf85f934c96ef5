"""HSV colour in batched torch: hues for the 3DShapes-like scenes and the hue change of transformation sequences."""
from __future__ import annotations

import torch


def hsv_to_rgb(hue: torch.Tensor, saturation: torch.Tensor | float = 1.0,
               value: torch.Tensor | float = 1.0) -> torch.Tensor:
    """HSV (each ``(...)``, hue in cycles, wrapped mod 1) -> RGB ``(..., 3)`` in [0, 1] (as ``colorsys``)."""
    hue = torch.as_tensor(hue, dtype=torch.float32)
    saturation = torch.as_tensor(saturation, dtype=torch.float32).expand_as(hue)
    value = torch.as_tensor(value, dtype=torch.float32).expand_as(hue)
    k = (torch.tensor([5.0, 3.0, 1.0]) + hue.remainder(1.0)[..., None] * 6).remainder(6)
    ramp = torch.minimum(k, 4 - k).clamp(0, 1)
    return value[..., None] * (1 - saturation[..., None] * ramp)


def rgb_to_hsv(rgb: torch.Tensor, dim: int = -3) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """RGB with channels on ``dim`` -> (hue in [0, 1), saturation, value), each without that dimension."""
    r, g, b = rgb.unbind(dim)
    value, _ = rgb.max(dim)
    minimum, _ = rgb.min(dim)
    delta = value - minimum
    safe = torch.where(delta > 0, delta, torch.ones_like(delta))
    hue = torch.where(value == r, (g - b) / safe,
                      torch.where(value == g, 2 + (b - r) / safe, 4 + (r - g) / safe))
    hue = torch.where(delta > 0, hue / 6, torch.zeros_like(hue)).remainder(1.0)
    saturation = torch.where(value > 0, delta / torch.where(value > 0, value, torch.ones_like(value)),
                             torch.zeros_like(value))
    return hue, saturation, value


def shift_hue(rgb: torch.Tensor, shift: torch.Tensor, dim: int = -3) -> torch.Tensor:
    """Rotate the hue of RGB images (channels on ``dim``) by ``shift`` cycles (broadcast over the rest)."""
    hue, saturation, value = rgb_to_hsv(rgb, dim)
    shifted = hsv_to_rgb(hue + shift, saturation, value)
    return shifted.movedim(-1, dim)
