"""A reproduction experiment as data: rows x seeds, the scores, the paper's numbers, the claims, two scales.

An experiment is one YAML file, declared by the plugin that owns it (``<plugin module>/reproduce/<name>.yaml``;
the core's baselines in ``framework/reproduce/experiments/``). Its keys::

    name: msp-equivariance-3ds          # what `fig reproduce NAME` takes
    title: ...                          # one line for the listing
    paper: 'Authors, "Title", Venue Year'
    description: ...                    # what is trained and how it is scored
    data: {paper: ..., cpu: ...}        # the data at each scale, in words
    rows:                               # one configuration each: `fig train <configs> --<flag> <value> --seed S`
      - {key: msp, label: Ours (MSP), configs: [a/..., m/msp, d/...], flags: {include_eval: false}}
    scores:                             # read from results/<file>.json of each run, at a dotted path
      - {key: Lp@1, label: ..., file: eval-msp-paper, path: Lp.0, better: lower}
    evaluate:                           # run on every finished run: `fig <script> <configs> --load RUN --ident ID`
      - {script: eval-msp, configs: [eval/msp-paper-3ds], ident: eval-msp-paper}
    claims:                             # one sentence each, judged from the numbers (``scores.verdict``)
      - {text: ..., score: Lp_equiv@1, order: [msp, neural-m]}
    published:                          # the paper's numbers, each with its source
      - {row: msp, score: Lp@1, value: 2.75, std: 0.25, n: 3, source: 'Table 1 ...'}
    scales:
      paper: {seeds: [1, 2, 3], device: GPU, hours_per_run: 8}
      cpu: {seeds: [1, 2], replace: {d/msp-3ds: d/msp-sprites-16}, flags: {steps: 1000},
            evaluate: {eval-msp-paper: {configs: [], flags: {length: 8}}}, device: 2 CPU cores, hours_per_run: 0.1}

A scale's ``replace`` swaps config names (the published data for its offline stand-in; a list puts several
names in one's place, e.g. a reduced architecture before the method), its ``flags`` are added
to every row (and win over the row's), ``rows: {KEY: {flags: ...}}`` adds flags to one row, and ``evaluate``
overrides an evaluation's configs and flags by its ident.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ConfigError

SCALES = ('paper', 'cpu')
BETTER = ('higher', 'lower')


@dataclass
class Row:
    key: str
    label: str
    configs: list[str]
    flags: dict = field(default_factory=dict)


@dataclass
class Score:
    """A number read from each run (``file`` and ``path``), or the ratio of two such scores per run (``ratio``)."""
    key: str
    label: str
    file: str = ''              # results/<file>.json
    path: str = ''              # dotted path in it; integers index lists (Lp.0)
    better: str = 'higher'
    ratio: list[str] = field(default_factory=list)    # [numerator, denominator]: keys of two read scores


@dataclass
class Evaluation:
    script: str
    ident: str
    configs: list[str] = field(default_factory=list)
    flags: dict = field(default_factory=dict)


@dataclass
class Published:
    """One number of the paper: a value (with std and n where given) or a range, and where it is printed."""
    score: str
    source: str
    row: str | None = None      # None: the same reference for every row (a range over methods)
    value: float | None = None
    std: float | None = None
    n: int | None = None
    range: list[float] | None = None
    note: str = ''


@dataclass
class Claim:
    text: str
    score: str
    order: list[str] = field(default_factory=list)        # rows, each better than the next
    bound: dict = field(default_factory=dict)             # {rows: [...], min: x} or max
    within_noise: list[str] = field(default_factory=list)  # rows whose means differ by less than the seeds' std


@dataclass
class Scale:
    seeds: list[int]
    device: str
    hours_per_run: float
    replace: dict = field(default_factory=dict)
    flags: dict = field(default_factory=dict)
    rows: dict = field(default_factory=dict)
    evaluate: dict = field(default_factory=dict)
    note: str = ''


@dataclass
class Experiment:
    name: str
    title: str
    paper: str
    description: str
    data: dict
    rows: list[Row]
    scores: list[Score]
    evaluate: list[Evaluation]
    claims: list[Claim]
    published: list[Published]
    scales: dict[str, Scale]
    plot: dict = field(default_factory=dict)              # {kind: bars | curve, x: [...], xlabel: ...}
    source_file: Path | None = None

    def row(self, key: str) -> Row:
        return next(r for r in self.rows if r.key == key)

    def score(self, key: str) -> Score:
        return next(s for s in self.scores if s.key == key)

    def runs(self, scale: str) -> int:
        return len(self.rows) * len(self.scales[scale].seeds)

    def hours(self, scale: str) -> float:
        return self.runs(scale) * self.scales[scale].hours_per_run

    def published_for(self, row: str, score: str) -> Published | None:
        """The paper's number for (row, score); a reference without a row applies to every row; a ratio score's
        is the ratio of the paper's two values where it gives both."""
        exact = [p for p in self.published if p.row == row and p.score == score]
        shared = [p for p in self.published if p.row is None and p.score == score]
        found = (exact or shared or [None])[0]
        ratio = self.score(score).ratio
        if found is None and ratio:
            top, bottom = (self.published_for(row, key) for key in ratio)
            if top and bottom and top.value is not None and bottom.value:
                return Published(score, f'{top.value:g} / {bottom.value:g}, the ratio of the paper\'s means',
                                 row, top.value / bottom.value, n=top.n)
        return found


