"""``fig eval-metrics [eval/<suite>] --load RUN [RUN2 ...]``: disentanglement metrics, saved as each finishes.

One run: scores it with a metric suite and writes ``results/metrics-<suite>.json`` (``--ident`` names it
otherwise): the suite's name (``eval/fast``), seed and parameters, and per metric its values, protocol
parameters, seed, checkpoint step and seconds (or why it was skipped); also TensorBoard scalars
``metrics/<metric>/<key>``. The suite is the one named on the command line (``fig eval-metrics eval/fast --load
RUN``), else ``config/eval/<dataset>.yaml`` for the run's dataset, else ``config/eval/default.yaml``.

The file is rewritten (atomically) after every metric, so a stop loses only the metric in progress. Ctrl-C or
SIGTERM stops with one line and exit status 130 (SIGINT) or 143 (SIGTERM), the shell's convention for a
command ended by a signal. Running the same command again computes only the metrics the file lacks, or whose
protocol parameters, seed or checkpoint step differ; ``--recompute true`` computes all. Before it starts, the
script prints an estimate of the time (a timed batch of encodings and a cost model, ``framework.metrics.estimate``)
and, above ``--estimate_limit`` seconds, names the small-sample suite ``eval/fast``.

Several runs (``--load RUN1 RUN2`` or a folder of runs): each is scored as above, then one CSV table (``--out``,
default ``<runs_root>/metrics_summary.csv``) gives the mean, std and n of every score per configuration: runs
whose saved configs agree but for the seed (``fig results`` groups them the same way and also plots).
"""
from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from .. import runs
from ..config import ROOT, compose, load_yaml
from ..config.provenance import COMMAND_LINE
from ..errors import ConfigError, DataError, FrameworkError
from ..metrics.common import needs_factors
from ..metrics.estimate import estimate_suite, format_duration
from ..metrics.suite import is_current, metrics_needing_factors, protocol_of, run_suite
from ..registry import register
from ..settings import settings_from
from ..loading import load_run
from .common import component_name, runs_root
from .stopping import EXIT_STATUS, stop_on_signals

SUITE_DIR = ROOT / 'config' / 'eval'
DEFAULT_SUITE = 'default'
FAST_SUITE = 'fast'


@dataclass
class EvalMetricsSettings:
    """The top-level keys of ``fig eval-metrics``."""
    metrics: dict | None = None      # the suite, {metric: protocol parameters}; a config/eval/*.yaml file sets it
    metrics_seed: int | None = None  # seed of every metric's draws (default: the suite file's metrics_seed, else 0)
    ident: str | None = None         # results/<ident>.json (default: metrics-<suite>, e.g. metrics-fast)
    out: str | None = None           # several runs: the CSV table (default: <runs_root>/metrics_summary.csv)
    recompute: bool = False          # recompute every metric, also those the results file already holds
    estimate_limit: float = 600.0    # seconds: a longer estimated suite is announced with the fast alternative
    parity: str | None = None        # recorded with the results: the published code's protocol a plugin suite follows
    dataset_tag: str | None = None   # the run's dataset tag (its config.yaml); picks config/eval/<tag>.yaml


@dataclass
class Suite:
    """A metric suite and where it came from: ``name`` is what a user typed (``eval/fast``)."""
    metrics: dict
    seed: int
    name: str
    stem: str                        # the results file is results/metrics-<stem>.json

    @property
    def ident(self) -> str:
        return f'metrics-{self.stem}'


@dataclass
class Progress:
    """What a stop would leave behind: the results file and how many of the suite's metrics it holds."""
    path: Path | None = None
    done: int = 0
    total: int = 0
    running: str | None = None
    runs_done: list = field(default_factory=list)


