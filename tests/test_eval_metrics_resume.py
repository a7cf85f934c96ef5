"""``fig eval-metrics`` keeps its work: results saved per metric, a clean stop on Ctrl-C/SIGTERM, a rerun that
computes only what is missing or stale, one results file per suite, and the estimate printed before it starts.

The metrics here are registered by the test: they count their calls and return their parameter, so which
metrics a rerun computes is read off the counts, not off timings.
"""
from __future__ import annotations

import json
import os
import signal
from collections import Counter

import pytest

from framework import registry
from framework.testing import only_run, run_in_process

pytestmark = pytest.mark.slow        # end-to-end runs of the command line (.ci/run runs them)

CALLS: Counter = Counter()
STOP = {'signal': None}          # what the 'test-stop' metric does on its next call: a signal, 'raise', 'fail'


def _count(key):
    def evaluate(dataset, represent, generator, scale: float = 1.0, device=None):
        CALLS[key] += 1
        return {'value': scale}
    evaluate.__name__ = f'evaluate_{key}'
    return evaluate


def _stop(dataset, represent, generator, scale: float = 1.0, device=None):
    """Stops the process once (the signal in STOP), as a user's Ctrl-C during this metric would."""
    CALLS['stop'] += 1
    sent, STOP['signal'] = STOP['signal'], None
    if sent == 'raise':
        raise KeyboardInterrupt
    if sent == 'fail':
        raise ValueError('a bug in this metric')
    if sent is not None:
        os.kill(os.getpid(), sent)
    return {'value': scale}


@pytest.fixture(scope='module', autouse=True)
def test_metrics():
    names = {'test-first': _count('first'), 'test-stop': _stop, 'test-last': _count('last')}
    for name, fn in names.items():
        registry.add('metric', name, fn, 'a metric of the resume tests')
    yield
    for name in names:
        registry._index['metric'].pop(name, None)


@pytest.fixture(scope='module')
def trained_run(tmp_path_factory):
    root = tmp_path_factory.mktemp('runs')
    code, text = run_in_process('train', 'hybrid', 'a/mlp', 'm/vae', 'd/vec', '--steps', 5, '--dataset.num_samples',
                                500, '--encoder.hidden', '[16]', '--decoder.hidden', '[16]', '--include_eval', 'false',
                                '--progress', 'false', '--runs_root', root)
    assert code in (0, None), text[-3000:]
    return root, only_run(root)


def suite_file(folder, name, first_scale=1.0):
    path = folder / f'{name}.yaml'
    path.write_text(f'metrics_seed: 3\nmetrics:\n  test-first: {{scale: {first_scale}}}\n  test-stop: {{}}\n'
                    f'  test-last: {{scale: 5.0}}\n')
    return path


def fig(*args):
    return run_in_process('eval-metrics', *map(str, args))


def test_a_stop_keeps_finished_metrics_and_the_rerun_computes_only_the_rest(trained_run, tmp_path):
    root, run = trained_run
    suite = suite_file(tmp_path, 'counting')
    results = run / 'results' / 'metrics-counting.json'
    CALLS.clear()
    STOP['signal'] = 'raise'                                  # Ctrl-C during the second metric
    code, text = fig(suite, '--load', run, '--runs_root', root)
    assert code == 130, text[-2000:]
    assert 'Traceback' not in text
    stop_lines = [line for line in text.splitlines() if 'stopped' in line]
    assert stop_lines == [f'eval-metrics stopped by Ctrl-C during test-stop: 1 of 3 metrics saved in {results}; '
                          f'the same command computes the other 2.']
    saved = json.loads(results.read_text())
    assert list(saved['metrics']) == ['test-first'] and saved['complete'] is False
    assert CALLS == {'first': 1, 'stop': 1}

    code, text = fig(suite, '--load', run, '--runs_root', root)   # the rerun: only the two missing metrics
    assert code in (0, None), text[-2000:]
    assert CALLS == {'first': 1, 'stop': 2, 'last': 1}
    assert '1 of 3 metrics of' in text and 'metric 1/3: test-first kept' in text
    saved = json.loads(results.read_text())
    assert saved['complete'] is True and list(saved['metrics']) == ['test-first', 'test-stop', 'test-last']
    assert saved['metrics']['test-last']['values'] == {'value': 5.0} and saved['seed'] == 3
    assert all(result['step'] == saved['step'] == 5 for result in saved['metrics'].values())

    fig(suite, '--load', run, '--runs_root', root)                 # all there: nothing computed
    assert CALLS == {'first': 1, 'stop': 2, 'last': 1}
    fig(suite, '--load', run, '--runs_root', root, '--recompute', 'true')
    assert CALLS == {'first': 2, 'stop': 3, 'last': 2}


