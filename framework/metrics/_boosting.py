"""Gradient boosted trees for DCI: scikit-learn's ``GradientBoostingClassifier()``, the same trees, compiled.

The classifier is scikit-learn's with its defaults (log-loss, 100 stages, learning rate 0.1, one depth-3
least-squares regression tree per class per stage on the negative gradient, one per stage for two classes,
Newton leaf steps times (K − 1)/K for K classes: Friedman 2001, "Greedy function approximation", Algorithm 6
and Eq. 32), and so are the initial log-odds, the seeds of the trees (one ``RandomState(random_state)`` draw
per tree), the split search and the impurity-based importances: the raw predictions agree bit for bit (codes
with repeated values aside, see ``_boosting_trees.py``), so the accuracies are the same and the importances
agree to rounding (``tests/test_metrics_dci_boosting.py``).

What differs is the schedule: every factor's classifier advances one stage at a time, and the trees of a stage
(every class of every factor) are grown in ``n_jobs`` threads by the compiled functions of
``_boosting_trees.py``, which sort the points once per dimension instead of once per node and dimension.
``bench/metrics.py`` times it against scikit-learn fit one factor after another.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
from scipy import special, stats

from ._boosting_trees import grow_trees, negative_gradients
from .common import default_jobs

EPSILON = float(np.finfo(np.float64).eps)      # the prior's clip, as scikit-learn's initial predictions have it
RAND_R_MAX = 2147483647         # scikit-learn's trees seed their xorshift generator below this


def boosted_trees(codes_train: np.ndarray, factors_train: np.ndarray, codes_test: np.ndarray,
                  factors_test: np.ndarray, n_estimators: int = 100, learning_rate: float = 0.1,
                  max_depth: int = 3, random_state: int | None = 0, n_jobs: int | None = None,
                  progress: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One boosted classifier per factor column: importances (D, F), train accuracies (F,), test accuracies (F,).

    ``factors_*`` hold class labels (N, F); every column must take at least two values on the training points.
    ``random_state`` is scikit-learn's (it orders the dimensions a tree tries, which decides between cuts
    that score the same); ``n_jobs`` threads grow the trees (``common.default_jobs``).
    """
    codes = _SortedCodes(codes_train, codes_test)
    ensemble = _Ensemble(np.asarray(factors_train), np.asarray(factors_test))
    if ensemble.num_trees == 0:
        return np.zeros((codes.dims, 0)), np.zeros(0), np.zeros(0)
    seeds = np.concatenate([np.random.RandomState(random_state).randint(0, RAND_R_MAX, size=(n_estimators, rows))
                            for rows in ensemble.group_sizes], axis=1).astype(np.int64)       # (stages, T)
    raw_train = np.repeat(ensemble.init[:, None], codes.columns_train.shape[1], axis=1)
    raw_test = np.repeat(ensemble.init[:, None], codes.columns_test.shape[1], axis=1)
    importance = np.zeros((ensemble.num_trees, codes.dims))
    jobs = min(default_jobs(n_jobs), ensemble.num_trees)
    shares = [np.arange(j, ensemble.num_trees, jobs) for j in range(jobs)]   # interleaved: classes cost alike
    from tqdm import tqdm
    with ThreadPoolExecutor(jobs) as pool:
        for stage in tqdm(range(n_estimators), desc='DCI boosting', unit='stage', disable=not progress, leave=False):
            gradient = negative_gradients(raw_train, ensemble.targets, ensemble.group_starts)

            def grow(trees, stage_seeds=seeds[stage], gradient=gradient):
                grow_trees(trees, stage_seeds, gradient, ensemble.targets, raw_train, raw_test, ensemble.leaf_scale,
                           learning_rate, max_depth, codes.order, codes.sorted_values, codes.columns_train,
                           codes.columns_test, codes.reciprocal, importance)
            list(pool.map(grow, shares))            # re-raises a worker's exception here
    return (ensemble.importances(importance), ensemble.accuracies(raw_train, 'train'),
            ensemble.accuracies(raw_test, 'test'))


