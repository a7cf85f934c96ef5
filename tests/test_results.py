"""`fig results` and framework.results: grouping by config (not by name), statistics checked by hand, plots."""
import csv
import json
import math

import pytest
import yaml

from framework.results import collect, group, metric_names, varying_keys
from conftest import run_in_process

BASE = {'steps': 1500, 'lr': 0.001, 'method': {'_type': 'method/vae'}, 'encoder': {'_type': 'encoder/mlp',
        'hidden': [64]}, 'dataset': {'_type': 'dataset/vec', 'seed': 0}, 'progress': True}


def _run(root, name, config, metrics=None, scores=None, metrics_file='metrics.json'):
    """A run folder as `fig train` and `fig eval-metrics` leave it, with scores chosen by the test."""
    run = root / name
    (run / 'results').mkdir(parents=True)
    (run / 'config.yaml').write_text(yaml.safe_dump(config))
    if metrics is not None:
        data = {'ident': 'metrics', 'run': name, 'metrics': {
            metric: {'values': values, 'params': {}} for metric, values in metrics.items()},
            'skipped': {'sap': 'no continuous factors'}}
        data['metrics']['sap'] = {'skipped': True, 'reason': 'no continuous factors'}
        (run / 'results' / metrics_file).write_text(json.dumps(data))
    if scores is not None:
        (run / 'results' / 'eval.json').write_text(json.dumps({'ident': 'eval', 'mode': 'val', 'scores': scores}))
    return run


def _runs(root):
    """reg_wt 1: three seeds; reg_wt 4: two seeds; a 100-step run with the same name prefix; an unscored run."""
    a = [(0, 0.2, 10.0), (1, 0.4, 12.0), (2, 0.6, 17.0)]
    b = [(0, 0.1, 20.0), (1, 0.5, 30.0)]
    for seed, mig, loss in a:
        _run(root, f'vec_vae1_e-mlp_d-mlp_2512{seed:02d}-000000', {**BASE, 'reg_wt': 1, 'seed': seed,
             'runs_root': f'/somewhere/{seed}'}, {'mig': {'mig': mig}, 'dci': {'disentanglement': 1 - mig}},
             {'loss': loss})
    for seed, mig, loss in b:
        _run(root, f'vec_vae4_e-mlp_d-mlp_2512{seed:02d}-000000', {**BASE, 'reg_wt': 4, 'seed': seed,
             'run_name': f'p{seed}'}, {'mig': {'mig': mig}, 'dci': {'disentanglement': 1 - mig}}, {'loss': loss})
    _run(root, 'vec_vae1_e-mlp_d-mlp_251230-000000', {**BASE, 'reg_wt': 1, 'seed': 0, 'steps': 100},
         {'mig': {'mig': 0.9}}, None)
    _run(root, 'vec_vae1_e-mlp_d-mlp_251231-000000', {**BASE, 'reg_wt': 16, 'seed': 0})     # never scored


def test_groups_are_configs_less_seed_and_bookkeeping_with_hand_computed_statistics(tmp_path):
    _runs(tmp_path)
    groups = group(collect(sorted(tmp_path.iterdir())))
    assert len(groups) == 4
    assert varying_keys(groups) == ['reg_wt', 'steps']          # not seed, runs_root, run_name, progress
    by = {(g.config['reg_wt'], g.config['steps']): g for g in groups}
    # reg_wt 1: MIG 0.2, 0.4, 0.6 -> mean 0.4, sample std sqrt((0.04 + 0 + 0.04) / 2) = 0.2
    mean, std, n = by[1, 1500].stats('mig/mig')
    assert n == 3 and mean == pytest.approx(0.4) and std == pytest.approx(0.2)
    # losses 10, 12, 17 -> mean 13, std sqrt((9 + 1 + 16) / 2) = sqrt(13)
    mean, std, n = by[1, 1500].stats('eval/loss')
    assert (mean, n) == (pytest.approx(13.0), 3) and std == pytest.approx(math.sqrt(13))
    # reg_wt 4: 0.1, 0.5 -> mean 0.3, std sqrt(0.08) ; DCI 0.9, 0.5 -> mean 0.7
    mean, std, n = by[4, 1500].stats('mig/mig')
    assert n == 2 and mean == pytest.approx(0.3) and std == pytest.approx(math.sqrt(0.08))
    assert by[4, 1500].stats('dci/disentanglement')[0] == pytest.approx(0.7)
    # the 100-step run has the same name prefix but is its own configuration; one run has no std
    mean, std, n = by[1, 100].stats('mig/mig')
    assert (mean, n) == (0.9, 1) and math.isnan(std)
    assert by[16, 1500].stats('mig/mig')[2] == 0 and len(by[16, 1500].runs) == 1     # unscored, not dropped
    assert [g.config['reg_wt'] for g in groups] == [1, 1, 4, 16]      # numbers in numeric order
    assert 'sap/sap' not in metric_names(groups)                      # a skipped metric has no value
    assert metric_names(groups, ('mig', 'eval/*')) == ['mig/mig', 'eval/loss']
    assert metric_names(groups, ('eval.loss',)) == ['eval/loss']              # config keys' dotted form


