"""The reference discretiser and discrete information measures, vectorised over code × factor pairs.

The conventions are disentanglement_lib's: factors are class indices, each code
dimension is discretised into 20 equal-width bins over its own observed range, and mutual information is in
nats, exactly as ``sklearn.metrics.mutual_info_score`` computes it, but for all code × factor pairs in one
``bincount`` instead of a Python loop per pair.
"""
from __future__ import annotations

import numpy as np

_MAX_JOINT_ENTRIES = 20_000_000      # bound on N × D × F int64 joint indices held at once (~160 MB)


# --------------------------------------------------------------------------- array checks

def check_arrays(codes: np.ndarray, factors: np.ndarray, what: str = 'codes') -> tuple[np.ndarray, np.ndarray]:
    """Codes as a float (N, D) array and factors as an (N, F) array with the same N."""
    codes = np.asarray(codes)
    factors = np.asarray(factors)
    if codes.ndim == 1:
        codes = codes[:, None]
    if factors.ndim == 1:
        factors = factors[:, None]
    if codes.ndim != 2 or factors.ndim != 2:
        raise ValueError(f'{what} must be (N, D) and factors (N, F); got {codes.shape} and {factors.shape}')
    if codes.shape[0] != factors.shape[0]:
        raise ValueError(f'{what} and factors disagree on the number of points: {codes.shape[0]} vs {factors.shape[0]}')
    if codes.shape[0] < 2:
        raise ValueError(f'a metric needs at least 2 points, got {codes.shape[0]}')
    if not np.issubdtype(codes.dtype, np.floating):
        codes = codes.astype(np.float64)
    return codes, factors


def informative_factors(*factor_arrays: np.ndarray) -> np.ndarray:
    """Columns that take more than one value in the first array: a constant factor (dSprites' colour) carries
    no information; the reference leaves it out of every score, and so do the array forms here."""
    factors = factor_arrays[0]
    if factors.shape[0] == 0:
        return np.zeros(factors.shape[1], dtype=bool)
    return (factors != factors[:1]).any(axis=0)


# --------------------------------------------------------------------------- discretisation and information

def discretize(codes: np.ndarray, num_bins: int = 20) -> np.ndarray:
    """The reference's histogram discretiser: (N, D) floats -> (N, D) bins in 1..num_bins.

    Edges are ``np.histogram_bin_edges`` of each dimension (its own min..max; a constant dimension gets
    min-0.5..max+0.5, as numpy does), and a value's bin is the number of edges *without the last* that lie at
    or below it (``np.digitize(c, edges[:-1])``), so the maximum falls in bin ``num_bins``.
    """
    codes = np.asarray(codes)
    edges = np.stack([np.histogram_bin_edges(codes[:, d], num_bins)[:-1] for d in range(codes.shape[1])])
    out = np.empty(codes.shape, dtype=np.int64)
    for start in range(0, codes.shape[0], 65536):      # bounds the (rows, D, bins) comparison tensor
        block = codes[start:start + 65536]
        out[start:start + 65536] = (block[:, :, None] >= edges[None, :, :]).sum(-1)
    return out


