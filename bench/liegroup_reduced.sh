#!/usr/bin/env bash
# The README's reduced sprites experiment: beta-VAE (a/dlib m/vae, beta 5) vs the Lie group VAE (a/liegroup
# m/liegroup), SEEDS seeds each, STEPS steps of batch BATCH on 32x32 procedural sprites, scored with
# eval/liegroup-repo-fast. A strongly reduced schedule for a shared CPU: not the paper's protocol.
#   usage: bash bench/liegroup_reduced.sh OUT_DIR [STEPS] [BATCH] [SEEDS]
set -euo pipefail
out=${1:?give an output folder for the runs}
steps=${2:-500}
batch=${3:-32}
seeds=${4:-"0 1"}
cd "$(dirname "$0")/.."
common=(d/sprites --dataset.size 32 --steps "$steps" --batch_size "$batch" --lr 1.0e-3 --runs_root "$out"
        --include_eval false --viz_every 0 --progress false --log_every 25)
for seed in $seeds; do
  nice -n 10 python main.py train a/dlib m/vae "${common[@]}" --reg_wt 5.0 --seed "$seed"
  nice -n 10 python main.py train a/liegroup m/liegroup "${common[@]}" --seed "$seed"
done
for run in "$out"/sprites_liegroup*; do nice -n 10 python main.py liegroup-basis --load "$run"; done
nice -n 10 python main.py eval-metrics eval/liegroup-repo-fast --load "$out"/sprites_* --ident liegroup-repo-fast \
  --out "$out/liegroup_repo_fast.csv"
