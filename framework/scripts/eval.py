"""``fig eval --load RUN [--mode val|test] [--ident NAME]``: reconstruction loss and the method's own scores."""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import torch
from tqdm import tqdm

from .. import runs
from ..data.base import SPLITS
from ..registry import register
from ..settings import setting, settings_from
from ..loading import load_run


@dataclass
class EvalSettings:
    mode: str = setting('val', 'the split to score', choices=SPLITS)
    ident: str = setting('eval', 'name of the result: results/<ident>.json')
    batch_size: int = setting(128, 'observations per batch (a loaded run keeps its training batch size)', min=1)
    eval_batches: int = setting(0, 'batches to score (0: the whole split)', min=0)


@register.script('eval', settings=EvalSettings)
def evaluate(cfg):
    """Score a trained run on its validation or test split; writes results/<ident>.json."""
    settings = settings_from(cfg, EvalSettings)
    run = load_run(cfg)
    return evaluate_split(run.method, run.dataset(settings.mode), run.device, run.run_dir, settings.ident, settings.mode,
                          run.step, batch_size=settings.batch_size, max_batches=settings.eval_batches)


@torch.no_grad()
def evaluate_split(method, dataset, device, run_dir: Path, ident: str, mode: str, step: int,
                   batch_size: int = 128, max_batches: int = 0) -> dict:
    """Average ``method.evaluation_step`` over the split (all of it, or ``max_batches`` batches)."""
    was_training = method.training
    method.eval()
    start = time.perf_counter()
    order = torch.arange(len(dataset))
    chunks = list(order.split(batch_size))
    if max_batches:
        chunks = chunks[:max_batches]
    sums: dict[str, float] = {}
    seen = 0
    for chunk in tqdm(chunks, desc=f'eval {mode}', leave=False, mininterval=0.5):
        batch = {k: v.to(device) for k, v in dataset.batch(chunk).items()}
        out = method.evaluation_step(batch)
        for key, value in out.items():
            if torch.is_tensor(value) and value.numel() == 1:
                sums[key] = sums.get(key, 0.0) + float(value) * len(chunk)
        seen += len(chunk)
    method.train(was_training)
    scores = {k: v / max(seen, 1) for k, v in sums.items()}
    result = {'ident': ident, 'mode': mode, 'step': step, 'observations': seen, 'scores': scores,
              'seconds': round(time.perf_counter() - start, 3)}
    runs.write_json_atomic(Path(run_dir) / 'results' / f'{ident}.json', result)
    tqdm.write(f'{ident} ({mode}, step {step}): ' + ', '.join(f'{k}={v:.4g}' for k, v in scores.items()))
    return result
