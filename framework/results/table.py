"""Gather the scores of many runs and average them per configuration: ``collect``, ``group``, ``write_csv``.

A configuration is a run's saved ``config.yaml`` without its seed and without bookkeeping keys (where runs
are written, logging and checkpoint intervals, progress bars, the device): the runs of one configuration are
its seeds. Grouping by the composed config, not by run name, keeps apart runs whose names agree but whose
settings do not (1500 steps and 100 steps).

Scores come from every ``results/*.json`` of a run, in either form the scripts write:
``{'metrics': {name: {'values': {key: value}}}}`` (``fig eval-metrics``) gives ``name/key``, and
``{'ident': ..., 'scores': {key: value}}`` (the evaluation at the end of ``fig train``, ``fig eval``) gives
``ident/key``. A key found in two files of one run is kept from both, as ``file:key``.
"""
from __future__ import annotations

import csv
import fnmatch
import io
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import runs
from ..config import load_yaml

SEED_KEYS = ('seed',)
# keys that say where and how a run was written, not what was trained
BOOKKEEPING_KEYS = ('run_name', 'runs_root', 'load', 'checkpoint', 'device', 'resume', 'progress', 'log_every',
                    'viz_every', 'ckpt_every', 'keep_checkpoints', 'include_eval', 'eval_batches', 'compile',
                    'compile_backend', 'channels_last', 'find_unused_parameters', 'observation_shape')


@dataclass
class RunScores:
    """One run: its folder, its flattened config (``encoder.hidden`` style keys) and its scores."""
    run_dir: Path
    config: dict
    scores: dict[str, float]
    files: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)     # metric -> why eval-metrics did not score it

    @property
    def name(self) -> str:
        return self.run_dir.name


@dataclass
class Group:
    """The runs of one configuration (its seeds) and the configuration's values."""
    config: dict
    runs: list[RunScores]

    def stats(self, metric: str) -> tuple[float, float, int]:
        """(mean, sample standard deviation, n) over the runs that have ``metric``; nan where undefined."""
        values = np.array([r.scores[metric] for r in self.runs if metric in r.scores], dtype=np.float64)
        mean = float(values.mean()) if values.size else math.nan
        std = float(values.std(ddof=1)) if values.size > 1 else math.nan
        return mean, std, int(values.size)


def collect(run_dirs, patterns: tuple[str, ...] = ('*.json',)) -> list[RunScores]:
    """Each run's flattened config and its scores from the ``results/`` files matching ``patterns``."""
    records = []
    for run_dir in run_dirs:
        run_dir = Path(run_dir)
        config = flatten(load_yaml(run_dir / runs.RUN_CONFIG_FILE) or {})
        found: list[tuple[str, str, float]] = []
        files, skipped = [], {}
        results = run_dir / 'results'
        for path in sorted(results.glob('*.json')) if results.is_dir() else []:
            if not any(fnmatch.fnmatch(path.name, p) for p in patterns):
                continue
            try:
                data = json.loads(path.read_text())
            except (OSError, json.JSONDecodeError):
                continue            # a file being written by another process, or not ours
            scores = scores_of(data, path.stem)
            if isinstance(data, dict) and isinstance(data.get('skipped'), dict):
                skipped.update({str(k): str(v) for k, v in data['skipped'].items()})
            if scores:
                files.append(path.name)
                found.extend((path.stem, key, value) for key, value in scores.items())
        keys = [key for _, key, _ in found]
        scores = {(key if keys.count(key) == 1 else f'{stem}:{key}'): value for stem, key, value in found}
        records.append(RunScores(run_dir, config, scores, files, skipped))
    return records


def scores_of(data: dict, stem: str) -> dict[str, float]:
    """The flat scores of one results file, in either of the two forms (empty for anything else)."""
    if not isinstance(data, dict):
        return {}
    out = {}
    if isinstance(data.get('metrics'), dict):
        for name, result in data['metrics'].items():
            values = result.get('values') if isinstance(result, dict) else None
            for key, value in (values or {}).items():
                if _is_number(value):
                    out[f'{name}/{key}'] = float(value)
    elif isinstance(data.get('scores'), dict):
        ident = data.get('ident') or stem
        out = {f'{ident}/{key}': float(v) for key, v in data['scores'].items() if _is_number(v)}
    return out


