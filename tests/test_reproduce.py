"""``framework.reproduce``: the table of a tiny experiment from hand-made results files (means and stds worked out
by hand), the claims' verdicts, and the structure of every declared experiment and its paper numbers."""
from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pytest

from framework.errors import ConfigError
from framework.reproduce import all_experiments, find_experiment, parse_experiment, plan
from framework.reproduce.scores import Stat, paper_stats, read_score, row_stats, verdict
from framework.reproduce.table import format_table, plot, write_csv

TINY = {
    'name': 'tiny', 'title': 'A tiny experiment', 'paper': 'Nobody, "Nothing", 2024',
    'data': {'paper': 'd/vec', 'cpu': 'd/vec, small'},
    'rows': [{'key': 'a', 'label': 'Method A', 'configs': ['m/ae', 'd/vec']},
             {'key': 'b', 'label': 'Method B', 'configs': ['m/vae', 'd/vec'], 'flags': {'reg_wt': 4.0}}],
    'scores': [{'key': 'acc', 'label': 'accuracy', 'file': 'scores', 'path': 'metrics.acc.values.acc'},
               {'key': 'err1', 'label': 'error at 1', 'file': 'scores', 'path': 'errors.0', 'better': 'lower'}],
    'evaluate': [{'script': 'eval-metrics', 'configs': ['eval/fast'], 'ident': 'scores'}],
    'claims': [{'text': 'A is more accurate than B.', 'score': 'acc', 'order': ['a', 'b']},
               {'text': 'B errs less than A.', 'score': 'err1', 'order': ['b', 'a']},
               {'text': 'A reaches 0.5.', 'score': 'acc', 'bound': {'rows': ['a'], 'min': 0.5}},
               {'text': 'A and B are alike.', 'score': 'acc', 'within_noise': ['a', 'b']}],
    'published': [{'row': 'a', 'score': 'acc', 'value': 0.9, 'std': 0.05, 'n': 10, 'source': 'Table 1'},
                  {'row': 'b', 'score': 'acc', 'value': 0.7, 'source': 'Table 1'},
                  {'score': 'err1', 'range': [1.0, 2.0], 'source': 'Fig. 2', 'note': 'read from the plot'}],
    'scales': {'paper': {'seeds': [0, 1, 2], 'device': 'GPU', 'hours_per_run': 2.0},
               'cpu': {'seeds': [0, 1], 'device': '2 CPU cores', 'hours_per_run': 0.1,
                       'replace': {'d/vec': ['demo-vec', 'd/vec']}, 'flags': {'steps': 5},
                       'rows': {'b': {'flags': {'reg_wt': 2.0}}},
                       'evaluate': {'scores': {'flags': {'metrics_seed': 1}}}}},
}

# hand-made scores: A's accuracies 0.6, 0.8, 1.0 -> mean 0.8, sample std 0.2; B's 0.6, 0.8 -> 0.7, std 0.1414
ACCURACY = {'a': [0.6, 0.8, 1.0], 'b': [0.6, 0.8]}
ERRORS = {'a': [[3.0, 9.0], [5.0, 9.0], [4.0, 9.0]], 'b': [[1.0, 9.0], [2.0, 9.0]]}


def _runs(tmp_path: Path) -> dict[str, list[Path]]:
    out = {}
    for row, values in ACCURACY.items():
        out[row] = []
        for i, (acc, errors) in enumerate(zip(values, ERRORS[row])):
            run = tmp_path / f'{row}-{i}'
            (run / 'results').mkdir(parents=True)
            data = {'metrics': {'acc': {'values': {'acc': acc}}}, 'errors': errors}
            (run / 'results' / 'scores.json').write_text(json.dumps(data))
            out[row].append(run)
    empty = tmp_path / 'a-unscored'
    empty.mkdir()
    out['a'].append(empty)                   # a run without results counts in no mean
    return out


def test_row_stats_are_the_hand_computed_means_and_stds(tmp_path):
    experiment = parse_experiment(TINY)
    stats = row_stats(experiment, _runs(tmp_path))
    a, b = stats['a']['acc'], stats['b']['acc']
    assert (a.n, b.n) == (3, 2)
    assert a.mean == pytest.approx(0.8) and a.std == pytest.approx(0.2)
    assert b.mean == pytest.approx(0.7) and b.std == pytest.approx(math.sqrt(0.02))
    assert stats['a']['err1'].mean == pytest.approx(4.0) and stats['a']['err1'].std == pytest.approx(1.0)
    assert stats['b']['err1'].mean == pytest.approx(1.5)


