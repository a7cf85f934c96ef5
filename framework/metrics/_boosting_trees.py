"""The compiled parts of DCI's gradient boosting (``_boosting.py``): growing one stage's trees, exactly as
scikit-learn's ``DecisionTreeRegressor(criterion='squared_error', max_depth=3)`` grows them inside
``GradientBoostingClassifier``, and the Newton steps of their leaves.

The trees are scikit-learn's bit for bit on the same inputs: the same sums in the same order, the same
float32 comparisons, the same xorshift draws of the order in which dimensions are tried (which decides between
cuts that score the same). One order is not reproduced: among points with equal values scikit-learn's sort
(introsort) leaves it unspecified and a stable sort is used here, which can change the last bit of a sum and so
decide a tie between two cuts differently. What differs is the work: the points are sorted once per dimension, and a cut
partitions every dimension's sorted slice stably, so nothing is sorted again; and the functions release the
GIL, so the trees of a stage grow in parallel threads.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

FEATURE_THRESHOLD = np.float32(1e-7)    # no cut between values closer than this, compared in float32
EPSILON = float(np.finfo(np.float64).eps)      # a node whose target variance is at most this is a leaf
SAFE_DENOMINATOR = 1e-150       # a leaf whose mean Hessian is below this predicts 0 (scikit-learn's _safe_divide)


@njit(cache=True, nogil=True)
def grow_trees(trees, seeds, negative_gradient, targets, raw_train, raw_test, leaf_scale, learning_rate, max_depth,
               order, sorted_values, columns_train, columns_test, reciprocal, importance):
    """Grow trees ``trees`` (rows of the ensemble) of one stage and add their leaves' steps to the predictions.

    Row t of ``negative_gradient``, ``targets``, ``raw_train`` (T, N), ``raw_test`` (T, M) and ``importance``
    (T, D) belongs to tree t alone, so calls on disjoint ``trees`` may run at once. ``order`` (D, N) sorts each
    dimension's training points, ``sorted_values`` (D, N) are their float32 values in that order, ``columns_*``
    (D, N) the codes; ``reciprocal[n]`` is 1 / n.
    """
    points = order.shape[1]
    max_nodes = (2 << max_depth) - 1
    feature = np.zeros(max_nodes, dtype=np.int64)
    threshold = np.zeros(max_nodes)
    left = np.full(max_nodes, -1, dtype=np.int64)
    right = np.full(max_nodes, -1, dtype=np.int64)
    leaf_of = np.zeros(points, dtype=np.int64)
    index = np.empty_like(order)
    index_values = np.empty_like(sorted_values)
    for t in trees:
        index[:] = order
        index_values[:] = sorted_values
        nodes = _grow_tree(index, index_values, columns_train, negative_gradient[t], max_depth, seeds[t], feature,
                           threshold, left, right, leaf_of, importance[t], reciprocal)
        values = _newton_steps(negative_gradient[t], targets[t], leaf_of, nodes, leaf_scale[t])
        for i in range(points):
            raw_train[t, i] += learning_rate * values[leaf_of[i]]
        for i in range(columns_test.shape[1]):
            node = 0
            while left[node] >= 0:
                node = right[node] if columns_test[feature[node], i] > threshold[node] else left[node]
            raw_test[t, i] += learning_rate * values[node]


@njit(cache=True, nogil=True)
def negative_gradients(raw, targets, group_starts):
    """y − p of the log-loss for every tree row, as scikit-learn's loss computes p − y: per group of rows (one
    factor), the logistic function of a single row (two classes) or the softmax over the rows."""
    trees, points = raw.shape
    out = np.empty((trees, points))
    for g in range(group_starts.shape[0] - 1):
        first, stop = group_starts[g], group_starts[g + 1]
        exps = np.empty(stop - first)
        for i in range(points):
            if stop - first == 1:
                y, r = targets[first, i], raw[first, i]
                if r > -37.0:
                    e = math.exp(-r)
                    out[first, i] = -(((1.0 - y) - y * e) / (1.0 + e))
                else:
                    out[first, i] = -(math.exp(r) - y)
                continue
            top = raw[first, i]
            for k in range(first + 1, stop):
                if top < raw[k, i]:
                    top = raw[k, i]
            total = 0.0
            for k in range(first, stop):
                exps[k - first] = math.exp(raw[k, i] - top)
                total += exps[k - first]
            for k in range(first, stop):
                out[k, i] = -(exps[k - first] / total - targets[k, i])
    return out


@njit(cache=True, nogil=True)
def _newton_steps(negative_gradient, target, leaf_of, nodes, leaf_scale):
    """Each leaf's Newton step mean(y − p) · (K − 1)/K / mean(p (1 − p)), 0 where the Hessian mean is below
    ``SAFE_DENOMINATOR``; the means are numpy's (pairwise sums over the leaf's points in index order), with p
    recovered from the gradient, as scikit-learn's line search computes them."""
    points = leaf_of.shape[0]
    counts = np.zeros(nodes + 1, dtype=np.int64)
    for i in range(points):
        counts[leaf_of[i] + 1] += 1
    starts = np.cumsum(counts)
    filled = starts[:-1].copy()
    gradients, hessians = np.empty(points), np.empty(points)
    for i in range(points):
        q = filled[leaf_of[i]]
        filled[leaf_of[i]] += 1
        p = target[i] - negative_gradient[i]
        gradients[q] = negative_gradient[i]
        hessians[q] = p * (1.0 - p)
    values = np.zeros(nodes)
    for node in range(nodes):
        n = starts[node + 1] - starts[node]
        if n == 0:
            continue
        numerator = _pairwise_sum(gradients, starts[node], n) / n * leaf_scale
        denominator = _pairwise_sum(hessians, starts[node], n) / n
        if abs(denominator) >= SAFE_DENOMINATOR:
            values[node] = numerator / denominator
    return values