def mutual_information_matrix(discrete_codes: np.ndarray, factors: np.ndarray) -> np.ndarray:
    """m[i, j] = I(code_i; factor_j) in nats for discrete codes (N, D) and discrete factors (N, F): (D, F).

    Equals ``sklearn.metrics.mutual_info_score(factors[:, j], discrete_codes[:, i])`` for every pair: the
    joint counts of all pairs come from one ``bincount`` over offset joint indices.
    """
    code_labels, code_sizes = _relabel(discrete_codes)
    factor_labels, factor_sizes = _relabel(factors)
    n, num_codes = code_labels.shape
    num_factors = factor_labels.shape[1]
    out = np.zeros((num_codes, num_factors))
    if num_codes == 0 or num_factors == 0:
        return out
    a, b = int(code_sizes.max()), int(factor_sizes.max())
    codes_per_block = max(1, _MAX_JOINT_ENTRIES // max(1, n * num_factors))
    for start in range(0, num_codes, codes_per_block):
        block = code_labels[:, start:start + codes_per_block]
        k = block.shape[1]
        pair = (np.arange(k)[:, None] * num_factors + np.arange(num_factors)[None, :])   # (k, F)
        joint_index = (pair[None] * a + block[:, :, None]) * b + factor_labels[:, None, :]
        joint = np.bincount(joint_index.ravel(), minlength=k * num_factors * a * b).reshape(k, num_factors, a, b)
        out[start:start + k] = _mutual_information_from_counts(joint, n)
    return out


def discrete_entropy(factors: np.ndarray) -> np.ndarray:
    """H(factor_j) in nats for each column of (N, F): the mutual information of a factor with itself."""
    labels, sizes = _relabel(factors)
    n = labels.shape[0]
    out = np.zeros(labels.shape[1])
    for j in range(labels.shape[1]):                      # one bincount a factor; F is small
        p = np.bincount(labels[:, j], minlength=sizes[j]) / n
        p = p[p > 0]
        out[j] = -(p * np.log(p)).sum()
    return out


def normalized_entropy(weights: np.ndarray, axis: int) -> np.ndarray:
    """Entropy of ``weights`` normalised along ``axis``, in base = the length of that axis (``scipy.stats.entropy``).

    With a single entry along ``axis`` the entropy is 0 (the base-1 logarithm is undefined; one outcome has
    no uncertainty).
    """
    weights = np.asarray(weights, dtype=np.float64)
    count = weights.shape[axis]
    p = weights / weights.sum(axis=axis, keepdims=True)
    if count <= 1:
        return np.zeros(np.delete(weights.shape, axis))
    with np.errstate(divide='ignore', invalid='ignore'):
        terms = np.where(p > 0, -p * np.log(p), 0.0)
    return terms.sum(axis=axis) / np.log(count)


def top_two_gaps(matrix: np.ndarray) -> np.ndarray:
    """Per column of a (D, F) matrix, the largest minus the second largest entry (the largest itself for D = 1)."""
    ranked = np.sort(np.asarray(matrix, dtype=np.float64), axis=0)[::-1]
    second = ranked[1] if ranked.shape[0] > 1 else np.zeros(ranked.shape[1])
    return ranked[0] - second


def _relabel(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each column mapped to 0..K-1 (the order of its sorted distinct values), and each column's K."""
    values = np.asarray(values)
    labels = np.empty(values.shape, dtype=np.int64)
    sizes = np.zeros(values.shape[1], dtype=np.int64)
    for j in range(values.shape[1]):
        distinct, labels[:, j] = np.unique(values[:, j], return_inverse=True)
        sizes[j] = len(distinct)
    return labels, sizes


def _mutual_information_from_counts(joint: np.ndarray, n: int) -> np.ndarray:
    """(..., A, B) joint counts over n points -> (...) mutual information in nats, term by term as
    ``mutual_info_score`` sums it: terms below machine epsilon count as 0, the sum is clipped at 0, and a
    variable with a single observed value shares no information."""
    joint = joint.astype(np.float64)
    row = joint.sum(-1, keepdims=True)
    col = joint.sum(-2, keepdims=True)
    with np.errstate(divide='ignore', invalid='ignore'):
        p = joint / n
        terms = p * (np.log(joint) - np.log(n)) + p * (-np.log(row * col) + 2 * np.log(n))
    terms = np.where((joint > 0) & (np.abs(terms) >= np.finfo(np.float64).eps), terms, 0.0)
    information = np.clip(terms.sum(axis=(-2, -1)), 0.0, None)
    single_value = ((row > 0).sum(axis=(-2, -1)) <= 1) | ((col > 0).sum(axis=(-2, -1)) <= 1)
    return np.where(single_value, 0.0, information)