def test_changed_parameters_or_checkpoint_step_recompute_that_metric(trained_run, tmp_path):
    root, run = trained_run
    suite = suite_file(tmp_path, 'stale')
    results = run / 'results' / 'metrics-stale.json'
    CALLS.clear()
    fig(suite, '--load', run, '--runs_root', root)
    assert CALLS == {'first': 1, 'stop': 1, 'last': 1}
    suite_file(tmp_path, 'stale', first_scale=2.0)                # the suite file changed one protocol parameter
    fig(suite, '--load', run, '--runs_root', root)
    assert CALLS == {'first': 2, 'stop': 1, 'last': 1}
    assert json.loads(results.read_text())['metrics']['test-first']['values'] == {'value': 2.0}
    saved = json.loads(results.read_text())
    saved['metrics']['test-last']['step'] = 4                     # as if scored at an earlier checkpoint
    results.write_text(json.dumps(saved))
    fig(suite, '--load', run, '--runs_root', root)
    assert CALLS == {'first': 2, 'stop': 1, 'last': 2}


def test_sigterm_stops_cleanly_with_status_143(trained_run, tmp_path):
    root, run = trained_run
    suite = suite_file(tmp_path, 'terminated')
    CALLS.clear()
    STOP['signal'] = signal.SIGTERM
    code, text = fig(suite, '--load', run, '--runs_root', root)
    assert code == 143 and 'Traceback' not in text
    assert 'eval-metrics stopped by SIGTERM during test-stop: 1 of 3 metrics saved' in text
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL     # the handler is gone after the script


def test_each_suite_has_its_own_file_named_after_it(trained_run, tmp_path):
    root, run = trained_run
    for name in ('alpha', 'beta'):
        fig(suite_file(tmp_path, name), '--load', run, '--runs_root', root)
    alpha, beta = (json.loads((run / 'results' / f'metrics-{n}.json').read_text()) for n in ('alpha', 'beta'))
    assert alpha['suite'] == str(tmp_path / 'alpha.yaml') and beta['suite'] == str(tmp_path / 'beta.yaml')
    assert alpha['ident'] == 'metrics-alpha' and alpha['suite_params']['test-last'] == {'scale': 5.0}
    fig(suite_file(tmp_path, 'alpha'), '--load', run, '--runs_root', root, '--ident', 'mine')
    assert json.loads((run / 'results' / 'mine.json').read_text())['suite'] == str(tmp_path / 'alpha.yaml')


def test_a_registered_suite_is_recorded_by_its_config_name(trained_run):
    root, run = trained_run
    code, text = fig('eval/fast', '--load', run, '--runs_root', root, '--metrics', '{irs: {num_train: 200}}')
    assert code in (0, None), text[-2000:]
    report = json.loads((run / 'results' / 'metrics-fast.json').read_text())
    assert report['suite'] == 'eval/fast' and report['metrics']['irs']['params']['num_train'] == 200


def test_the_estimate_is_printed_and_a_long_one_names_the_fast_suite(trained_run, tmp_path):
    root, run = trained_run
    suite = tmp_path / 'estimated.yaml'
    suite.write_text('metrics:\n  irs: {num_train: 300}\n  beta-vae: {batch_size: 4, num_train: 20, num_eval: 10}\n')
    code, text = fig(suite, '--load', run, '--runs_root', root, '--estimate_limit', 0)
    assert code in (0, None), text[-2000:]
    # irs draws 300 points; beta-vae encodes 2 x 4 x (20 + 10) = 240: 540 observations
    assert f'{suite} on cpu: ' in text and '(540 observations rendered and encoded' in text
    assert 'That is more than 0 s. The small-sample suite takes about' in text and 'eval/fast --load' in text
    code, text = fig(suite, '--load', run, '--runs_root', root, '--recompute', 'true')
    assert 'That is more than' not in text


def test_a_failing_metric_does_not_cost_the_others(trained_run, tmp_path):
    root, run = trained_run
    suite = suite_file(tmp_path, 'failing')
    results = run / 'results' / 'metrics-failing.json'
    CALLS.clear()
    STOP['signal'] = 'fail'
    code, text = fig(suite, '--load', run, '--runs_root', root)
    assert code == 2 and 'Traceback' not in text
    assert 'error: 1 metric(s) failed: ' in text and 'test-stop (ValueError: a bug in this metric)' in text
    saved = json.loads(results.read_text())
    assert saved['complete'] is False and saved['metrics']['test-last']['values'] == {'value': 5.0}
    failure = saved['metrics']['test-stop']
    assert failure['failed'] and 'raise ValueError' in failure['traceback']
    assert CALLS == {'first': 1, 'stop': 1, 'last': 1}
    code, text = fig(suite, '--load', run, '--runs_root', root)   # the rerun retries the failed metric only
    assert code in (0, None), text[-2000:]
    assert CALLS == {'first': 1, 'stop': 2, 'last': 1} and json.loads(results.read_text())['complete'] is True


def test_workers_and_batch_sizes_alone_do_not_make_a_result_stale():
    from framework.metrics.suite import is_current
    earlier = {'values': {'v': 1.0}, 'seed': 0, 'params': {'num_train': 100, 'n_jobs': 2, 'encode_batch_size': 256}}
    assert is_current(earlier, {'num_train': 100, 'n_jobs': None, 'encode_batch_size': 64}, 0)
    assert not is_current(earlier, {'num_train': 200, 'n_jobs': 2, 'encode_batch_size': 256}, 0)
    assert not is_current(earlier, {'num_train': 100, 'n_jobs': 2, 'encode_batch_size': 256}, 1)