def test_a_score_in_two_results_files_of_a_run_is_kept_from_both(tmp_path):
    run = _run(tmp_path, 'r', {**BASE, 'seed': 0}, {'mig': {'mig': 0.3}}, metrics_file='metrics-fast.json')
    (run / 'results' / 'metrics-default.json').write_text(json.dumps({'metrics': {'mig': {'values': {'mig': 0.5}}}}))
    (run / 'results' / 'notes.json').write_text('[1, 2]')                  # not a results file: ignored
    scores = collect([run])[0].scores
    assert scores == {'metrics-default:mig/mig': 0.5, 'metrics-fast:mig/mig': 0.3}
    assert collect([run], ('metrics-fast.json',))[0].scores == {'mig/mig': 0.3}


def test_fig_results_writes_the_csv_prints_the_table_and_draws_the_plots(tmp_path):
    runs = tmp_path / 'runs'
    _runs(runs)
    out = tmp_path / 'out'
    code, text = run_in_process('results', '--runs', runs, '--metric', 'mig,eval/loss', '--axis', 'reg_wt',
                                '--out', out)
    assert code in (0, None), text
    with open(out / 'results.csv') as handle:
        table = list(csv.DictReader(handle))
    assert [(r['steps'], r['reg_wt'], r['runs']) for r in table] == [('100', '1', '1'), ('1500', '1', '3'),
                                                                      ('1500', '4', '2'), ('1500', '16', '1')]
    assert float(table[1]['mig/mig_mean']) == pytest.approx(0.4) and float(table[1]['mig/mig_std']) == pytest.approx(0.2)
    assert float(table[2]['eval/loss_mean']) == pytest.approx(25.0)
    assert float(table[2]['eval/loss_std']) == pytest.approx(math.sqrt(50))
    assert table[0]['mig/mig_std'] == '' and table[3]['mig/mig_n'] == '0' and table[3]['mig/mig_mean'] == ''
    assert 'seed' not in table[0] and 'lr' not in table[0]             # only the keys that vary
    assert '0.4 ± 0.2 (3)' in text and '1 runs have no scores' in text and '251231' in text
    for name in ('mig-mig_vs_reg_wt.png', 'mig-mig_by-config.png', 'eval-loss_vs_reg_wt.png'):
        assert (out / 'plots' / name).stat().st_size > 1000
    assert (out / 'plots' / 'mig-mig_vs_reg_wt.png').read_bytes()[:4] == b'\x89PNG'
    # the runs may also be named as plain words, as `fig results SWEEP` reads
    code, again = run_in_process('results', runs, '--metric', 'mig', '--out', tmp_path / 'again', '--plots', 'false')
    assert code in (0, None), again
    assert '0.4 ± 0.2 (3)' in again and (tmp_path / 'again' / 'results.csv').read_text().count('\n') == 5


def test_fig_results_errors_name_what_exists(tmp_path):
    runs = tmp_path / 'runs'
    _runs(runs)
    code, text = run_in_process('results', '--runs', runs, '--metric', 'mgi', '--out', tmp_path / 'o')
    assert code == 2 and 'No score matches --metric mgi' in text and 'mig/mig' in text
    code, text = run_in_process('results', '--runs', runs, '--axis', 'beta', '--out', tmp_path / 'o')
    assert code == 2 and 'reg_wt, steps' in text
    code, text = run_in_process('results', '--runs', tmp_path / 'nothing-here', '--out', tmp_path / 'o')
    assert code == 2 and 'is not a run' in text and 'Traceback' not in text
    code, text = run_in_process('results')
    assert code == 2 and '--runs SWEEP' in text
