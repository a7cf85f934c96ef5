"""The paper's table with our numbers beside it: for the terminal, as CSV, and as a plot.

Rows are the experiment's methods; for each score, ``ours`` (mean ± std (n) over seeds) and ``paper`` (its value
± std (n), or a range), then one verdict line per claim, judged on our numbers and on the paper's.
"""
from __future__ import annotations

import csv
import io
import math
from pathlib import Path

from .. import runs
from .experiment import Experiment, Published
from .scores import Stat, paper_stats, verdict


def format_ours(stat: Stat) -> str:
    if stat.n == 0:
        return '-'
    if stat.n == 1:
        return f'{stat.mean:.4g} (1)'
    return f'{stat.mean:.4g} ± {stat.std:.2g} ({stat.n})'


def format_paper(p: Published | None) -> str:
    if p is None:
        return '-'
    if p.range is not None:
        return f'{p.range[0]:g}–{p.range[1]:g}'
    text = f'{p.value:.4g}'
    if p.std is not None:
        text += f' ± {p.std:g}'
    return text + (f' ({p.n})' if p.n else '')


def format_table(experiment: Experiment, ours: dict[str, dict[str, Stat]], scale: str) -> str:
    """The table, its sources and the claims' verdicts, as text."""
    header = ['method'] + [f'{s.label}: {who}' for s in experiment.scores for who in ('ours', 'paper')]
    lines = [header]
    for row in experiment.rows:
        cells = [row.label]
        for score in experiment.scores:
            cells += [format_ours(ours[row.key][score.key]),
                      format_paper(experiment.published_for(row.key, score.key))]
        lines.append(cells)
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    text = [f'{experiment.title}  [scale {scale}; ours: mean ± std (n seeds)]',
            *('  '.join(c.ljust(w) for c, w in zip(line, widths)).rstrip() for line in lines)]
    if scale != 'paper':
        text.append(f'Scale {scale} is a reduced setting ({experiment.data.get(scale, "see the experiment")}): '
                    f'its numbers test the direction of the claims, not the paper\'s values.')
    text.append('Sources of the paper\'s numbers:')
    for source in dict.fromkeys(_source_line(p) for p in experiment.published):
        text.append(f'  - {source}')
    if not experiment.published:
        text.append('  - none: the paper reports this result as a figure only (see the claims).')
    text += [''] + claim_lines(experiment, ours)
    return '\n'.join(text)


def claim_lines(experiment: Experiment, ours: dict) -> list[str]:
    theirs = paper_stats(experiment)
    lines = []
    for claim in experiment.claims:
        lines.append(f'Claim: {claim.text}')
        paper = verdict(claim, experiment, theirs).replace('not measured', 'no per-method numbers')
        lines.append(f'  ours: {verdict(claim, experiment, ours)}; paper\'s numbers: {paper}')
    return lines


def write_csv(experiment: Experiment, ours: dict, out: Path) -> Path:
    """One row a method: for each score our mean, std, n and the paper's value, std, n, range and source;
    then one row a claim with the two verdicts."""
    text = io.StringIO()
    writer = csv.writer(text)
    header = ['row', 'label']
    for s in experiment.scores:
        header += [f'{s.key}_{k}' for k in ('mean', 'std', 'n', 'paper', 'paper_std', 'paper_n', 'paper_range',
                                            'paper_source')]
    writer.writerow(header)
    for row in experiment.rows:
        cells = [row.key, row.label]
        for s in experiment.scores:
            stat, p = ours[row.key][s.key], experiment.published_for(row.key, s.key)
            cells += [_num(stat.mean), _num(stat.std), stat.n]
            cells += ['', '', '', '', ''] if p is None else [
                _num(p.value), _num(p.std), p.n or '', '' if p.range is None else f'{p.range[0]:g}-{p.range[1]:g}',
                p.source]
        writer.writerow(cells)
    theirs = paper_stats(experiment)
    for claim in experiment.claims:
        writer.writerow(['claim', claim.text, f'ours: {verdict(claim, experiment, ours)}',
                         f'paper: {verdict(claim, experiment, theirs)}'])
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    runs.atomic_write_bytes(out, lambda handle: handle.write(text.getvalue().encode()))
    return out


def plot(experiment: Experiment, ours: dict, out: Path) -> Path:
    """Bars (ours with the seeds' std, the paper's beside them) per score, or curves over the scores in order
    (``plot: {kind: curve, x: [...]}``: e.g. the error at each horizon), the paper's dashed."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    scores = experiment.scores
    if experiment.plot.get('kind') == 'curve':
        fig, ax = plt.subplots(figsize=(6.5, 4.2))
        xs = list(experiment.plot.get('x') or range(1, len(scores) + 1))
        for i, row in enumerate(experiment.rows):
            colour = f'C{i % 10}'
            stats = [ours[row.key][s.key] for s in scores]
            ax.errorbar(xs, [s.mean for s in stats], yerr=[0 if math.isnan(s.std) else s.std for s in stats],
                        color=colour, marker='o', capsize=3, label=f'{row.label} (ours)')
            paper = [experiment.published_for(row.key, s.key) for s in scores]
            ax.plot(xs, [math.nan if p is None or p.value is None else p.value for p in paper], '--s',
                    color=colour, alpha=0.6, label=f'{row.label} (paper)')
        ax.set_xlabel(experiment.plot.get('xlabel', 'score'))
        ax.set_ylabel(experiment.plot.get('ylabel', 'value'))
        if experiment.plot.get('log'):
            ax.set_yscale('log')
        ax.legend(fontsize=6)
    else:
        fig, axes = plt.subplots(1, len(scores), figsize=(max(4.0, 1.1 * len(experiment.rows) + 1) * len(scores), 4),
                                 squeeze=False)
        for ax, score in zip(axes[0], scores):
            xs = range(len(experiment.rows))
            stats = [ours[r.key][score.key] for r in experiment.rows]
            ax.bar([x - 0.2 for x in xs], [s.mean for s in stats], 0.4, label='ours',
                   yerr=[0 if math.isnan(s.std) else s.std for s in stats], capsize=3)
            paper = [experiment.published_for(r.key, score.key) for r in experiment.rows]
            ax.bar([x + 0.2 for x in xs], [math.nan if p is None or p.value is None else p.value for p in paper], 0.4,
                   yerr=[0 if p is None or p.std is None else p.std for p in paper], capsize=3, label='paper')
            ax.set_xticks(list(xs), [r.label for r in experiment.rows], rotation=30, ha='right', fontsize=7)
            ax.set_title(score.label, fontsize=9)
        axes[0][0].legend(fontsize=7)
    fig.suptitle(experiment.title, fontsize=9)
    fig.tight_layout()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def _source_line(p: Published) -> str:
    return p.source + (f' ({p.note})' if p.note else '')


def _num(value) -> str:
    return '' if value is None or (isinstance(value, float) and math.isnan(value)) else f'{value:.6g}'
