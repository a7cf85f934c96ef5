"""A small offline experiment on ``d/vec``: SAE-12 vs AdaAE-12 vs the conv12 AE (plugins/sae/README.md table).

    python bench/sae_vec.py --steps 600 --seeds 0 --out /tmp/sae_bench

Each model is trained with the README's command (plus ``--steps``), then scored with ``fig responses``
(both definitions, reduced protocol) and with MIG and DCI (``framework.metrics`` array forms) on the
8 continuous ``vec`` factors, each discretised into 10 equal-frequency classes. Prints a Markdown table.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
MODELS = {
    'SAE-12': ['hybrid', 'a/e/conv12', 'a/d/strc/12', 'm/ae', 'd/vec'],
    'AdaAE-12': ['hybrid', 'nosplit', 'a/e/conv12', 'a/d/strc/12', 'm/ae', 'd/vec'],
    'AE': ['hybrid', 'a/conv12', 'm/ae', 'd/vec'],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--steps', type=int, default=600)
    parser.add_argument('--seeds', type=int, nargs='+', default=[0])
    parser.add_argument('--num-samples', type=int, default=20000)
    parser.add_argument('--models', nargs='+', default=list(MODELS))
    parser.add_argument('--out', default='/tmp/sae_bench')
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for name in args.models:
        for seed in args.seeds:
            rows.append(run_one(name, seed, args, out))
            (out / 'table.json').write_text(json.dumps(rows, indent=1))
    print(markdown(rows))


def run_one(name: str, seed: int, args, out: Path) -> dict:
    root = out / f'{name}_s{seed}'
    start = time.perf_counter()
    cli([*MODELS[name], '--steps', str(args.steps), '--seed', str(seed), '--dataset.num_samples',
         str(args.num_samples), '--runs_root', str(root), '--viz-every', '0', '--ckpt-every', str(args.steps),
         '--log-every', '100', '--progress', 'false'], 'train')
    train_seconds = time.perf_counter() - start
    run = next(p for p in root.iterdir() if (p / 'config.yaml').exists())
    # the protocol of the README table: pool of 2000 codes, 10 groups / traversals of 32 codes per factor, the
    # 2022 d x d matrix from the encoded pool (so the scores are the ones the table was measured with)
    cli(['--load', str(run), '--num-latent', '2000', '--num-response', '100', '--num-groups', '10',
         '--num-traversals', '10', '--traversal-samples', '32', '--response-base', 'data'], 'responses')
    r21 = json.loads((run / 'results' / 'responses-2021.json').read_text())
    r22 = json.loads((run / 'results' / 'responses-2022.json').read_text())
    val = json.loads((run / 'results' / 'eval.json').read_text())['scores']
    row = {'model': name, 'seed': seed, 'steps': args.steps, 'train_seconds': round(train_seconds, 1),
           'val_rec_loss': val['rec_loss'], 'responses_2021': r21['score'], 'cds_2022': r22['score'],
           **factor_metrics(run), 'run': str(run)}
    print(json.dumps(row), flush=True)
    return row


def cli(argv: list[str], script: str) -> None:
    env = dict(os.environ, OMP_NUM_THREADS='1')
    subprocess.run([sys.executable, str(ROOT / 'main.py'), script, *argv], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL)


def factor_metrics(run: Path, num_train: int = 2000, num_test: int = 1000, classes: int = 10) -> dict:
    """MIG and DCI of the run's codes against the vec factors cut into ``classes`` equal-frequency classes."""
    sys.path.insert(0, str(ROOT))
    import framework
    from framework.metrics.dci_scores import dci
    from framework.metrics.mutual_information_gap import mig
    torch.set_num_threads(1)
    loaded = framework.load_run(run)
    val = loaded.dataset('val')
    generator = torch.Generator().manual_seed(0)
    factors = val.sample_factors(num_train + num_test, generator)
    with torch.no_grad():
        codes = loaded.method.represent(val.images_for(factors)).double().numpy()
    edges = np.quantile(factors.numpy(), np.linspace(0, 1, classes + 1)[1:-1], axis=0)     # (classes-1, F)
    labels = np.stack([np.searchsorted(edges[:, f], factors[:, f].numpy()) for f in range(factors.shape[1])], 1)
    scores = dci(codes[:num_train], labels[:num_train], codes[num_train:], labels[num_train:], n_jobs=1)
    return {'mig': mig(codes, labels)['mig'], 'dci_d': scores['disentanglement'],
            'dci_c': scores['completeness'], 'dci_i_test': scores['informativeness_test']}


def markdown(rows: list[dict]) -> str:
    lines = ['| model | seed | steps | val rec_loss | responses 2021 | CDS 2022 | MIG | DCI-D | DCI-C |',
             '|---|---|---|---|---|---|---|---|---|']
    for r in rows:
        lines.append(f"| {r['model']} | {r['seed']} | {r['steps']} | {r['val_rec_loss']:.3f} | "
                     f"{r['responses_2021']:.3f} | {r['cds_2022']:.3f} | {r['mig']:.3f} | {r['dci_d']:.3f} | "
                     f"{r['dci_c']:.3f} |")
    return '\n'.join(lines)


if __name__ == '__main__':
    main()