def test_verdicts_from_the_numbers(tmp_path):
    experiment = parse_experiment(TINY)
    ours = row_stats(experiment, _runs(tmp_path))
    order, lower, bound, alike = experiment.claims
    assert verdict(order, experiment, ours) == 'holds (within noise)'     # 0.8 - 0.7 = 0.1 < A's std 0.2
    assert verdict(lower, experiment, ours) == 'holds'                    # 4.0 - 1.5 = 2.5 > the larger std 1.0
    assert verdict(bound, experiment, ours) == 'holds'
    assert verdict(alike, experiment, ours) == 'holds'                    # range 0.1 <= largest std 0.2
    ours['a']['acc'] = Stat(0.5, 0.01, 3)
    assert verdict(order, experiment, ours) == 'fails'
    ours['a']['acc'] = Stat(0.9, 0.01, 3)
    ours['b']['acc'] = Stat(0.6, 0.01, 3)
    assert verdict(order, experiment, ours) == 'holds'
    assert verdict(alike, experiment, ours) == 'fails'
    assert verdict(order, experiment, {'a': {}, 'b': {}}).startswith('not measured')
    theirs = paper_stats(experiment)
    assert verdict(order, experiment, theirs) == 'holds'                  # 0.9 > 0.7
    assert verdict(lower, experiment, theirs).startswith('not measured')  # a range is no row's value


def test_table_csv_and_plot(tmp_path):
    experiment = parse_experiment(TINY)
    ours = row_stats(experiment, _runs(tmp_path / 'runs'))
    text = format_table(experiment, ours, 'cpu')
    assert '0.8 ± 0.2 (3)' in text and '0.7 ± 0.14 (2)' in text
    assert '0.9 ± 0.05 (10)' in text and '1–2' in text
    assert 'Table 1' in text and 'Fig. 2 (read from the plot)' in text
    assert 'Claim: A is more accurate than B.' in text and 'reduced setting' in text
    rows = list(csv.reader((write_csv(experiment, ours, tmp_path / 'table.csv')).open()))
    header = rows[0]
    a = dict(zip(header, rows[1]))
    assert (a['row'], a['acc_mean'], a['acc_std'], a['acc_n'], a['acc_paper']) == ('a', '0.8', '0.2', '3', '0.9')
    assert a['err1_paper_range'] == '1-2' and a['err1_paper_source'] == 'Fig. 2'
    assert [r[0] for r in rows[3:]] == ['claim'] * 4
    assert plot(experiment, ours, tmp_path / 'table.png').stat().st_size > 1000
    curve = parse_experiment({**TINY, 'plot': {'kind': 'curve', 'x': [1, 2]}})
    assert plot(curve, ours, tmp_path / 'curve.png').stat().st_size > 1000


def test_a_ratio_score_is_taken_per_run_and_from_the_papers_values(tmp_path):
    experiment = parse_experiment({
        **TINY, 'scores': TINY['scores'] + [
            {'key': 'err2', 'label': 'error at 2', 'file': 'scores', 'path': 'errors.1', 'better': 'lower'},
            {'key': 'growth', 'label': 'error 2 / error 1', 'ratio': ['err2', 'err1'], 'better': 'lower'}],
        'published': TINY['published'] + [
            {'row': 'a', 'score': 'err1', 'value': 2.0, 'source': 'Table 3'},
            {'row': 'a', 'score': 'err2', 'value': 5.0, 'source': 'Table 3'}]})
    stats = row_stats(experiment, _runs(tmp_path))
    # A: 9/3, 9/5, 9/4 = 3, 1.8, 2.25; B: 9/1, 9/2 = 9, 4.5 (a ratio of means would give other numbers)
    assert stats['a']['growth'].mean == pytest.approx((3 + 1.8 + 2.25) / 3)
    assert stats['b']['growth'].mean == pytest.approx(6.75) and stats['b']['growth'].n == 2
    derived = experiment.published_for('a', 'growth')
    assert derived.value == pytest.approx(2.5) and 'ratio' in derived.source
    assert experiment.published_for('b', 'growth') is None
    assert paper_stats(experiment)['a']['growth'].mean == pytest.approx(2.5)
    with pytest.raises(ConfigError, match='ratio names two scores'):
        parse_experiment({**TINY, 'scores': TINY['scores'] + [{'key': 'r', 'label': 'r', 'ratio': ['acc', 'zz']}]})


