"""``shapes3d-synth``: a 3DShapes-like scene on 3DShapes' factor grid, ray cast in batched torch (no file).

Factors, sizes and values are 3DShapes' own, in its order (orientation fastest): floor_hue 10, wall_hue 10,
object_hue 10 (0..0.9), scale 8 (0.75..1.25), shape 4 (cube, cylinder, sphere, capsule), orientation 15
(-30..30 degrees of camera azimuth about the object). The scene is a floor, a back wall and two side walls
(all walls share the wall hue) and one object standing on the floor at the centre, lit by one directional
light with cast shadows; colours are HSV(hue, 1, 1) times the shading.

The geometry depends only on (scale, shape, orientation), 480 combinations, so each is ray cast once, the
first time a batch needs it (2x2 supersampled, i.e. antialiased), into per-region coverage-times-shading
maps; an image is then those three maps times the three RGB colours of its hues, which makes a batch a
gather and one product.

This is a stand-in, not 3DShapes: DeepMind's renderer is unpublished; camera, proportions, lighting and
the capsule's pose (lying along the x axis here) are this module's choices. Never compare its scores with
published 3DShapes numbers.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ..registry import register
from .base import GroundTruthDataset
from .colour import hsv_to_rgb
from .shapes3d import FACTOR_NAMES, FACTOR_SIZES

HUES = tuple(i / 10 for i in range(10))
SCALES = tuple(torch.linspace(0.75, 1.25, 8).tolist())
ORIENTATIONS = tuple(torch.linspace(-30.0, 30.0, 15).tolist())
FACTOR_VALUES = (HUES, HUES, HUES, SCALES, (0.0, 1.0, 2.0, 3.0), ORIENTATIONS)

CAMERA_DISTANCE, CAMERA_HEIGHT, TARGET_HEIGHT, FIELD_OF_VIEW = 3.6, 1.7, 0.45, 44.0
BACK_WALL_Z, SIDE_WALL_X = -2.2, 2.6
LIGHT = (-0.45, 1.0, 0.75)
AMBIENT, DIFFUSE = 0.45, 0.55


@register.dataset('shapes3d-synth')
class Shapes3DSynth(GroundTruthDataset):
    """3DShapes-like scenes on 3DShapes' factor grid, rendered on the fly (64x64 RGB, no download)."""
    name = 'shapes3d-synth'
    metric_suite = '3ds'           # scored as the 3D Shapes it imitates (config/eval/3ds.yaml)
    factor_names = FACTOR_NAMES
    factor_sizes = FACTOR_SIZES
    factor_values_grid = FACTOR_VALUES
    walk_factors = ('floor_hue', 'wall_hue', 'object_hue', 'scale', 'orientation')

    def __init__(self, size: int = 64):
        self.size = size
        self.observation_shape = (3, size, size)
        self._hues = torch.tensor(HUES)

    def __len__(self) -> int:
        return math.prod(FACTOR_SIZES)

    def precompute(self) -> None:
        """Ray cast all 480 geometries now (about a second) instead of on first use."""
        region_maps(torch.arange(8 * 4 * 15), self.size)

    def batch(self, indices: torch.Tensor) -> dict[str, torch.Tensor]:
        factors = self.indices_to_factors(torch.as_tensor(indices, dtype=torch.long).reshape(-1))
        geometry = (factors[:, 3] * 4 + factors[:, 4]) * 15 + factors[:, 5]
        weights = region_maps(geometry, self.size)                                 # (B, 3, H, W)
        colours = hsv_to_rgb(self._hues[factors[:, :3]])                            # (B, 3 regions, 3)
        x = torch.einsum('brhw,brc->bchw', weights, colours)
        return {'x': x, 'y': factors}


