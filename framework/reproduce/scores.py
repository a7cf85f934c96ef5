"""Our numbers: each run's scores read from its ``results/<file>.json`` at a dotted path, then mean, std and n
per row; and the verdict of each claim, judged from ours and from the paper's numbers alike.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .experiment import Claim, Experiment, Score


@dataclass
class Stat:
    mean: float
    std: float          # sample standard deviation (ddof 1); nan for one run
    n: int

    @classmethod
    def of(cls, values: list[float]) -> 'Stat':
        array = np.asarray(values, dtype=np.float64)
        return cls(float(array.mean()) if array.size else math.nan,
                   float(array.std(ddof=1)) if array.size > 1 else math.nan, int(array.size))


def read_score(run_dir: Path, score: Score) -> float | None:
    """The score of one run, or None where its results file or the path in it is missing."""
    path = Path(run_dir) / 'results' / f'{score.file}.json'
    try:
        value = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None
    for part in score.path.split('.'):
        if isinstance(value, list) and part.lstrip('-').isdigit() and -len(value) <= int(part) < len(value):
            value = value[int(part)]
        elif isinstance(value, dict) and part in value:
            value = value[part]
        else:
            return None
    if isinstance(value, bool):
        return float(value)
    return float(value) if isinstance(value, (int, float)) and math.isfinite(value) else None


def row_stats(experiment: Experiment, runs_by_row: dict[str, list[Path]]) -> dict[str, dict[str, Stat]]:
    """{row: {score: Stat}} over the runs of each row that have the score."""
    out = {}
    for row in experiment.rows:
        dirs = runs_by_row.get(row.key, [])
        out[row.key] = {}
        for score in experiment.scores:
            values = [v for v in (_run_score(d, score, experiment) for d in dirs) if v is not None]
            out[row.key][score.key] = Stat.of(values)
    return out


def _run_score(run_dir: Path, score: Score, experiment: Experiment) -> float | None:
    """A read score, or a ratio of two read scores of the same run (None where either is missing or 0 below)."""
    if not score.ratio:
        return read_score(run_dir, score)
    top, bottom = (read_score(run_dir, experiment.score(key)) for key in score.ratio)
    return None if top is None or not bottom else top / bottom


def paper_stats(experiment: Experiment) -> dict[str, dict[str, Stat]]:
    """The paper's single values as Stats (ranges are not a row's value), for judging claims on them."""
    out: dict[str, dict[str, Stat]] = {r.key: {} for r in experiment.rows}
    for row in experiment.rows:
        for score in experiment.scores:
            p = experiment.published_for(row.key, score.key)
            if p is not None and p.row is not None and p.value is not None:
                out[row.key][score.key] = Stat(p.value, math.nan if p.std is None else p.std, p.n or 1)
    return out


def verdict(claim: Claim, experiment: Experiment, stats: dict[str, dict[str, Stat]]) -> str:
    """``holds``, ``holds (within noise)``, ``fails`` or ``not measured (...)`` for one claim on one set of numbers."""
    score = experiment.score(claim.score)
    named = claim.order or claim.bound.get('rows', []) or claim.within_noise
    missing = [r for r in named if stats.get(r, {}).get(score.key, Stat(math.nan, math.nan, 0)).n == 0]
    if missing:
        return f'not measured ({", ".join(missing)} without {score.key})'
    got = {r: stats[r][score.key] for r in named}
    if claim.order:
        sign = 1 if score.better == 'higher' else -1
        ordered = all(sign * (got[a].mean - got[b].mean) > 0 for a, b in zip(claim.order, claim.order[1:]))
        if not ordered:
            return 'fails'
        close = any(abs(got[a].mean - got[b].mean) <= _noise(got[a], got[b])
                    for a, b in zip(claim.order, claim.order[1:]))
        return 'holds (within noise)' if close else 'holds'
    if claim.bound:
        low, high = claim.bound.get('min', -math.inf), claim.bound.get('max', math.inf)
        return 'holds' if all(low <= got[r].mean <= high for r in named) else 'fails'
    means = [got[r].mean for r in named]
    stds = [got[r].std for r in named if not math.isnan(got[r].std)]
    if not stds:
        return 'not measured (one seed: no spread to compare with)'
    return 'holds' if max(means) - min(means) <= max(stds) else 'fails'


def _noise(a: Stat, b: Stat) -> float:
    """The larger of the two standard deviations (0 where neither is known)."""
    stds = [s.std for s in (a, b) if not math.isnan(s.std)]
    return max(stds) if stds else 0.0
