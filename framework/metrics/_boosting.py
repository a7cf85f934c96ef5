"""Gradient boosted trees for DCI, every tree of a boosting stage grown at once (torch, CPU or GPU).

The boosting is scikit-learn's ``GradientBoostingClassifier()`` with its defaults (log-loss, 100 stages,
learning rate 0.1, depth-3 least-squares regression trees on the negative gradient, one tree per class per
stage, or one per stage for two classes; Friedman 2001, "Greedy function approximation", Algorithm 6 with the
Newton leaf step of its Eq. 32, times (K − 1)/K for K classes): the same initial log-odds, leaf values, split
criterion, thresholds halfway between neighbouring values, and impurity-based importances. What differs is
the schedule and the split search. scikit-learn fits one tree after another and sorts each node's points
again; here one level of every tree of a stage (all classes of all factors) is searched together, from
histograms of the targets over at most ``max_bins`` value bins per code dimension (one sparse product for all
trees and nodes), and the cut is then placed exactly among the node's own values next to the best bin edge.

A dimension with no more distinct values than bins is searched exactly, so on such codes the trees are
scikit-learn's. With more values (10000 continuous codes), a split can land on a different cut than the exact
search would: ``bench/metrics.py`` measures what that changes at the protocol's size.

Where two dimensions' best splits cut a node's points the same way (an outlier alone, say), scikit-learn keeps
the first in a random order of the dimensions; here one is drawn at random too, from ``random_state``, so the
importances agree in distribution but not draw for draw (the training predictions are the same either way).
"""
from __future__ import annotations

import math
import warnings

import numpy as np
import torch

FEATURE_THRESHOLD = 1e-7    # scikit-learn's trees never split between values closer than this
EPSILON = float(np.finfo(np.float64).eps)     # a node whose target variance is below this is a leaf
TIE_TOLERANCE = 1e-9       # relative: best splits of two dimensions this close are the same split
CHUNK_ENTRIES = 2 ** 20     # trees × 2^depth × points per batch of trees: its histograms stay in cache
MAX_BINS = 256
REFINE_BINS = 1           # the exact search around the best bin edge covers this many bins on either side