@register.script('eval-metrics', settings=EvalMetricsSettings)
def eval_metrics(cfg):
    """Score trained runs with a disentanglement metric suite, saving each metric as it finishes."""
    settings = settings_from(cfg, EvalMetricsSettings)
    load = cfg.get('load', None)
    if load is None:
        raise ConfigError('eval-metrics scores a trained run: `fig eval-metrics --load RUN` '
                          '(a run name under trained_nets/, a path, several runs, or a folder of runs).')
    named = named_suite(cfg, settings)
    progress = Progress()
    try:
        with stop_on_signals():
            if isinstance(load, (str, Path)):
                output = score_run(cfg, settings, named, progress)
                check_failures([output])
            else:
                output = score_runs(cfg, settings, named, [Path(p) for p in load], progress)
                check_failures(output['runs'])
            return output
    except KeyboardInterrupt as stop:
        name = getattr(stop, 'signal_name', 'SIGINT')
        tqdm.write(stopped_line(name, progress), file=sys.stderr)
        raise SystemExit(EXIT_STATUS[name]) from None


def score_runs(cfg, settings: EvalMetricsSettings, named: Suite | None, paths: list[Path], progress: Progress) -> dict:
    """Score each run (each resumes like one run), then write the table of configurations (``summarize_runs``)."""
    keys = set(EvalMetricsSettings.__dataclass_fields__) | {'load'}
    overrides = {k: v for k, v in cfg.to_dict().items() if k not in keys}
    reports = []
    for path in paths:
        run_cfg = compose(str(path / runs.RUN_CONFIG_FILE), **overrides, load=str(path))
        reports.append(score_run(run_cfg, settings, named, progress))
        progress.runs_done.append(path.name)
    out = Path(settings.out) if settings.out else runs_root(cfg) / 'metrics_summary.csv'
    summarize_runs(reports, paths, out)
    tqdm.write(f'{len(reports)} runs: {out}')
    return {'runs': reports, 'summary': str(out)}


def score_run(cfg, settings: EvalMetricsSettings, named: Suite | None = None, progress: Progress | None = None) -> dict:
    """Score the run of ``cfg`` (``--load RUN``) with its suite, saving the JSON after every metric."""
    progress = progress or Progress()
    run = load_run(cfg)
    dataset = run.dataset('full')
    suite = named or dataset_suite(cfg, dataset, settings)
    needing = metrics_needing_factors(suite.metrics, dataset)
    if needing:
        raise DataError(f'{run.run_dir.name}: {dataset.name} has no ground-truth factors, and the metrics '
                        f'{", ".join(needing)} of suite {suite.name} need them. Score a run trained on a dataset '
                        f'with factors, or use `fig eval --load RUN` for reconstruction scores.')
    ident = settings.ident or suite.ident
    path = run.run_dir / 'results' / f'{ident}.json'
    checkpoint = run.checkpoint.name              # the file scored: last.pt, or the newest intact one
    previous = {} if settings.recompute else earlier_results(path, run.step)
    protocols = {name: protocol_of(name, params)[1] for name, params in suite.metrics.items()}
    report = {
        'ident': ident, 'run': run.run_dir.name, 'step': run.step, 'checkpoint': checkpoint,
        'dataset': dataset.name, 'suite': suite.name, 'seed': suite.seed, 'suite_params': protocols,
        'parity': settings.parity, 'complete': False, 'seconds': 0.0, 'metrics': dict(previous), 'skipped': {},
    }
    todo = announce(run, dataset, suite, protocols, previous, settings)
    progress.path, progress.done, progress.total = path, len(protocols) - len(todo), len(protocols)

    def started(name: str) -> None:
        progress.running = name

    def save(name: str, result: dict) -> None:
        result['step'] = run.step
        report['metrics'][name] = result
        write_report(path, report)
        progress.done += 1
        progress.running = None

    start = time.perf_counter()
    results = run_suite(suite.metrics, dataset, run.method, seed=suite.seed, device=run.device, progress=True,
                        previous=previous, on_result=save, on_start=started, keep_going=True)
    report['metrics'].update(results)
    report['complete'] = not any(result.get('failed') for result in results.values())
    report = write_report(path, report)
    log_scalars(run.run_dir, {n: r for n, r in results.items() if n in todo}, run.step)
    tqdm.write(f'{run.run_dir.name} ({suite.name}, seed {suite.seed}, {time.perf_counter() - start:.1f} s) -> {path}')
    for name, reason in report['skipped'].items():
        tqdm.write(f'  skipped {name}: {reason}')
    return report