def group(records: list[RunScores], ignore: tuple[str, ...] = (),
          seed_keys: tuple[str, ...] = SEED_KEYS) -> list[Group]:
    """Runs with the same config (less seeds, bookkeeping and ``ignore``) in one group; groups in a stable order."""
    dropped = set(seed_keys) | set(BOOKKEEPING_KEYS) | set(ignore)
    groups: dict[tuple, Group] = {}
    for record in records:
        config = {k: v for k, v in record.config.items() if not _dropped(k, dropped)}
        key = tuple(sorted((k, _hashable(v)) for k, v in config.items()))
        groups.setdefault(key, Group(config, [])).runs.append(record)
    out = list(groups.values())
    keys = varying_keys(out)
    out.sort(key=lambda g: tuple(_order(g.config.get(k)) for k in keys))
    return out


def varying_keys(groups: list[Group]) -> list[str]:
    """The config keys whose values differ between groups (a key missing from some groups differs too)."""
    every = []
    for g in groups:
        every.extend(k for k in g.config if k not in every)
    return [k for k in every if len({_hashable(g.config.get(k)) for g in groups}) > 1]


def metric_names(groups: list[Group], wanted: tuple[str, ...] = ()) -> list[str]:
    """Every score name, or those ``wanted`` names: ``mig/mig`` exactly, ``mig`` for all of MIG's, or a glob;
    ``dci.completeness`` (the dotted form of config keys) finds ``dci/completeness``."""
    names = sorted({k for g in groups for r in g.runs for k in r.scores})
    if not wanted:
        return names
    chosen = []
    for want in wanted:
        for form in dict.fromkeys((want, want.replace('.', '/', 1))):
            match = [n for n in names if n == form or n.startswith(f'{form}/') or fnmatch.fnmatch(n, form)]
            chosen.extend(n for n in match if n not in chosen)
    return chosen


def rows(groups: list[Group], metrics: list[str]) -> tuple[list[str], list[list]]:
    """Header and rows: the varying config keys, the number of runs and their names, mean/std/n per metric."""
    keys = varying_keys(groups)
    header = keys + ['runs', 'run_names'] + [f'{m}_{s}' for m in metrics for s in ('mean', 'std', 'n')]
    table = []
    for g in groups:
        row = [_text(g.config.get(k)) for k in keys] + [len(g.runs), ';'.join(r.name for r in g.runs)]
        for metric in metrics:
            row.extend(g.stats(metric))
        table.append(row)
    return header, table


def write_csv(groups: list[Group], metrics: list[str], out: Path) -> Path:
    """One row per configuration (written atomically); an undefined mean or std is an empty cell."""
    header, table = rows(groups, metrics)
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(header)
    for row in table:
        writer.writerow(['' if isinstance(v, float) and math.isnan(v) else
                         f'{v:.6g}' if isinstance(v, float) else v for v in row])
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    runs.atomic_write_bytes(out, lambda handle: handle.write(text.getvalue().encode()))
    return out


def format_table(groups: list[Group], metrics: list[str]) -> str:
    """The table for a terminal: varying keys, n, then ``mean ± std (n)`` per metric."""
    keys = varying_keys(groups)
    header = keys + ['runs'] + metrics
    lines = [header]
    for g in groups:
        cells = [_text(g.config.get(k)) for k in keys] + [str(len(g.runs))]
        for metric in metrics:
            mean, std, n = g.stats(metric)
            cells.append('-' if n == 0 else f'{mean:.4g}' if n == 1 else f'{mean:.4g} ± {std:.2g} ({n})')
        lines.append(cells)
    widths = [max(len(str(line[i])) for line in lines) for i in range(len(header))]
    return '\n'.join('  '.join(str(c).ljust(w) for c, w in zip(line, widths)).rstrip() for line in lines)


def flatten(config: dict, prefix: str = '') -> dict:
    """``{'encoder': {'hidden': [64]}}`` -> ``{'encoder.hidden': [64]}``."""
    out = {}
    for key, value in config.items():
        path = f'{prefix}{key}'
        if isinstance(value, dict) and value:
            out.update(flatten(value, f'{path}.'))
        else:
            out[path] = value
    return out


# --------------------------------------------------------------------------- helpers

def _dropped(key: str, dropped: set[str]) -> bool:
    return key in dropped or any(key.startswith(f'{d}.') for d in dropped)


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _hashable(value):
    if isinstance(value, (list, tuple)):
        return tuple(_hashable(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _hashable(v)) for k, v in value.items()))
    return value


def _order(value):
    """Numbers before text, numbers by size (so 4 comes before 16), missing values last."""
    if value is None:
        return (2, 0, '')
    if _is_number(value):
        return (0, float(value), '')
    return (1, 0, _text(value))


def _text(value) -> str:
    if value is None:
        return ''
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(value, separators=(',', ':'))
    return f'{value:g}' if isinstance(value, float) else str(value)
