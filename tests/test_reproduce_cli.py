"""``fig reproduce`` from the command line: the listing, ``--dry_run`` of every declared experiment at both scales,
help and errors, and a tiny experiment run to its table, then continued without retraining."""
from __future__ import annotations

import csv
import json

import pytest
import yaml

from framework.reproduce import all_experiments
from framework.testing import run_in_process

TINY = {
    'name': 'tiny-vec', 'title': 'AE against VAE on toy vectors', 'paper': 'Nobody, "A test", 2024',
    'data': {'paper': 'd/vec', 'cpu': 'd/vec, 200 points'},
    'rows': [{'key': 'ae', 'label': 'AE', 'configs': ['a/mlp', 'm/ae', 'd/vec']},
             {'key': 'vae', 'label': 'VAE', 'configs': ['a/mlp', 'm/vae', 'd/vec']}],
    'scores': [{'key': 'loss', 'label': 'val loss', 'file': 'quick', 'path': 'scores.loss', 'better': 'lower'}],
    'evaluate': [{'script': 'eval', 'ident': 'quick', 'flags': {'mode': 'val'}}],
    'claims': [{'text': 'The AE reconstructs better than the VAE.', 'score': 'loss', 'order': ['ae', 'vae']}],
    'published': [{'row': 'ae', 'score': 'loss', 'value': 0.5, 'source': 'Table 9 of nothing'}],
    'scales': {'paper': {'seeds': [0, 1, 2], 'device': 'GPU', 'hours_per_run': 1.0},
               'cpu': {'seeds': [0, 1], 'device': '2 CPU cores', 'hours_per_run': 0.01,
                       'flags': {'steps': 3, 'dataset.num_samples': 200, 'batch_size': 16, 'progress': False}}},
}


@pytest.fixture
def tiny_experiment(tmp_path, monkeypatch):
    folder = tmp_path / 'experiments'
    folder.mkdir()
    (folder / 'tiny-vec.yaml').write_text(yaml.safe_dump(TINY))
    monkeypatch.setattr('framework.reproduce.discovery.CORE_DIR', folder)
    return folder


def test_listing_names_every_experiment_with_runs_and_cost():
    code, out = run_in_process('reproduce')
    assert code in (0, None), out
    for name, (owner, experiment) in all_experiments().items():
        assert f'{name}  [{owner}]' in out
        assert f'{experiment.runs("cpu")} runs' in out and f'{experiment.runs("paper")} runs' in out
    assert out.count(' h on ') >= 2 * len(all_experiments())


@pytest.mark.parametrize('scale', ['cpu', 'paper'])
@pytest.mark.parametrize('name', sorted(all_experiments()))
def test_dry_run_lists_every_run_and_runs_nothing(name, scale, tmp_path):
    code, out = run_in_process('reproduce', name, '--dry_run', 'true', '--scale', scale, '--runs_root', str(tmp_path))
    assert code in (0, None), out
    experiment = all_experiments()[name][1]
    assert out.count('(to train): fig train ') == experiment.runs(scale)
    assert out.count('      then: fig ') == experiment.runs(scale) * len(experiment.evaluate)
    for row in experiment.rows:
        assert f'[{row.key}]' in out
    assert not (tmp_path / 'sweeps').exists()            # nothing written


def test_help_and_errors():
    code, out = run_in_process('reproduce', '-h')
    assert code == 0 and out.startswith('Usage: fig reproduce'), out
    assert 'fig reproduce NAME --dry_run true' in out and 'paper' in out and 'dry_run' in out
    code, out = run_in_process('reproduce', 'msp-equivariance')
    assert code == 2 and "Did you mean 'msp-equivariance-3ds'" in out
    code, out = run_in_process('reproduce', 'baselines-dsprites', '--scale', 'laptop')
    assert code == 2 and 'scale' in out


@pytest.mark.slow
def test_a_tiny_experiment_runs_to_its_table_and_continues(tiny_experiment, tmp_path):
    root = tmp_path / 'runs'
    code, out = run_in_process('reproduce', 'tiny-vec', '--table', 'true', '--runs_root', str(root))
    assert code in (0, None), out
    assert '0 of 4 runs exist' in out

    code, out = run_in_process('reproduce', 'tiny-vec', '--workers', '2', '--runs_root', str(root))
    assert code in (0, None), out
    assert 'Claim: The AE reconstructs better than the VAE.' in out
    table = root / 'reproduce' / 'tiny-vec' / 'cpu'
    rows = {r['row']: r for r in csv.DictReader((table / 'table.csv').open())}
    assert rows['ae']['loss_n'] == '2' and rows['vae']['loss_n'] == '2'
    assert rows['ae']['loss_paper'] == '0.5' and rows['ae']['loss_paper_source'] == 'Table 9 of nothing'
    assert (table / 'table.png').stat().st_size > 1000
    # the table's mean is the mean of the runs' own results files
    ae_runs = sorted((root / 'sweeps').glob('reproduce-cpu-ae-*/seed-*'))
    losses = [json.loads((r / 'results' / 'quick.json').read_text())['scores']['loss'] for r in ae_runs]
    assert float(rows['ae']['loss_mean']) == pytest.approx(sum(losses) / 2, rel=1e-5)

    stamps = {r: (r / 'results' / 'quick.json').stat().st_mtime_ns for r in ae_runs}
    code, out = run_in_process('reproduce', 'tiny-vec', '--runs_root', str(root))
    assert code in (0, None), out
    assert '2 already finished, 0 to run' in out and 'scoring' not in out
    assert stamps == {r: (r / 'results' / 'quick.json').stat().st_mtime_ns for r in ae_runs}
