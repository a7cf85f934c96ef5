"""``fig eval-metrics`` end to end: train a tiny run, score it with a suite, check the JSON, TensorBoard and CSV."""
from __future__ import annotations

import csv
import json
import re
import shutil

import pytest

from framework.testing import only_run, run_cli, run_in_process


def fig(*args):
    """The command line in this process (no interpreter start); asserts it succeeded."""
    code, text = run_in_process(*map(str, args))
    assert code in (0, None), text[-3000:]
    return text


@pytest.fixture(scope='module')
def trained_run(tmp_path_factory):
    root = tmp_path_factory.mktemp('runs')
    fig('train', 'hybrid', 'a/mlp', 'm/vae', 'd/vec', '--steps', 20, '--dataset.num_samples', 2000,
        '--encoder.hidden', '[32]', '--decoder.hidden', '[32]', '--include_eval', 'false', '--progress', 'false',
        '--runs_root', root)
    return root, only_run(root)


@pytest.mark.slow
def test_eval_metrics_fast_suite_writes_results_and_tensorboard(trained_run):
    root, run = trained_run
    done = run_cli('eval-metrics', 'eval/fast', '--load', run.name, runs_root=root)   # the real `python main.py`
    report = json.loads((run / 'results' / 'metrics-fast.json').read_text())       # the suite's own file
    assert report['run'] == run.name and report['seed'] == 0 and report['dataset'] == 'vec'
    assert report['suite'] == 'eval/fast' and report['complete'] is True
    assert report['suite_params']['irs']['num_train'] == 1000           # the suite's full protocol, recorded
    assert 'eval/fast on cpu: ' in done.stdout and 'metric 7/7: factor-vae' in done.stdout
    metrics = report['metrics']
    assert set(metrics) == {'mig', 'dci', 'sap', 'modularity-explicitness', 'irs', 'beta-vae', 'factor-vae'}
    # vec's factors are continuous: the metrics that need classes are skipped, with the reason recorded
    for name in ('mig', 'dci', 'sap', 'modularity-explicitness'):
        assert metrics[name]['skipped'] and 'continuous' in report['skipped'][name]
    for name in ('irs', 'beta-vae', 'factor-vae'):
        assert metrics[name]['seconds'] >= 0 and metrics[name]['seed'] == 0
        assert all(isinstance(v, (int, float)) for v in metrics[name]['values'].values())
    assert metrics['irs']['params']['num_train'] == 1000 and metrics['beta-vae']['params']['batch_size'] == 16
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    events = EventAccumulator(str(run)).Reload()
    assert 'metrics/irs/irs' in events.Tags()['scalars']


def test_eval_metrics_over_several_runs_groups_them_by_configuration(trained_run, tmp_path):
    root, run = trained_run
    twin = root / f'{run.name}-2'                 # another seed of the same configuration (the same weights here)
    other = root / f'{run.name}-3'                # a name that differs only by its suffix, but trained 7 steps
    for copy, pattern, value in ((twin, r'(?m)^seed: 0$', 'seed: 5'), (other, r'(?m)^steps: \d+$', 'steps: 7')):
        shutil.copytree(run, copy)
        text, count = re.subn(pattern, value, (copy / 'config.yaml').read_text())
        assert count == 1
        (copy / 'config.yaml').write_text(text)
    suite = tmp_path / 'tiny.yaml'
    suite.write_text('metrics_seed: 1\nmetrics:\n  irs: {num_train: 500}\n'
                     '  sap: {num_train: 500, num_test: 200, continuous_factors: true}\n')
    out = tmp_path / 'table.csv'
    fig('eval-metrics', suite, '--load', run, twin, other, run, '--runs_root', root, '--ident', 'tiny', '--out', out)
    first, second = (json.loads((r / 'results' / 'tiny.json').read_text()) for r in (run, twin))
    assert first['seed'] == 1 and first['metrics']['irs']['values'] == second['metrics']['irs']['values']
    rows = {row['run_names']: row for row in csv.DictReader(out.open())}
    # runs are never merged by their names (that put runs of 1500 and 100 steps together): by saved config less
    # the seed, so the two seeds are one row and the 7-step run is its own; a run loaded twice counts once
    assert set(rows) == {f'{run.name};{twin.name}', other.name}
    seeds, short = rows[f'{run.name};{twin.name}'], rows[other.name]
    assert (seeds['runs'], seeds['steps'], short['runs'], short['steps']) == ('2', seeds['steps'], '1', '7')
    assert seeds['steps'] != '7' and float(seeds['irs/irs_std']) == 0.0 and short['irs/irs_std'] == ''
    assert float(seeds['sap/sap_mean']) == pytest.approx(first['metrics']['sap']['values']['sap'], abs=1e-5)


def test_a_dataset_without_factors_is_refused_with_the_metrics_named(monkeypatch, tmp_path):
    import torch
    from framework.data.base import InMemoryDataset
    from framework.errors import DataError
    from framework.scripts import eval_metrics
    from framework.config import Config
    from framework.loading import Run

    class Faces(InMemoryDataset):
        name = 'celeba'
        has_factors = False
        factor_names = ()
        factor_sizes = None

    run = Run(tmp_path, torch.nn.Identity(), {}, 0, torch.device('cpu'), tmp_path / 'last.pt',
              _splits={'full': Faces(torch.zeros(4, 3))})
    monkeypatch.setattr(eval_metrics, 'load_run', lambda cfg: run)
    cfg = Config({'load': str(tmp_path)})
    suite = eval_metrics.Suite({'mig': {}, 'dci': {}}, 0, 'eval/test', 'test')
    with pytest.raises(DataError, match='celeba has no ground-truth factors.*mig, dci'):
        eval_metrics.score_run(cfg, eval_metrics.EvalMetricsSettings(), suite)