@njit(cache=True, nogil=True)
def _pairwise_sum(a, start, n):
    """numpy's pairwise summation of a[start:start + n] (8 accumulators below 129 values), bit for bit."""
    if n < 8:
        total = 0.0
        for i in range(n):
            total += a[start + i]
        return total
    if n <= 128:
        r = a[start:start + 8].copy()
        i = 8
        while i < n - n % 8:
            for j in range(8):
                r[j] += a[start + i + j]
            i += 8
        total = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
        while i < n:
            total += a[start + i]
            i += 1
        return total
    half = n // 2
    half -= half % 8
    return _pairwise_sum(a, start, half) + _pairwise_sum(a, start + half, n - half)


@njit(cache=True, nogil=True)
def _random_int(state, low, high):
    """scikit-learn's ``rand_int``: low + xorshift32 draw % (high − low); ``state`` is a 1-element int64 array."""
    s = state[0]
    if s == 0:
        s = 1
    s ^= (s << 13) & 0xFFFFFFFF
    s ^= s >> 17
    s ^= (s << 5) & 0xFFFFFFFF
    state[0] = s
    return low + (s % 2147483648) % (high - low)


@njit(cache=True, nogil=True)
def _grow_tree(index, values, columns, target, max_depth, seed, feature, threshold, left, right, leaf_of, importance,
               reciprocal):
    """A least-squares tree on ``target``, grown depth first as scikit-learn's ``DepthFirstTreeBuilder`` does.

    ``index`` (D, N) holds every dimension's points in ascending order of value, ``values`` (D, N) the values in
    that order; a node owns the same slice of every row, and a cut partitions the slices stably, so they stay
    sorted without sorting again (the last level's cuts leave them as they are: their children are leaves). The nodes
    are numbered in the order they are made; ``left``/``right`` are −1 at leaves, and ``leaf_of`` (N,) gets
    each point's leaf. Returns the number of nodes.
    """
    dims, points = index.shape
    state = np.array([seed], dtype=np.int64)
    features = np.arange(dims)                 # scikit-learn's splitter state, carried from node to node
    constant_features = np.zeros(dims, dtype=np.int64)
    samples = np.arange(points)                # scikit-learn's ``samples``: the order its sums are added in
    goes_right = np.zeros(points, dtype=np.uint8)
    buffer = np.empty(points, dtype=index.dtype)
    value_buffer = np.empty(points, dtype=values.dtype)
    # the stack: start, end, depth, parent, is_left, known constant dimensions; and the impurity
    stack = np.empty((2 * max_depth + 2, 6), dtype=np.int64)
    stack_impurity = np.empty(2 * max_depth + 2)
    stack[0, 0], stack[0, 1], stack[0, 2], stack[0, 3], stack[0, 4], stack[0, 5] = 0, points, 0, -1, 0, 0
    top, nodes = 1, 0
    while top > 0:
        top -= 1
        start, end, depth, parent = stack[top, 0], stack[top, 1], stack[top, 2], stack[top, 3]
        is_left, known_constants, impurity = stack[top, 4], stack[top, 5], stack_impurity[top]
        n = end - start
        total = squares = 0.0
        for q in range(start, end):
            t = target[samples[q]]
            total += t
            squares += t * t
        if parent < 0:
            impurity = squares / n - (total / n) ** 2
        node = nodes
        nodes += 1
        if parent >= 0:
            if is_left:
                left[parent] = node
            else:
                right[parent] = node
        left[node] = right[node] = -1
        if depth >= max_depth or n < 2 or impurity <= EPSILON:
            for q in range(start, end):
                leaf_of[samples[q]] = node
            continue
        dimension, position, cut, known_constants, last_sorted = _best_split(
            index, values, target, start, end, total, state, features, constant_features, known_constants, reciprocal)
        if position >= end:
            for q in range(start, end):
                leaf_of[samples[q]] = node
            continue
        _order_samples(samples, index, columns, start, end, last_sorted, dimension, cut)
        sum_left = _moved_left(target, samples, 0.0, start, position, end, total)
        squares_left = 0.0
        for q in range(start, position):
            t = target[samples[q]]
            squares_left += t * t
        n_left, n_right = float(position - start), float(end - position)
        impurity_left = squares_left / n_left - (sum_left / n_left) ** 2
        impurity_right = (squares - squares_left) / n_right - ((total - sum_left) / n_right) ** 2
        improvement = (n / points) * (impurity - n_right / n * impurity_right - n_left / n * impurity_left)
        if improvement + EPSILON < 0.0:
            for q in range(start, end):
                leaf_of[samples[q]] = node
            continue
        feature[node], threshold[node] = dimension, cut
        importance[dimension] += n * impurity - n_left * impurity_left - n_right * impurity_right
        if depth + 1 < max_depth:
            _partition(index, values, dimension, start, position, end, goes_right, buffer, value_buffer)
        for side, (lo, hi, h) in enumerate(((position, end, impurity_right), (start, position, impurity_left))):
            stack[top, 0], stack[top, 1], stack[top, 2], stack[top, 3] = lo, hi, depth + 1, node
            stack[top, 4], stack[top, 5] = side, known_constants
            stack_impurity[top] = h
            top += 1
    return nodes