def test_read_score_paths(tmp_path):
    from framework.reproduce.experiment import Score
    (tmp_path / 'results').mkdir()
    (tmp_path / 'results' / 'r.json').write_text(json.dumps({'x': [1.5, 2.5], 'ok': True, 'bad': 'text'}))
    def score(path):
        return read_score(tmp_path, Score('k', 'k', 'r', path))
    assert (score('x.1'), score('x.-1'), score('ok')) == (2.5, 2.5, 1.0)
    assert score('x.2') is None and score('bad') is None and score('missing.path') is None
    assert read_score(tmp_path, Score('k', 'k', 'absent', 'x')) is None


def test_plan_applies_the_scale(tmp_path):
    experiment = parse_experiment(TINY)
    a, b = plan(experiment, 'cpu')
    assert a.grid.configs == ['m/ae', 'demo-vec', 'd/vec']
    assert b.grid.fixed == {'reg_wt': '2.0', 'steps': '5'}                # the scale's row flags win
    assert [p.name for p in a.points()] == ['seed-0', 'seed-1']
    assert a.evaluations[0].flags == {'metrics_seed': 1} and a.evaluations[0].configs == ['eval/fast']
    paper_a, _ = plan(experiment, 'paper')
    assert paper_a.grid.configs == ['m/ae', 'd/vec'] and len(paper_a.points()) == 3
    assert paper_a.name != a.name                                         # another scale, another sweep


@pytest.mark.parametrize('change, message', [
    ({'scales': {'cpu': TINY['scales']['cpu']}}, 'scales must be exactly'),
    ({'claims': [{'text': 't', 'score': 'acc', 'order': ['a', 'zzz']}]}, 'unknown score or row'),
    ({'published': [{'row': 'a', 'score': 'acc', 'value': 1.0, 'source': ''}]}, 'needs its source'),
    ({'published': [{'row': 'a', 'score': 'acc', 'source': 'T'}]}, 'exactly one of value and range'),
    ({'scores': [{'key': 'acc', 'label': 'a', 'file': 'other', 'path': 'x'}]}, 'which no evaluation writes'),
    ({'colour': 'red'}, 'Unknown key'),
])
def test_malformed_experiments_are_refused(change, message):
    with pytest.raises(ConfigError, match=message):
        parse_experiment({**TINY, **change})


def test_unknown_experiment_names_the_closest():
    with pytest.raises(ConfigError, match="Did you mean 'msp-equivariance-3ds'.*Known experiments"):
        find_experiment('msp-equivariance')


# --------------------------------------------------------------------------- the declared experiments

def test_every_plugin_and_the_core_declare_experiments():
    owners = {owner for owner, _ in all_experiments().values()}
    assert {'core', 'msp', 'liegroup', 'sae', 'gdrae'} <= owners
    assert len(all_experiments()) >= 5


@pytest.mark.parametrize('name', sorted(all_experiments()))
def test_paper_numbers_have_sources_and_support_the_claims(name):
    experiment = find_experiment(name)
    for p in experiment.published:
        assert len(p.source) > 15, p                  # names a table, figure or notebook
        if p.std is not None:
            assert p.std >= 0 and p.value is not None
    theirs = paper_stats(experiment)
    for claim in experiment.claims:
        # a claim is stated as the paper's numbers show it: where they give the rows' values, it holds on them
        assert verdict(claim, experiment, theirs) in ('holds', 'holds (within noise)') or \
            verdict(claim, experiment, theirs).startswith('not measured'), claim.text
    for scale in ('paper', 'cpu'):
        assert experiment.hours(scale) > 0 and experiment.data.get(scale)
    assert experiment.hours('cpu') <= 1.5, 'the cpu scale should finish in about an hour on 2 cores'