def check_failures(reports: list[dict]) -> None:
    """After every run is scored and saved: one error naming the metrics that raised (exit status 2)."""
    failed = [(report, name, result['error']) for report in reports
              for name, result in report['metrics'].items() if result.get('failed')]
    if failed:
        listing = '; '.join(f'{report["run"]}: {name} ({error})' for report, name, error in failed)
        raise FrameworkError(f'{len(failed)} metric(s) failed: {listing}. The other metrics are saved; each '
                             f'failure\'s traceback is in the results file under "traceback". The same command '
                             f'computes only what is missing.')


def announce(run, dataset, suite: Suite, protocols: dict, previous: dict, settings) -> list[str]:
    """Print what is left to compute and how long it should take; return the names left to compute."""
    todo = [n for n, p in protocols.items() if not (n in previous and is_current(previous[n], p, suite.seed))]
    if len(todo) < len(protocols):
        tqdm.write(f'{run.run_dir.name}: {len(protocols) - len(todo)} of {len(protocols)} metrics of {suite.name} '
                   f'already computed; {len(todo)} to go.')
    if not todo or needs_factors(dataset, {}):          # nothing to do, or nothing to draw observations from
        return todo
    estimate = estimate_suite({n: protocols[n] for n in todo}, dataset, run.method, run.device)
    tqdm.write(f'{suite.name} on {run.device.type}: {estimate.describe()}')
    if estimate.seconds > settings.estimate_limit and suite.stem != FAST_SUITE:
        fast = fast_suite_estimate(dataset, run.method, run.device, estimate)
        where = run.run_dir.name if run.run_dir.parent == runs.default_runs_root().resolve() else run.run_dir
        tqdm.write(f'That is more than {format_duration(settings.estimate_limit)}. The small-sample suite takes '
                   f'{fast}: `fig eval-metrics eval/{FAST_SUITE} --load {where}` (noisier, not comparable with '
                   f'published numbers). Ctrl-C stops at any time and keeps the finished metrics; the same command '
                   f'then resumes.')
    return todo


def fast_suite_estimate(dataset, method, device, calibrated) -> str:
    data = load_yaml(SUITE_DIR / f'{FAST_SUITE}.yaml') or {}
    protocols = {name: protocol_of(name, params)[1] for name, params in (data.get('metrics') or {}).items()}
    fast = estimate_suite(protocols, dataset, method, device, calibrated.seconds_per_observation)
    return f'about {format_duration(fast.seconds)}'


def earlier_results(path: Path, step: int) -> dict:
    """The metrics of an earlier results file computed at checkpoint ``step`` (none if the file is unreadable)."""
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        tqdm.write(f'{path} is not readable JSON; its metrics are computed again.')
        return {}
    metrics = data.get('metrics') if isinstance(data, dict) else None
    if not isinstance(metrics, dict):
        return {}
    return {name: result for name, result in metrics.items()
            if isinstance(result, dict) and result.get('step', data.get('step')) == step}


def write_report(path: Path, report: dict) -> dict:
    """Atomically rewrite the results file with ``report`` (its total seconds and skip reasons brought up to date)."""
    metrics = report['metrics']
    report = {**report, 'seconds': round(sum(r.get('seconds', 0.0) for r in metrics.values()), 3),
              'skipped': {name: r['reason'] for name, r in metrics.items() if r.get('skipped')}}
    path.parent.mkdir(parents=True, exist_ok=True)
    runs.write_json_atomic(path, report)
    return report


def named_suite(cfg, settings: EvalMetricsSettings) -> Suite | None:
    """The suite named on the command line (config files or ``--metrics``); None to use the dataset's suite."""
    if settings.metrics is None:
        return None
    files = [label for label, raw in cfg.sources if _defines_metrics(label, raw)]
    argv = cfg.argv
    inline = any(t == '--metrics' or t.startswith(('--metrics.', '--metrics=')) for t in argv)
    if files:
        name, stem = '+'.join(files), '+'.join(Path(n).stem if n.endswith(('.yaml', '.yml')) else Path(n).name
                                               for n in files)
    else:
        name, stem = ('--metrics', 'custom') if inline else ('config', 'custom')
    return Suite(_checked(settings.metrics, name), int(settings.metrics_seed or 0), name, stem)