class _RegionMaps:
    """Coverage x shading of floor, walls and object per (scale, shape, orientation), ray cast on first use.

    ``get(ids)`` returns ``(B, 3, H, W)`` for geometry ids ``(scale * 4 + shape) * 15 + orientation``; each of
    the 480 geometries is computed once per process, the first time a batch needs it.
    """

    def __init__(self, size: int):
        self.size = size
        self.maps = torch.zeros(8 * 4 * 15, 3, size, size)
        self.done = torch.zeros(8 * 4 * 15, dtype=torch.bool)
        self.origins, self.directions = camera_rays(2 * size)

    def get(self, ids: torch.Tensor) -> torch.Tensor:
        missing = torch.unique(ids[~self.done[ids]])
        shape = (missing // 15) % 4
        for kind in torch.unique(shape).tolist():               # ray cast per primitive, 16 views at a time
            for part in missing[shape == kind].split(16):
                scales = torch.tensor(SCALES)[part // 60][:, None]
                views = part % 15
                self.maps[part] = F.avg_pool2d(_shade(self.origins[views], self.directions[views], kind, scales), 2)
                self.done[part] = True
        return self.maps.index_select(0, ids)


_CACHE: dict[int, _RegionMaps] = {}


def region_maps(ids: torch.Tensor, size: int = 64) -> torch.Tensor:
    """Per-region coverage x shading maps ``(B, 3, size, size)`` for geometry ids (see ``_RegionMaps``)."""
    if size not in _CACHE:
        _CACHE[size] = _RegionMaps(size)
    return _CACHE[size].get(torch.as_tensor(ids, dtype=torch.long))


def camera_rays(size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Ray origins (15, 1, 3) and unit directions (15, size*size, 3) for the 15 camera azimuths."""
    azimuth = torch.deg2rad(torch.tensor(ORIENTATIONS))
    origin = torch.stack([CAMERA_DISTANCE * torch.sin(azimuth), torch.full_like(azimuth, CAMERA_HEIGHT),
                          CAMERA_DISTANCE * torch.cos(azimuth)], -1)
    forward = F.normalize(torch.tensor([0.0, TARGET_HEIGHT, 0.0]) - origin, dim=-1)
    right = F.normalize(torch.linalg.cross(forward, torch.tensor([0.0, 1.0, 0.0]).expand_as(forward)), dim=-1)
    up = torch.linalg.cross(right, forward)
    half = math.tan(math.radians(FIELD_OF_VIEW / 2))
    steps = ((torch.arange(size) + 0.5) / size * 2 - 1) * half
    screen_y, screen_x = torch.meshgrid(-steps, steps, indexing='ij')
    directions = (forward[:, None, :] + screen_x.reshape(1, -1, 1) * right[:, None, :]
                  + screen_y.reshape(1, -1, 1) * up[:, None, :])
    return origin[:, None, :], F.normalize(directions, dim=-1)


def _shade(origins, directions, shape: int, scale: torch.Tensor) -> torch.Tensor:
    """Per-region coverage x shading (G, 3, side, side) of G views: origins (G, 1, 3), directions (G, N, 3),
    object scales (G, 1)."""
    light = F.normalize(torch.tensor(LIGHT), dim=0)
    origins = origins.expand_as(directions)
    t_room, room_normal, is_floor = _room_hit(origins, directions)
    t_object, object_normal = object_hit(origins, directions, shape, scale)
    on_object = t_object < t_room
    lit = AMBIENT + DIFFUSE * (room_normal @ light).clamp_min(0)
    points = origins + t_room[..., None] * directions + 1e-4 * room_normal
    shadow_t, _ = object_hit(points, light.expand_as(points), shape, scale)
    lit = torch.where(torch.isfinite(shadow_t), torch.full_like(lit, AMBIENT), lit)
    object_lit = AMBIENT + DIFFUSE * (object_normal @ light).clamp_min(0)
    floor = torch.where(~on_object & is_floor, lit, 0.0)
    wall = torch.where(~on_object & ~is_floor, lit, 0.0)
    thing = torch.where(on_object, object_lit, 0.0)
    side = int(round(math.sqrt(directions.shape[1])))
    return torch.stack([floor, wall, thing], 1).reshape(-1, 3, side, side)


def _room_hit(origins, directions):
    """Nearest hit with the room's floor (y = 0), back wall and side walls, seen from inside."""
    planes = [(1, 0.0, (0.0, 1.0, 0.0)), (2, BACK_WALL_Z, (0.0, 0.0, 1.0)),
              (0, -SIDE_WALL_X, (1.0, 0.0, 0.0)), (0, SIDE_WALL_X, (-1.0, 0.0, 0.0))]
    ts = []
    for axis, offset, _ in planes:
        d = directions[..., axis]
        t = (offset - origins[..., axis]) / torch.where(d.abs() > 1e-9, d, torch.full_like(d, 1e-9))
        ts.append(torch.where(t > 1e-6, t, torch.full_like(t, math.inf)))
    t, which = torch.stack(ts, -1).min(-1)
    normals = torch.tensor([n for _, _, n in planes])
    return t, normals[which], which == 0


def object_hit(origins, directions, shape: int, scale: torch.Tensor):
    """Distance (inf on a miss) and unit normal of the first hit of rays (G, N, 3) with the object of
    ``shape`` at ``scale`` (G, 1), standing on the floor at the origin."""
    zero = torch.zeros_like(scale)
    if shape == 0:                                              # cube
        half = 0.42 * scale
        return _box(origins, directions, torch.stack([-half, zero, -half], -1), torch.stack([half, 2 * half, half], -1))
    if shape == 1:                                              # upright cylinder with a top cap
        radius, height = 0.42 * scale, 0.84 * scale
        return _nearest(_cylinder(origins, directions, 1, torch.stack([zero, zero, zero], -1), radius, zero, height),
                        _disc(origins, directions, height, radius))
    if shape == 2:                                              # sphere resting on the floor
        radius = 0.45 * scale
        return _sphere(origins, directions, torch.stack([zero, radius, zero], -1), radius)
    radius, half_length = 0.3 * scale, 0.38 * scale             # capsule lying along x
    return _nearest(_cylinder(origins, directions, 0, torch.stack([zero, radius, zero], -1), radius,
                              -half_length, half_length),
                    _sphere(origins, directions, torch.stack([-half_length, radius, zero], -1), radius),
                    _sphere(origins, directions, torch.stack([half_length, radius, zero], -1), radius))


def _nearest(*hits):
    ts = torch.stack([t for t, _ in hits], -1)
    t, which = ts.min(-1)
    normals = torch.stack([n for _, n in hits], -2)
    return t, normals.gather(-2, which[..., None, None].expand(*which.shape, 1, 3)).squeeze(-2)


def _safe(d):
    return torch.where(d.abs() > 1e-9, d, torch.full_like(d, 1e-9))


def _box(o, d, low, high):
    """Axis-aligned box between corners ``low`` and ``high`` (G, 1, 3): slab intersection."""
    t1, t2 = (low - o) / _safe(d), (high - o) / _safe(d)
    near, axis = torch.minimum(t1, t2).max(-1)
    far = torch.maximum(t1, t2).min(-1).values
    hit = (near <= far) & (near > 1e-6)
    normal = -torch.sign(d) * F.one_hot(axis, 3).float()
    return torch.where(hit, near, math.inf), normal


def _sphere(o, d, centre, radius):
    """Sphere of ``centre`` (G, 1, 3) and ``radius`` (G, 1)."""
    oc = o - centre
    b = (oc * d).sum(-1)
    disc = b * b - ((oc * oc).sum(-1) - radius ** 2)
    t = -b - torch.sqrt(disc.clamp_min(0))
    hit = (disc >= 0) & (t > 1e-6)
    normal = (oc + t[..., None] * d) / radius[..., None]
    return torch.where(hit, t, math.inf), normal


def _cylinder(o, d, axis: int, centre, radius, low, high):
    """The side of a cylinder of ``radius`` (G, 1) along ``axis`` through ``centre`` (G, 1, 3), between
    ``low`` and ``high`` (G, 1) along the axis."""
    others = [i for i in range(3) if i != axis]
    oc = o - centre
    a = d[..., others[0]] ** 2 + d[..., others[1]] ** 2
    b = 2 * (oc[..., others[0]] * d[..., others[0]] + oc[..., others[1]] * d[..., others[1]])
    c = oc[..., others[0]] ** 2 + oc[..., others[1]] ** 2 - radius ** 2
    disc = b * b - 4 * a * c
    t = (-b - torch.sqrt(disc.clamp_min(0))) / (2 * a.clamp_min(1e-12))
    along = oc[..., axis] + t * d[..., axis]
    hit = (disc >= 0) & (t > 1e-6) & (along >= low) & (along <= high)
    normal = oc + t[..., None] * d
    normal[..., axis] = 0
    return torch.where(hit, t, math.inf), normal / radius[..., None]


def _disc(o, d, height, radius):
    """The horizontal disc at ``height`` (G, 1) of ``radius`` (G, 1) about the vertical axis."""
    t = (height - o[..., 1]) / _safe(d[..., 1])
    point = o + t[..., None] * d
    hit = (t > 1e-6) & (point[..., 0] ** 2 + point[..., 2] ** 2 <= radius ** 2)
    return torch.where(hit, t, math.inf), torch.tensor([0.0, 1.0, 0.0]).expand_as(o)