@njit(cache=True, nogil=True)
def _best_split(index, sorted_values, target, start, end, total, state, features, constant_features, known_constants,
                reciprocal):
    """scikit-learn's ``node_split_best`` for one node: the dimensions in its random order, each scanned in
    ascending order of value; returns (dimension, first point of the right side, threshold, known constants,
    the last dimension scikit-learn sorted the node's samples by, or −1).

    A position of ``end`` means no cut: every dimension is constant on the node. Dimensions found constant
    here are remembered for the node's descendants, which skip them, as scikit-learn's splitter does.
    """
    dims = features.shape[0]
    n = float(end - start)
    best_score, best_dimension, best_position, best_threshold = -np.inf, 0, end, np.inf
    f_i, visited, found_constants, drawn_constants = dims, 0, 0, 0
    total_constants, last_sorted = known_constants, -1
    while f_i > total_constants and (visited < dims or visited <= found_constants + drawn_constants):
        visited += 1
        f_j = _random_int(state, drawn_constants, f_i - found_constants)
        if f_j < known_constants:
            features[drawn_constants], features[f_j] = features[f_j], features[drawn_constants]
            drawn_constants += 1
            continue
        f_j += found_constants
        d = features[f_j]
        values, order = sorted_values[d], index[d]
        last_sorted = d
        if values[end - 1] <= values[start] + FEATURE_THRESHOLD:
            features[f_j], features[total_constants] = features[total_constants], features[f_j]
            found_constants += 1
            total_constants += 1
            continue
        f_i -= 1
        features[f_i], features[f_j] = features[f_j], features[f_i]
        # the cuts between neighbouring values more than FEATURE_THRESHOLD apart, left sums as the criterion
        # keeps them (added from the nearer end)
        sum_left, position, p = 0.0, start, start
        bar = best_score * (1.0 - 1e-14)
        while p < end:
            while p + 1 < end and values[p + 1] <= values[p] + FEATURE_THRESHOLD:
                p += 1
            previous = p
            p += 1
            if p == end:
                break
            if p == position + 1:        # the usual step: one point moves left
                sum_left += target[order[position]]
            else:
                sum_left = _moved_left(target, order, sum_left, position, p, end, total)
            position = p
            sum_right = total - sum_left
            # a cheap bound first: with reciprocals from a table the score is within 1e-15 of its exact value,
            # and only a score that may beat the best is computed exactly (as scikit-learn computes it)
            if sum_left * sum_left * reciprocal[p - start] + sum_right * sum_right * reciprocal[end - p] < bar:
                continue
            n_left = float(p - start)
            score = sum_left * sum_left / n_left + sum_right * sum_right / (n - n_left)
            if score > best_score:
                best_score, best_dimension, best_position = score, d, p
                best_threshold = np.float64(values[previous]) / 2.0 + np.float64(values[p]) / 2.0
                bar = best_score * (1.0 - 1e-14)
    for j in range(known_constants):
        features[j] = constant_features[j]
    for j in range(known_constants, known_constants + found_constants):
        constant_features[j] = features[j]
    return best_dimension, best_position, best_threshold, total_constants, last_sorted


