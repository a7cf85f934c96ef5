"""The plots researchers draw from a sweep (PNG, matplotlib's Agg backend, no display needed).

- ``plot_against``: a score against one hyperparameter, one line per setting of the other varying keys
  (e.g. one line per method), with the seeds' standard deviation as error bars;
- ``plot_bars``: one bar per configuration (e.g. per method), mean with the standard deviation.
"""
from __future__ import annotations

import math
import re
from pathlib import Path

from .table import Group, _order, _text, varying_keys


def plot_against(groups: list[Group], metric: str, axis: str, out: Path) -> Path | None:
    """``metric`` against config key ``axis``; None when no group has both (nothing to draw)."""
    plt = _pyplot()
    others = [k for k in varying_keys(groups) if k != axis]
    series: dict[str, list[tuple]] = {}
    for g in groups:
        mean, std, n = g.stats(metric)
        if n == 0 or axis not in g.config:
            continue
        label = ', '.join(f'{_key_label(k)}={_short(g.config.get(k))}' for k in others) or metric
        series.setdefault(label, []).append((g.config[axis], mean, 0.0 if math.isnan(std) else std))
    if not series:
        return None
    fig, ax = plt.subplots(figsize=(6, 4))
    xs_all = []
    numeric = all(isinstance(x, (int, float)) and not isinstance(x, bool) for pts in series.values() for x, _, _ in pts)
    categories = sorted({_text(x) for pts in series.values() for x, _, _ in pts}) if not numeric else []
    for label, points in series.items():
        points.sort(key=lambda p: _order(p[0]))
        xs = [p[0] if numeric else categories.index(_text(p[0])) for p in points]
        xs_all.extend(xs)
        ax.errorbar(xs, [p[1] for p in points], yerr=[p[2] for p in points], marker='o', capsize=3, label=label)
    if numeric and min(xs_all) > 0 and max(xs_all) / min(xs_all) >= 50:
        ax.set_xscale('log')
    if not numeric:
        ax.set_xticks(range(len(categories)), categories)
    ax.set_xlabel(axis)
    ax.set_ylabel(metric)
    ax.set_title(f'{metric} against {axis} (mean ± std over seeds)')
    if len(series) > 1:
        ax.legend(fontsize='small')
    return _save(fig, out)


def plot_bars(groups: list[Group], metric: str, out: Path) -> Path | None:
    """One bar per configuration (labelled by the keys that vary), with the seeds' standard deviation."""
    plt = _pyplot()
    keys = varying_keys(groups)
    bars = []
    for g in groups:
        mean, std, n = g.stats(metric)
        if n:
            label = '\n'.join(f'{_key_label(k)}={_short(g.config.get(k))}' for k in keys) or 'all runs'
            bars.append((label, mean, 0.0 if math.isnan(std) else std, n))
    if not bars:
        return None
    fig, ax = plt.subplots(figsize=(max(5, 1.2 * len(bars) + 1), 4))
    ax.bar(range(len(bars)), [b[1] for b in bars], yerr=[b[2] for b in bars], capsize=4, color='tab:blue')
    ax.set_xticks(range(len(bars)), [f'{b[0]}\n(n={b[3]})' for b in bars], fontsize='small')
    ax.set_ylabel(metric)
    ax.set_title(f'{metric}\n(mean ± std over seeds)', fontsize='medium')
    return _save(fig, out)


def file_name(*parts: str) -> str:
    return re.sub(r'[^A-Za-z0-9._=-]+', '-', '_'.join(parts)).strip('-') + '.png'


def _key_label(key: str) -> str:
    """``method._type`` -> ``method``, ``encoder.hidden`` -> ``hidden``."""
    parts = key.split('.')
    return parts[-2] if parts[-1] == '_type' and len(parts) > 1 else parts[-1]


def _short(value) -> str:
    """``method/vae`` -> ``vae`` for component types; other values as text."""
    text = _text(value)
    return text.split('/', 1)[1] if isinstance(value, str) and '/' in text else text


def _pyplot():
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    return plt


def _save(fig, out: Path) -> Path:
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    import matplotlib.pyplot as plt
    plt.close(fig)
    return out