class _SortedCodes:
    """The codes as scikit-learn's trees read them (float32), by dimension, and each dimension's sort order."""

    def __init__(self, codes_train: np.ndarray, codes_test: np.ndarray):
        with np.errstate(over='ignore'):            # too large for float32: counted below
            x_train, x_test = np.asarray(codes_train, dtype=np.float32), np.asarray(codes_test, dtype=np.float32)
        for name, codes in (('training', x_train), ('test', x_test)):
            bad = int(np.size(codes) - np.isfinite(codes).sum())
            if bad:             # scikit-learn refuses them too; the trees would cut them arbitrarily
                raise ValueError(f'DCI: {bad} of the {name} codes are NaN or infinite in float32 (did the model '
                                 f'diverge?)')
        self.dims = x_train.shape[1]
        self.order = np.ascontiguousarray(np.argsort(x_train, axis=0, kind='stable').T.astype(np.uint32))  # (D, N)
        self.sorted_values = np.ascontiguousarray(np.take_along_axis(x_train.T, self.order, axis=1))      # (D, N)
        self.columns_train = np.ascontiguousarray(x_train.T, dtype=np.float64)
        self.columns_test = np.ascontiguousarray(x_test.T, dtype=np.float64)
        self.reciprocal = np.concatenate([[0.0], 1.0 / np.arange(1.0, x_train.shape[0] + 1.0)])   # 1 / n


class _Ensemble:
    """Every factor's classifier as rows of one ensemble: one row per tree of a stage (T = Σ_j trees of j)."""

    def __init__(self, factors_train: np.ndarray, factors_test: np.ndarray):
        self.group_sizes, targets, scale, init = [], [], [], []
        self.labels_train, self.labels_test = [], []
        for j in range(factors_train.shape[1]):
            classes, encoded = np.unique(factors_train[:, j], return_inverse=True)
            if len(classes) < 2:
                raise ValueError(f'factor {j} takes a single value on the training points; leave it out')
            counts = np.bincount(encoded).astype(np.float64)
            prior = np.clip(counts / counts.sum(), EPSILON, 1 - EPSILON)
            if len(classes) == 2:       # binomial: one tree on the log-odds of the second class
                rows = 1
                init.append([special.logit(prior[1])])
                targets.append(encoded[None, :] == 1)
                scale.append([1.0])
            else:                       # multinomial: a tree per class, logits log(p_k / geometric mean of p)
                rows = len(classes)
                init.append(np.log(prior / stats.gmean(prior)))
                targets.append(encoded[None, :] == np.arange(rows)[:, None])
                scale.append([(rows - 1) / rows] * rows)
            self.group_sizes.append(rows)
            self.labels_train.append(encoded)
            # test labels never seen in training can never be predicted: they become -1
            position = np.searchsorted(classes, factors_test[:, j]).clip(0, len(classes) - 1)
            self.labels_test.append(np.where(classes[position] == factors_test[:, j], position, -1))
        self.num_trees = sum(self.group_sizes)
        self.group_starts = np.concatenate([[0], np.cumsum(self.group_sizes)]).astype(np.int64)
        empty = np.zeros((0, factors_train.shape[0]))
        self.targets = np.ascontiguousarray(np.concatenate(targets).astype(np.float64)) if targets else empty
        self.leaf_scale = np.concatenate(scale) if scale else np.zeros(0)
        self.init = np.concatenate(init) if init else np.zeros(0)

    def _groups(self):
        return [slice(a, b) for a, b in zip(self.group_starts[:-1], self.group_starts[1:])]

    def importances(self, per_tree: np.ndarray) -> np.ndarray:
        """scikit-learn's ``feature_importances_``: each factor's summed impurity decreases, normalised (D, F)."""
        columns = []
        for rows in self._groups():
            total = per_tree[rows].sum(axis=0)
            columns.append(total / total.sum() if total.sum() > 0 else np.zeros_like(total))
        return np.stack(columns, axis=1)

    def accuracies(self, raw: np.ndarray, split: str) -> np.ndarray:
        """Each factor's accuracy; scikit-learn predicts the second class of two where the log-odds are ≥ 0."""
        labels = self.labels_train if split == 'train' else self.labels_test
        out = []
        for rows, y in zip(self._groups(), labels):
            block = raw[rows]
            predicted = (block[0] >= 0).astype(np.int64) if block.shape[0] == 1 else block.argmax(axis=0)
            out.append(float(np.mean(predicted == y)) if len(y) else 0.0)
        return np.array(out)