@njit(cache=True, nogil=True)
def _moved_left(target, order, sum_left, position, new_position, end, total):
    """The left side's target sum once the node's points ``order[position:new_position]`` have moved left, added
    as scikit-learn's criterion adds them: forward from ``position``, or back from the node's ``end`` when that is
    nearer (then ``total`` minus the right side)."""
    if new_position - position <= end - new_position:
        for q in range(position, new_position):
            sum_left += target[order[q]]
        return sum_left
    sum_left = total
    for q in range(end - 1, new_position - 1, -1):
        sum_left -= target[order[q]]
    return sum_left


@njit(cache=True, nogil=True)
def _order_samples(samples, index, columns, start, end, last_sorted, dimension, cut):
    """Put the node's ``samples`` in the order scikit-learn leaves them after a cut: sorted by the last
    dimension its search sorted them by, then partitioned in place by swapping from both ends."""
    if last_sorted >= 0:
        samples[start:end] = index[last_sorted, start:end]
    values = columns[dimension]
    low, high = start, end
    while low < high:
        if values[samples[low]] <= cut:
            low += 1
        else:
            high -= 1
            samples[low], samples[high] = samples[high], samples[low]


@njit(cache=True, nogil=True)
def _partition(index, values, dimension, start, position, end, goes_right, buffer, value_buffer):
    """Split every dimension's slice [start, end) stably into the cut's left points, then its right points."""
    for q in range(start, end):
        goes_right[index[dimension, q]] = 1 if q >= position else 0
    for d in range(index.shape[0]):
        if d == dimension:
            continue
        row, row_values = index[d], values[d]
        kept, moved = start, 0
        for q in range(start, end):      # branch-free: each point is written to both sides, one cursor moves
            p, value = row[q], row_values[q]
            right = goes_right[p]
            buffer[moved] = p
            value_buffer[moved] = value
            row[kept] = p
            row_values[kept] = value
            moved += right
            kept += 1 - right
        row[kept:end] = buffer[:moved]
        row_values[kept:end] = value_buffer[:moved]