def boosted_trees(codes_train: np.ndarray, factors_train: np.ndarray, codes_test: np.ndarray,
                  factors_test: np.ndarray, n_estimators: int = 100, learning_rate: float = 0.1,
                  max_depth: int = 3, max_bins: int = MAX_BINS, random_state: int | None = 0, device=None,
                  progress: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One boosted classifier per factor column: importances (D, F), train accuracies (F,), test accuracies (F,).

    ``factors_*`` hold class labels (N, F); every column must take at least two values on the training
    points. Codes are rounded to float32, as scikit-learn's trees read them.
    """
    device = torch.device(device) if device is not None else torch.device('cpu')
    if device.type != 'cpu':
        return _boosted_trees(codes_train, factors_train, codes_test, factors_test, n_estimators, learning_rate,
                              max_depth, max_bins, random_state, device, progress)
    # one CPU thread: the operations are many and small, and torch's worker threads spin against each other and
    # against other processes (on a loaded 2-core machine, 2 threads took 9 times the CPU time of one)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _boosted_trees(codes_train, factors_train, codes_test, factors_test, n_estimators, learning_rate,
                              max_depth, max_bins, random_state, device, progress)
    finally:
        torch.set_num_threads(threads)


def _boosted_trees(codes_train, factors_train, codes_test, factors_test, n_estimators, learning_rate, max_depth,
                   max_bins, random_state, device, progress):
    x_train = torch.as_tensor(np.asarray(codes_train, dtype=np.float32), device=device).double()
    x_test = torch.as_tensor(np.asarray(codes_test, dtype=np.float32), device=device).double()
    factors_train, factors_test = np.asarray(factors_train), np.asarray(factors_test)
    num_points, num_dims = x_train.shape
    ensemble = _Ensemble(factors_train, factors_test, device)
    generator = torch.Generator(device=device)
    generator.manual_seed(0 if random_state is None else int(random_state))
    bins = _Bins(x_train, max_bins)
    per_chunk = max(1, CHUNK_ENTRIES // (2 ** max_depth * num_points))
    importance = torch.zeros(ensemble.num_trees, num_dims, dtype=torch.float64, device=device)
    from tqdm import tqdm
    for _ in tqdm(range(n_estimators), desc='DCI boosting', unit='stage', disable=not progress, leave=False):
        negative_gradient, hessian = ensemble.gradients()
        for start in range(0, ensemble.num_trees, per_chunk):
            rows = slice(start, min(start + per_chunk, ensemble.num_trees))
            trees = _grow_level_by_level(x_train, bins, negative_gradient[rows], max_depth, generator)
            leaf_train = trees.leaves
            leaf_test = trees.apply(x_test)
            values = _newton_leaf_values(negative_gradient[rows], hessian[rows], leaf_train, trees.num_leaves,
                                         ensemble.leaf_scale[rows])
            ensemble.raw_train[rows] += learning_rate * values.gather(1, leaf_train)
            ensemble.raw_test[rows] += learning_rate * values.gather(1, leaf_test)
            importance[rows] += trees.importance
    return (ensemble.importances(importance).cpu().numpy(), ensemble.accuracy('train'),
            ensemble.accuracy('test'))


# --------------------------------------------------------------------------- the ensemble of all factors

class _Ensemble:
    """The raw predictions of every factor's classifier, one row per tree of a stage (T = Σ_j trees of j)."""

    def __init__(self, factors_train: np.ndarray, factors_test: np.ndarray, device):
        self.device = device
        self.groups, targets, leaf_scale, init = [], [], [], []
        self.labels_train, self.labels_test = [], []
        row = 0
        for j in range(factors_train.shape[1]):
            classes, encoded = np.unique(factors_train[:, j], return_inverse=True)
            if len(classes) < 2:
                raise ValueError(f'factor {j} takes a single value on the training points; leave it out')
            prior = np.clip(np.bincount(encoded) / len(encoded), EPSILON, 1 - EPSILON)
            if len(classes) == 2:      # binomial: one tree on the log-odds of the second class
                trees, rows_init = 1, [math.log(prior[1] / (1 - prior[1]))]
                targets.append(encoded[None, :] == 1)
                leaf_scale.append([1.0])
            else:                      # multinomial: a tree per class, symmetric logits log p_k − mean log p
                trees = len(classes)
                rows_init = list(np.log(prior) - np.mean(np.log(prior)))
                targets.append(encoded[None, :] == np.arange(trees)[:, None])
                leaf_scale.append([(trees - 1) / trees] * trees)
            self.groups.append(slice(row, row + trees))
            init.extend(rows_init)
            row += trees
            self.labels_train.append(encoded)
            # test labels unseen in training can never be predicted: map them to -1
            position = np.searchsorted(classes, factors_test[:, j]).clip(0, len(classes) - 1)
            self.labels_test.append(np.where(classes[position] == factors_test[:, j], position, -1))
        self.num_trees = row
        as_tensor = lambda a: torch.as_tensor(np.asarray(a), dtype=torch.float64, device=device)
        self.targets = as_tensor(np.concatenate(targets))
        self.leaf_scale = as_tensor(np.concatenate(leaf_scale))
        init = as_tensor(init)[:, None]
        self.raw_train = init.expand(-1, factors_train.shape[0]).clone()
        self.raw_test = init.expand(-1, factors_test.shape[0]).clone()

    def probabilities(self, raw: torch.Tensor) -> torch.Tensor:
        out = torch.empty_like(raw)
        for rows in self.groups:
            block = raw[rows]
            out[rows] = torch.sigmoid(block) if block.shape[0] == 1 else torch.softmax(block, dim=0)
        return out

    def gradients(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The negative gradient y − p of the log-loss (T, N) and the diagonal Hessian p (1 − p)."""
        p = self.probabilities(self.raw_train)
        return self.targets - p, p * (1 - p)

    def predictions(self, raw: torch.Tensor) -> list[np.ndarray]:
        out = []
        for rows in self.groups:
            block = raw[rows]
            out.append(((block[0] >= 0).long() if block.shape[0] == 1 else block.argmax(dim=0)).cpu().numpy())
        return out

    def accuracy(self, split: str) -> np.ndarray:
        raw, labels = (self.raw_train, self.labels_train) if split == 'train' else (self.raw_test, self.labels_test)
        return np.array([np.mean(p == y) if len(y) else 0.0 for p, y in zip(self.predictions(raw), labels)])

    def importances(self, per_tree: torch.Tensor) -> torch.Tensor:
        """scikit-learn's ``feature_importances_``: each factor's summed impurity decreases, normalised (D, F)."""
        columns = []
        for rows in self.groups:
            total = per_tree[rows].sum(dim=0)
            columns.append(total / total.sum() if total.sum() > 0 else torch.zeros_like(total))
        return torch.stack(columns, dim=1)


def _newton_leaf_values(negative_gradient, hessian, leaves, num_leaves, leaf_scale):
    """Each leaf's Newton step Σ(y − p) / Σ p(1 − p), times (K − 1)/K for K > 2 classes.

    0 where Σ p(1 − p) ≈ 0, as scikit-learn's line search does."""
    trees = negative_gradient.shape[0]
    flat = (leaves + num_leaves * torch.arange(trees, device=leaves.device)[:, None]).reshape(-1)
    numerator = torch.bincount(flat, negative_gradient.reshape(-1), trees * num_leaves).view(trees, num_leaves)
    denominator = torch.bincount(flat, hessian.reshape(-1), trees * num_leaves).view(trees, num_leaves)
    safe = denominator.abs() >= 1e-150
    return torch.where(safe, numerator / torch.where(safe, denominator, 1.0), 0.0) * leaf_scale[:, None]


# --------------------------------------------------------------------------- binning the codes

class _Bins:
    """Each code dimension cut into at most ``max_bins`` bins of consecutive values (N, D) and the flat index
    ``d * bins + bin`` of every point's bin in a (D, bins) histogram.

    Values closer than ``FEATURE_THRESHOLD`` share a bin (scikit-learn never splits between them). A dimension
    with at most ``max_bins`` distinct values gets one bin per value, so its split search is exact; otherwise
    the bins hold about N / max_bins points each and splits fall between bins.
    """

    def __init__(self, x: torch.Tensor, max_bins: int):
        points, dims = x.shape
        order = torch.argsort(x, dim=0, stable=True)                               # (N, D)
        ordered = x.gather(0, order)
        new_value = torch.ones_like(ordered, dtype=torch.bool)
        new_value[1:] = ordered[1:] > ordered[:-1] + FEATURE_THRESHOLD
        group = new_value.long().cumsum(0) - 1                                     # distinct-value index
        num_groups = group[-1] + 1                                                 # (D,)
        position = torch.arange(points, device=x.device)[:, None]
        # the first sorted position of each point's group, scaled to max_bins equal-count bins
        group_start = torch.where(new_value, position, 0).cummax(0).values
        quantile_bin = group_start * max_bins // points
        ordered_bin = torch.where(num_groups[None, :] <= max_bins, group, quantile_bin)
        self.bin = torch.empty_like(ordered_bin).scatter_(0, order, ordered_bin)   # (N, D)
        self.bins = int(max_bins)
        self.flat = self.bin + self.bins * torch.arange(dims, device=x.device)[None, :]
        self.exact = num_groups <= max_bins
        self.bin_t = self.bin.T.contiguous()
        self.dims = dims
        membership = torch.stack([self.flat.reshape(-1), torch.arange(points, device=x.device).repeat_interleave(dims)])
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')         # torch calls its sparse CSR support beta
            self.membership = torch.sparse_coo_tensor(
                membership, torch.ones(points * dims, dtype=torch.float64, device=x.device),
                (dims * self.bins, points), check_invariants=False).coalesce().to_sparse_csr()
        self.root_count = torch.bincount(self.flat.reshape(-1), minlength=dims * self.bins).double()


# --------------------------------------------------------------------------- growing a batch of trees

class _Trees:
    """A batch of T regression trees grown level by level: split features and thresholds per level."""

    def __init__(self, max_depth: int):
        self.features: list[torch.Tensor] = []      # per level, (T, 2^level) long
        self.thresholds: list[torch.Tensor] = []    # per level, (T, 2^level) float64; +inf where a node is a leaf
        self.leaves: torch.Tensor | None = None     # (T, N) leaf index of each training point, 0..2^depth − 1
        self.importance: torch.Tensor | None = None
        self.num_leaves = 2 ** max_depth

    def apply(self, x: torch.Tensor) -> torch.Tensor:
        """Leaf index (T, N) of every point of ``x`` (N, D) in every tree."""
        trees, points = self.features[0].shape[0], x.shape[0]
        node = torch.zeros(trees, points, dtype=torch.long, device=x.device)
        x_t = x.T.contiguous()
        for features, thresholds in zip(self.features, self.thresholds):
            values = x_t.gather(0, features.gather(1, node))
            node = 2 * node + (values > thresholds.gather(1, node)).long()
        return node


def _grow_level_by_level(x, bins: _Bins, target, max_depth, generator=None):
    """Depth-``max_depth`` least-squares trees (T of them) on ``target`` (T, N) over codes ``x`` (N, D).

    A node splits where Friedman's improvement (wR sL − wL sR)² / (wL wR) is largest, over the edges between
    the bins of every dimension, the first (lowest) edge among equal ones; the threshold is halfway between
    the node's values on either side, as scikit-learn sets it. A node stays a leaf at ``max_depth``, below two
    points, at zero variance, or when its points share one bin in every dimension.
    """
    trees, points = target.shape
    dims, num_bins = x.shape[1], bins.bins
    device = x.device
    result = _Trees(max_depth)
    tree_index = torch.arange(trees, device=device)[:, None]
    x_t = x.T.contiguous()
    target_t = target.T.contiguous()
    node = torch.zeros(trees, points, dtype=torch.long, device=device)
    alive = torch.ones(trees, 1, dtype=torch.bool, device=device)
    importance = torch.zeros(trees, dims, dtype=torch.float64, device=device)
    squared_target = target * target
    hist_total = hist_count = None
    for level in range(max_depth):
        nodes = 2 ** level
        hist_total, hist_count = _histograms(bins, target_t, node, hist_total, hist_count)
        left_total = hist_total.cumsum(3)
        left_count = hist_count.cumsum(3)
        count, total = left_count[:, :, 0, -1], left_total[:, :, 0, -1]           # (T, nodes)
        squares = _node_sums(node, squared_target, nodes)
        splittable = alive & (count >= 2) & (_impurity(count, total, squares) > EPSILON)
        node_count, node_total = count[:, :, None, None], total[:, :, None, None]
        right_count = node_count - left_count
        # (W sL − wL S)² / (wL wR), which is Friedman's (wR sL − wL sR)² / (wL wR)
        score = left_total * node_count
        score.sub_(left_count * node_total)
        valid = (left_count > 0) & (right_count > 0) & splittable[:, :, None, None]
        score.square_().div_(left_count * right_count).masked_fill_(~valid, -math.inf)
        best_score, best_bin = score.max(dim=3)                              # (T, nodes, D), first maximum
        feature = _pick_dimension(best_score.transpose(1, 2), generator)       # (T, nodes)
        pick = feature[:, :, None]
        split = best_score.gather(2, pick)[:, :, 0] > -math.inf
        split_bin = best_bin.gather(2, pick)[:, :, 0]
        feature = torch.where(split, feature, 0)
        # refine: the exact best cut among the node's values in the chosen bin and its neighbours
        along_feature = pick[..., None].expand(-1, -1, 1, num_bins)
        cumulative = [h.gather(2, along_feature)[:, :, 0] for h in (left_total, left_count)]
        point_feature = feature.gather(1, node)
        value = x_t.gather(0, point_feature)
        exact = bins.exact.gather(0, feature.view(-1)).view_as(feature)
        cut, left_sum, left_size = _refine(value, bins.bin_t.gather(0, point_feature), target, node, split_bin,
                                           split, count, total, *cumulative, exact)
        # impurity decrease W·I − WL·IL − WR·IR = SL²/WL + SR²/WR − S²/W (the sums of squares cancel)
        right_sum, right_size = total - left_sum, count - left_size
        decrease = (left_sum ** 2 / left_size.clamp(min=1) + right_sum ** 2 / right_size.clamp(min=1)
                    - total ** 2 / count.clamp(min=1))
        importance.scatter_add_(1, feature, torch.where(split, decrease, 0.0))
        # each point's side; the threshold halfway between the node's largest value left and smallest right
        goes_right = (value > cut.gather(1, node)) & split.gather(1, node)
        slot = (tree_index * nodes + node).view(-1)
        low = torch.full((trees * nodes,), -math.inf, dtype=torch.float64, device=device).scatter_reduce_(
            0, slot, value.masked_fill(goes_right, -math.inf).view(-1), 'amax').view(trees, nodes)
        high = torch.full((trees * nodes,), math.inf, dtype=torch.float64, device=device).scatter_reduce_(
            0, slot, value.masked_fill(~goes_right, math.inf).view(-1), 'amin').view(trees, nodes)
        threshold = low / 2 + high / 2
        threshold = torch.where((threshold == high) | threshold.isinf(), low, threshold)
        result.features.append(feature)
        result.thresholds.append(torch.where(split, threshold, math.inf))
        node = 2 * node + goes_right.long()
        alive = split.repeat_interleave(2, dim=1)
    result.leaves = node
    result.importance = importance
    return result


def _refine(value, point_bin, target, node, split_bin, split, count, total, cumulative_total, cumulative_count,
            exact):
    """The best cut of each split node (T, nodes) among its values in bins ``split_bin`` ± ``REFINE_BINS``.

    The histogram search sees only the edges between bins; near the best edge the exact best split is found
    by scanning the node's own values there, sorted, as scikit-learn does. Returns the cut value (a point goes
    right when its value is above it) and the left side's target sum and size; dimensions cut exactly already
    (``exact``: one bin per value) keep their edge.
    """
    trees, nodes = split_bin.shape
    device = value.device
    slot_bin = split_bin.gather(1, node)
    slot_split = (split & ~exact).gather(1, node)
    window = slot_split & (point_bin >= slot_bin - REFINE_BINS) & (point_bin <= slot_bin + REFINE_BINS)
    # default (exact dimensions): the cut after the chosen bin, at the node's largest value there
    edge_left = (point_bin <= slot_bin)
    flat_slot = (torch.arange(trees, device=device)[:, None] * nodes + node).view(-1)
    cut = torch.full((trees * nodes,), -math.inf, dtype=torch.float64, device=device).scatter_reduce_(
        0, flat_slot, value.masked_fill(~edge_left, -math.inf).view(-1), 'amax')
    left_sum = cumulative_total.gather(2, split_bin[..., None])[..., 0].reshape(-1).clone()
    left_size = cumulative_count.gather(2, split_bin[..., None])[..., 0].reshape(-1).clone()
    chosen_points = window.view(-1).nonzero()[:, 0]
    if chosen_points.numel():
        slot = flat_slot[chosen_points]
        values = value.view(-1)[chosen_points]
        order = torch.argsort(values, stable=True)
        order = order[torch.argsort(slot[order], stable=True)]
        slot, values, chosen_points = slot[order], values[order], chosen_points[order]
        targets = target.view(-1)[chosen_points]
        first_bin = (split_bin.view(-1) - REFINE_BINS - 1)[slot]
        before = first_bin.clamp(min=0)
        base_total = torch.where(first_bin >= 0, cumulative_total.view(trees * nodes, -1)[slot, before], 0.0)
        base_count = torch.where(first_bin >= 0, cumulative_count.view(trees * nodes, -1)[slot, before], 0.0)
        running = targets.cumsum(0)
        position = torch.arange(len(slot), device=device)
        starts = torch.ones_like(slot, dtype=torch.bool)
        starts[1:] = slot[1:] != slot[:-1]
        start_position = torch.where(starts, position, 0).cummax(0).values
        left_t = base_total + running - (running - targets)[start_position]
        left_c = base_count + (position - start_position + 1).double()
        node_count, node_total = count.view(-1)[slot], total.view(-1)[slot]
        distinct_next = torch.ones_like(starts)
        distinct_next[:-1] = starts[1:] | (values[1:] > values[:-1] + FEATURE_THRESHOLD)
        valid = distinct_next & (left_c > 0) & (left_c < node_count)
        score = (node_count * left_t - left_c * node_total) ** 2 / (left_c * (node_count - left_c)).clamp(min=1)
        score = score.masked_fill(~valid, -math.inf)
        best = torch.full((trees * nodes,), -math.inf, dtype=torch.float64, device=device).scatter_reduce_(
            0, slot, score, 'amax')
        is_best = (score == best[slot]) & valid
        first = torch.full((trees * nodes,), len(slot), dtype=torch.long, device=device).scatter_reduce_(
            0, slot, torch.where(is_best, position, len(slot)), 'amin')
        found = first < len(slot)
        where = first[found]
        cut[found] = values[where]
        left_sum[found] = left_t[where]
        left_size[found] = left_c[where]
    return cut.view(trees, nodes), left_sum.view(trees, nodes), left_size.view(trees, nodes)


def _histograms(bins: _Bins, target_t, node, parent_total, parent_count):
    """Per node, dimension and bin: the sum of the target (``target_t``, (N, T)) and the number of points.

    Both are (T, nodes, D, bins).

    A histogram is a product with the sparse (D·bins, N) bin-membership matrix, over the points of every tree
    and node at once. Below the root only left children are counted; a right child's histogram is its
    parent's minus its sibling's (the subtraction trick of LightGBM, Ke et al. 2017).
    """
    points, trees = target_t.shape
    dims, num_bins = bins.dims, bins.bins
    if parent_total is None:           # the root holds every point: the counts are the same for every tree
        hist_total = torch.sparse.mm(bins.membership, target_t)                              # (D·bins, T)
        hist_total = hist_total.view(dims, num_bins, trees).permute(2, 0, 1).unsqueeze(1)
        hist_count = bins.root_count.view(1, 1, dims, num_bins).expand(trees, 1, dims, num_bins)
        return hist_total, hist_count
    parents = parent_total.shape[1]
    left = node.T.unsqueeze(2) == 2 * torch.arange(parents, device=node.device)             # (N, T, parents)
    columns = torch.empty(points, 2, trees, parents, dtype=torch.float64, device=node.device)
    columns[:, 1] = left
    torch.mul(columns[:, 1], target_t.unsqueeze(2), out=columns[:, 0])
    product = torch.sparse.mm(bins.membership, columns.view(points, -1))
    left_total, left_count = product.view(dims, num_bins, 2, trees, parents).permute(2, 3, 4, 0, 1)
    shape = (trees, parents, 2, dims, num_bins)
    hist_total = torch.empty(shape, dtype=torch.float64, device=node.device)
    hist_count = torch.empty(shape, dtype=torch.float64, device=node.device)
    hist_total[:, :, 0], hist_count[:, :, 0] = left_total, left_count
    torch.sub(parent_total, left_total, out=hist_total[:, :, 1])
    torch.sub(parent_count, left_count, out=hist_count[:, :, 1])
    return hist_total.view(trees, 2 * parents, dims, num_bins), hist_count.view(trees, 2 * parents, dims, num_bins)


def _node_sums(node, values, num_nodes):
    """Sum of ``values`` (T, N) over the points of each node (T, num_nodes)."""
    trees = values.shape[0]
    flat = (node + num_nodes * torch.arange(trees, device=node.device)[:, None]).view(-1)
    return torch.bincount(flat, values.view(-1), trees * num_nodes).view(trees, num_nodes)


def _impurity(count, total, squares):
    """The nodes' mean squared error around their mean, computed as scikit-learn's criterion does."""
    safe = count.clamp(min=1)
    return torch.where(count > 0, squares / safe - (total / safe) ** 2, 0.0)


def _pick_dimension(best_score, generator):
    """The dimension with the highest score per node, from scores (T, D, nodes); one drawn at random among
    equal scores.

    Equal means within ``TIE_TOLERANCE`` relative: two dimensions that cut the node's points the same way (an
    outlier alone, say) score the same up to rounding. scikit-learn visits dimensions in a random order and
    keeps the first best, so its pick among them is uniform too.
    """
    top = best_score.max(dim=1, keepdim=True).values
    tied = best_score >= top - TIE_TOLERANCE * top.abs()
    if generator is None or int(tied.sum()) == tied.shape[0] * tied.shape[2]:
        return tied.int().argmax(dim=1)
    draw = torch.rand(best_score.shape, generator=generator, device=best_score.device, dtype=torch.float64)
    return torch.where(tied, draw, -1.0).argmax(dim=1)