def dataset_suite(cfg, dataset, settings: EvalMetricsSettings) -> Suite:
    """``eval/<name>`` for the run's dataset tag, its dataset's ``metric_suite`` or name, else ``eval/default``.

    A suite file may sit in ``config/eval/`` or in a plugin's ``config/eval/``: a plugin declares the default suite
    of its own datasets by shipping ``eval/<dataset tag>.yaml``.
    """
    from ..config import config_names, project
    tag = settings_from(cfg, EvalMetricsSettings).dataset_tag
    names = [tag, getattr(dataset, 'metric_suite', None), getattr(dataset, 'name', None),
             component_name(cfg, 'dataset'), DEFAULT_SUITE]
    known = set(config_names())
    suite = next(f'eval/{n}' for n in names if n and f'eval/{n}' in known)
    path = Path(project().config_manager.find_config_path(suite))
    data = load_yaml(path) or {}
    seed = data.get('metrics_seed', 0) if settings.metrics_seed is None else settings.metrics_seed
    name = f'eval/{path.stem}'
    return Suite(_checked(data.get('metrics'), name), int(seed or 0), name, path.stem)


def _checked(suite, name: str) -> dict:
    if not isinstance(suite, dict) or not suite:
        raise ConfigError(f'The metric suite ({name}) is empty or not a mapping: `metrics:` must map metric names '
                          f'to their parameters, e.g. `metrics: {{mig: {{num_train: 10000}}}}` (see config/eval/).')
    return {metric: dict(params or {}) for metric, params in suite.items()}


def _defines_metrics(label: str, raw) -> bool:
    """Whether a config file (not the command line, not a run's saved config) sets ``metrics``."""
    if label == COMMAND_LINE or label.endswith(runs.RUN_CONFIG_FILE):
        return False
    return isinstance(raw, dict) and 'metrics' in raw


# --------------------------------------------------------------------------- what a stop leaves behind

def stopped_line(signal_name: str, progress: Progress) -> str:
    """The one line printed on a stop: what was kept, and how to go on."""
    how = 'Ctrl-C' if signal_name == 'SIGINT' else signal_name
    if progress.path is None:
        return f'eval-metrics stopped by {how} before any metric ran; nothing was written.'
    during = f' during {progress.running}' if progress.running else ''
    left = progress.total - progress.done
    runs_note = f' ({len(progress.runs_done)} earlier runs complete)' if progress.runs_done else ''
    return (f'eval-metrics stopped by {how}{during}: {progress.done} of {progress.total} metrics saved in '
            f'{progress.path}{runs_note}; the same command computes the other {left}.')


# --------------------------------------------------------------------------- outputs

def flat_values(results: dict) -> dict[str, float]:
    """``{'mig/mig': 0.3, 'dci/disentanglement': 0.5, ...}`` from a suite's results (skipped ones left out)."""
    return {f'{name}/{key}': float(value) for name, result in results.items()
            for key, value in result.get('values', {}).items()}


def log_scalars(run_dir: Path, results: dict, step: int) -> None:
    if not flat_values(results):
        return
    from torch.utils.tensorboard import SummaryWriter
    writer = SummaryWriter(log_dir=str(run_dir))
    try:
        for key, value in flat_values(results).items():
            writer.add_scalar(f'metrics/{key}', value, step)
    finally:
        writer.flush()
        writer.close()


def summarize_runs(reports: list[dict], paths: list[Path], out: Path) -> None:
    """The table over several runs: one row per configuration (the saved config without the seed), as
    ``fig results`` groups them (``framework/results``), so runs that differ in any setting are never averaged."""
    from ..results import collect, group, metric_names, write_csv
    files = tuple(sorted({f"{report['ident']}.json" for report in reports}))
    groups = group(collect(list(dict.fromkeys(paths)), files))
    write_csv(groups, metric_names(groups), out)