def parse_experiment(data: dict, source: Path | None = None) -> Experiment:
    """An ``Experiment`` from a YAML mapping, with every cross-reference checked (rows, scores, idents)."""
    where = f' in {source}' if source else ''
    if not isinstance(data, dict):
        raise ConfigError(f'An experiment file holds a mapping of keys{where}; see framework/reproduce/experiment.py.')
    known = set(Experiment.__dataclass_fields__) - {'source_file'}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(f'Unknown key(s) {", ".join(unknown)}{where}. Keys: {", ".join(sorted(known))}.')
    missing = [k for k in ('name', 'title', 'paper', 'rows', 'scores', 'scales') if not data.get(k)]
    if missing:
        raise ConfigError(f'Experiment{where} lacks {", ".join(missing)}.')
    try:
        experiment = Experiment(
            name=str(data['name']), title=str(data['title']), paper=str(data['paper']),
            description=str(data.get('description', '')).strip(), data=dict(data.get('data') or {}),
            rows=[Row(**r) for r in data['rows']], scores=[Score(**s) for s in data['scores']],
            evaluate=[Evaluation(**e) for e in data.get('evaluate') or []],
            claims=[Claim(**c) for c in data.get('claims') or []],
            published=[Published(**p) for p in data.get('published') or []],
            scales={k: Scale(**v) for k, v in data['scales'].items()},
            plot=dict(data.get('plot') or {}), source_file=source)
    except TypeError as exc:
        raise ConfigError(f'Experiment {data.get("name")!r}{where}: {exc}.') from None
    _check(experiment, where)
    return experiment


def _check(e: Experiment, where: str) -> None:
    def fail(message):
        raise ConfigError(f'Experiment {e.name!r}{where}: {message}')

    rows, scores = [r.key for r in e.rows], [s.key for s in e.scores]
    for keys, what in ((rows, 'row'), (scores, 'score')):
        if len(set(keys)) != len(keys):
            fail(f'a {what} key is used twice: {keys}.')
    if set(e.scales) != set(SCALES):
        fail(f'scales must be exactly {", ".join(SCALES)}; got {", ".join(e.scales) or "none"}.')
    for name, scale in e.scales.items():
        if not scale.seeds or len(set(scale.seeds)) != len(scale.seeds):
            fail(f'scale {name} needs distinct seeds.')
        if not scale.hours_per_run > 0:
            fail(f'scale {name}: hours_per_run must be positive (an estimate of one run and its scoring).')
        for key in scale.rows:
            if key not in rows:
                fail(f'scale {name} names row {key!r}; rows are {", ".join(rows)}.')
        for ident in scale.evaluate:
            if ident not in [ev.ident for ev in e.evaluate]:
                fail(f'scale {name} overrides evaluation {ident!r}, which is not in evaluate.')
    idents = [ev.ident for ev in e.evaluate]
    for score in e.scores:
        if score.better not in BETTER:
            fail(f'score {score.key}: better must be one of {BETTER}.')
        if score.ratio:
            read = [s.key for s in e.scores if not s.ratio]
            if len(score.ratio) != 2 or any(k not in read for k in score.ratio) or score.file or score.path:
                fail(f'score {score.key}: ratio names two scores read from files ({", ".join(read)}), '
                     f'and then no file or path.')
            continue
        if not score.path:
            fail(f'score {score.key} needs a path in its results file (or a ratio of two scores).')
        if score.file not in idents:
            fail(f'score {score.key} reads results/{score.file}.json, which no evaluation writes '
                 f'(evaluate idents: {", ".join(idents) or "none"}).')
    for p in e.published:
        if p.score not in scores or (p.row is not None and p.row not in rows):
            fail(f'a published number names row {p.row!r} / score {p.score!r}; rows {rows}, scores {scores}.')
        if (p.value is None) == (p.range is None):
            fail(f'the published number for {p.row}/{p.score} needs exactly one of value and range.')
        if not p.source.strip():
            fail(f'the published number for {p.row}/{p.score} needs its source (table, figure or notebook).')
    for claim in e.claims:
        named = claim.order + list(claim.bound.get('rows', [])) + claim.within_noise
        if claim.score not in scores or any(r not in rows for r in named):
            fail(f'claim {claim.text!r} names an unknown score or row.')
        kinds = sum(bool(k) for k in (claim.order, claim.bound, claim.within_noise))
        if kinds != 1:
            fail(f'claim {claim.text!r} needs exactly one of order, bound and within_noise.')
        if claim.order and len(claim.order) < 2:
            fail(f'claim {claim.text!r}: order needs two rows or more.')
        if claim.bound and not ({'min', 'max'} & set(claim.bound) and claim.bound.get('rows')):
            fail(f'claim {claim.text!r}: bound needs rows and min or max.')
