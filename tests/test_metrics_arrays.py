"""Array forms of the metrics: the extremes theory predicts, hand-computed cases, and parity with reference-style code.

Representations (as disentanglement_lib's tests): *perfect* = the factor classes themselves plus constant
nuisance dimensions; *permuted* = the same columns permuted, rescaled and shifted; *noise* = independent
uniform noise; *mixed* = two factors mixed into two codes. DCI has its own file (its classifiers are slower).
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from framework.metrics import (beta_vae_score, discrete_entropy, discretize, factor_vae_score, irs,
                               majority_vote_score, mig, modularity, modularity_explicitness,
                               mutual_information_matrix, sap, sap_score_matrix, top_two_gap)

SIZES = (3, 5, 8)
N_TRAIN, N_TEST = 2000, 1000
from framework.metrics.reference import naive_mig, naive_sap


def draw_factors(n, seed):
    rng = np.random.default_rng(seed)
    return np.stack([rng.integers(size, size=n) for size in SIZES], axis=1)


def representations(factors, seed):
    """perfect, permuted, noise and mixed codes for factors (N, 3)."""
    rng = np.random.default_rng(seed)
    n = factors.shape[0]
    perfect = np.concatenate([factors, np.zeros((n, 2))], axis=1).astype(np.float64)
    permuted = perfect[:, [2, 4, 0, 3, 1]] * np.array([-2.5, 1.0, 0.3, 1.0, 7.0]) + np.array([1.0, 0.0, -4.0, 2.0, 0.5])
    noise = rng.uniform(size=perfect.shape)
    mixed = perfect.copy()
    mixed[:, 0], mixed[:, 1] = factors[:, 0] + factors[:, 1], factors[:, 0] - factors[:, 1]
    return {'perfect': perfect, 'permuted': permuted, 'noise': noise, 'mixed': mixed}


@pytest.fixture(scope='module')
def data():
    y_train, y_test = draw_factors(N_TRAIN, 0), draw_factors(N_TEST, 1)
    return y_train, representations(y_train, 2), y_test, representations(y_test, 3)


# --------------------------------------------------------------------------- hand-computed pieces

def test_mutual_information_of_short_arrays_by_hand():
    x = np.array([0, 0, 1, 1, 1, 1])
    y = np.array([0, 1, 1, 1, 1, 1])
    # joint counts (0,0)=1, (0,1)=1, (1,1)=4 over 6 points; p(x=0)=1/3, p(y=0)=1/6
    by_hand = 1 / 6 * math.log(3) + 1 / 6 * math.log(3 / 5) + 2 / 3 * math.log(6 / 5)
    m = mutual_information_matrix(x[:, None], y[:, None])
    assert m.shape == (1, 1) and m[0, 0] == pytest.approx(by_hand, abs=1e-12)
    same = mutual_information_matrix(np.array([[0], [0], [1], [1]]), np.array([[5], [5], [7], [7]]))
    independent = mutual_information_matrix(np.array([[0], [0], [1], [1]]), np.array([[0], [1], [0], [1]]))
    assert same[0, 0] == pytest.approx(math.log(2)) and independent[0, 0] == pytest.approx(0.0, abs=1e-15)
    assert discrete_entropy(y[:, None])[0] == pytest.approx(-(1 / 6) * math.log(1 / 6) - 5 / 6 * math.log(5 / 6))


def test_mutual_information_matrix_equals_sklearn_pair_by_pair(data):
    from sklearn.metrics import mutual_info_score
    y_train, codes, _, _ = data
    bins = discretize(codes['mixed'])
    matrix = mutual_information_matrix(bins, y_train)
    for i in range(bins.shape[1]):
        for j in range(y_train.shape[1]):
            assert matrix[i, j] == pytest.approx(mutual_info_score(y_train[:, j], bins[:, i]), abs=1e-12)


def test_discretize_follows_numpy_histogram_and_digitize():
    codes = np.array([[0.0, 5.0], [1.0, 5.0], [0.5, 5.0], [0.049, 5.0], [0.05, 5.0]])
    bins = discretize(codes, num_bins=20)
    assert bins[:, 0].tolist() == [1, 20, 11, 1, 2]         # the maximum lands in the last bin
    assert bins[:, 1].tolist() == [11] * 5                   # a constant: numpy's range v-0.5..v+0.5
    rng = np.random.default_rng(0)
    x = rng.normal(size=(500, 3))
    reference = np.stack([np.digitize(x[:, d], np.histogram(x[:, d], 20)[1][:-1]) for d in range(3)], axis=1)
    assert (discretize(x) == reference).all()


def test_sap_top_two_gap_of_a_known_score_matrix():
    matrix = np.array([[0.9, 0.1], [0.5, 0.4], [0.2, 0.7]])
    assert top_two_gap(matrix) == pytest.approx(((0.9 - 0.5) + (0.7 - 0.4)) / 2)


def test_modularity_of_known_information_matrices():
    assert modularity(np.array([[1.0, 0.0], [0.0, 2.0]])) == pytest.approx(1.0)
    assert modularity(np.array([[2.0, 1.0]])) == pytest.approx(0.75)      # δ = 1² / (2² · 1)
    assert modularity(np.array([[1.0, 1.0, 1.0]])) == pytest.approx(0.0)  # δ = (1 + 1) / (1 · 2)
    assert modularity(np.array([[1.0, 0.0], [0.0, 0.0]])) == pytest.approx(0.5)   # an empty code scores 0


def test_factor_vae_majority_vote_by_hand():
    # code 0 is the argmin when factor 0 is fixed (3 votes), code 1 when factor 1 is (1 vote); one wrong vote
    local_train = np.array([[0.1, 1.0], [0.1, 1.0], [0.2, 1.0], [1.0, 0.1], [0.1, 1.0]])
    fixed_train = np.array([0, 0, 0, 1, 1])
    result = majority_vote_score(local_train, fixed_train, local_train, fixed_train, np.ones(2))
    assert result['train_accuracy'] == pytest.approx(4 / 5) and result['num_active_dims'] == 2
    collapsed = majority_vote_score(local_train, fixed_train, local_train, fixed_train, np.array([1.0, 1e-6]))
    assert collapsed['num_active_dims'] == 1 and collapsed['train_accuracy'] == pytest.approx(3 / 5)
    assert majority_vote_score(local_train, fixed_train, local_train, fixed_train, np.zeros(2))['eval_accuracy'] == 0


# --------------------------------------------------------------------------- MIG

def test_mig_extremes_and_mixing(data):
    y_train, codes, _, _ = data
    scores = {name: mig(c, y_train)['mig'] for name, c in codes.items()}
    assert scores['perfect'] > 0.97
    assert scores['permuted'] == pytest.approx(scores['perfect'], abs=1e-9)
    assert scores['noise'] < 0.02
    assert scores['mixed'] < scores['perfect'] - 0.2


def test_mig_matches_reference_style_code(data):
    naive = naive_mig
    y_train, codes, _, _ = data
    for c in (codes['mixed'], codes['noise'], codes['perfect'][:, :3] + 0.3 * codes['noise'][:, :3]):
        assert mig(c, y_train)['mig'] == pytest.approx(naive(c, y_train), abs=1e-9)


def test_mig_leaves_out_constant_factors_and_handles_one_code(data):
    y_train, codes, _, _ = data
    with_constant = np.concatenate([y_train, np.zeros((N_TRAIN, 1), dtype=int)], axis=1)
    assert mig(codes['perfect'], with_constant)['mig'] == pytest.approx(mig(codes['perfect'], y_train)['mig'])
    assert mig(y_train[:, :1].astype(float), y_train[:, :1])['mig'] == pytest.approx(1.0)


# --------------------------------------------------------------------------- SAP

def test_sap_extremes_ordering_and_reference_value(data):
    y_train, codes, y_test, codes_test = data
    scores = {name: sap(codes[name], y_train, codes_test[name], y_test)['sap'] for name in codes}
    naive = naive_sap(codes['perfect'], y_train, codes_test['perfect'], y_test)
    assert scores['perfect'] == pytest.approx(naive, abs=1e-9)
    order = [2, 4, 0, 3, 1]
    permuted_only = sap(codes['perfect'][:, order], y_train, codes_test['perfect'][:, order], y_test)['sap']
    assert permuted_only == pytest.approx(scores['perfect'], abs=1e-9)
    # the SVM's strong regularisation (C = 0.01) makes SAP depend on the codes' scale: rescaled stays far above noise
    assert scores['permuted'] > 0.2
    # a single code predicts a many-valued factor imperfectly with a linear SVM: below 1, far above noise
    assert 0.2 < scores['perfect'] < 0.9
    assert scores['noise'] < 0.05
    assert scores['mixed'] < scores['perfect']


def test_sap_score_matrix_of_perfect_codes_is_diagonal_dominant(data):
    y_train, codes, y_test, codes_test = data
    matrix = sap_score_matrix(codes['perfect'], y_train, codes_test['perfect'], y_test, n_jobs=1)
    assert matrix.shape == (5, 3)
    assert (matrix.argmax(axis=0) == np.arange(3)).all()


def test_sap_continuous_factors_uses_squared_correlation(data):
    y_train, codes, y_test, codes_test = data
    values = y_train.astype(np.float64)
    perfect = sap(codes['perfect'], values, codes_test['perfect'], y_test, continuous_factors=True)['sap']
    assert perfect == pytest.approx(1.0, abs=0.01)
    assert sap(codes['noise'], values, codes_test['noise'], y_test, continuous_factors=True)['sap'] < 0.01


# --------------------------------------------------------------------------- modularity and explicitness

def test_modularity_explicitness_extremes(data):
    y_train, codes, y_test, codes_test = data
    scores = {name: modularity_explicitness(codes[name], y_train, codes_test[name], y_test) for name in codes}
    # constant nuisance codes share no information: they score 0 and stay in the mean (the reference's choice)
    assert scores['perfect']['modularity'] == pytest.approx(3 / 5, abs=0.01)
    informative_only = modularity_explicitness(codes['perfect'][:, :3], y_train, codes_test['perfect'][:, :3], y_test)
    assert informative_only['modularity'] > 0.98
    assert scores['permuted']['modularity'] == pytest.approx(scores['perfect']['modularity'], abs=1e-9)
    assert scores['perfect']['explicitness_test'] > 0.98 and scores['permuted']['explicitness_test'] > 0.98
    assert scores['noise']['explicitness_test'] == pytest.approx(0.5, abs=0.05)
    mixed_informative = modularity_explicitness(codes['mixed'][:, :3], y_train, codes_test['mixed'][:, :3], y_test)
    assert mixed_informative['modularity'] < informative_only['modularity'] - 0.02


def test_explicitness_auc_equals_sklearn_roc_auc(data):
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.preprocessing import label_binarize
    from framework.metrics.modularity import one_vs_rest_auc
    y_train, codes, _, _ = data
    standardised = (codes['mixed'][:, :3] - codes['mixed'][:, :3].mean(0)) / codes['mixed'][:, :3].std(0)
    model = LogisticRegression().fit(standardised, y_train[:, 2])
    probabilities = model.predict_proba(standardised)
    expected = roc_auc_score(label_binarize(y_train[:, 2], classes=model.classes_), probabilities, average='macro')
    assert one_vs_rest_auc(y_train[:, 2], probabilities, model.classes_) == pytest.approx(expected, abs=1e-12)


# --------------------------------------------------------------------------- IRS

def test_irs_extremes(data):
    y_train, codes, _, _ = data
    scores = {name: irs(c, y_train) for name, c in codes.items()}
    assert scores['perfect']['irs'] == pytest.approx(1.0) and scores['perfect']['num_active_dims'] == 3
    assert scores['permuted']['irs'] == pytest.approx(1.0)
    assert scores['noise']['irs'] < 0.05 and scores['noise']['num_active_dims'] == 5
    assert scores['mixed']['irs'] < 0.9
    assert irs(np.zeros((100, 3)), y_train[:100])['irs'] == 0.0


def test_irs_by_hand():
    # code 0 follows factor 0 exactly; code 1 is ±1 noise around 0 whatever the factors
    factors = np.array([[0, 0], [0, 1], [1, 0], [1, 1]] * 25)
    rng = np.random.default_rng(0)
    codes = np.stack([factors[:, 0].astype(float), rng.choice([-1.0, 1.0], size=100)], axis=1)
    codes[:, 1] -= codes[:, 1].mean()
    result = irs(codes, factors)
    # code 0: no deviation within groups -> 1 with weight max|z - mean| = 0.5; code 1: within-group
    # 99th percentile of |z - mean| vs its max deviation -> close to 0, weight ≈ 1
    code_1 = codes[:, 1]
    assert result['irs'] == pytest.approx(1.0 * 0.5 / (0.5 + np.abs(code_1).max()), abs=0.05)


# --------------------------------------------------------------------------- β-VAE and FactorVAE scores

def intervention_groups(representation, num_groups, batch, rng):
    """For each group a factor k held fixed: codes of two batches sharing k (β-VAE) and one batch with k fixed."""
    fixed = rng.integers(len(SIZES), size=num_groups)
    first = np.stack([rng.integers(s, size=(num_groups, batch)) for s in SIZES], axis=-1)
    second = np.stack([rng.integers(s, size=(num_groups, batch)) for s in SIZES], axis=-1)
    rows = np.arange(num_groups)
    second[rows, :, fixed] = first[rows, :, fixed]
    held = first.copy()
    held[rows, :, fixed] = first[rows, :1, fixed]
    return representation(first), representation(second), representation(held), fixed


@pytest.mark.parametrize('name', ['perfect', 'permuted', 'noise'])
def test_beta_vae_and_factor_vae_scores_extremes(name):
    rng = np.random.default_rng(4)
    noise_rng = np.random.default_rng(5)
    transforms = {
        'perfect': lambda f: np.concatenate([f, np.zeros(f.shape[:-1] + (2,))], axis=-1).astype(float),
        'permuted': lambda f: (np.concatenate([f, np.zeros(f.shape[:-1] + (2,))], axis=-1)[..., [3, 2, 0, 4, 1]]
                               * np.array([1.0, -3.0, 0.5, 1.0, 2.0])),
        'noise': lambda f: noise_rng.normal(size=f.shape[:-1] + (5,)),
    }
    train = intervention_groups(transforms[name], 300, 32, rng)
    evaluation = intervention_groups(transforms[name], 150, 32, rng)
    from framework.metrics import intervention_features
    beta = beta_vae_score(intervention_features(train[0], train[1]), train[3],
                          intervention_features(evaluation[0], evaluation[1]), evaluation[3])
    global_variances = np.var(transforms[name](np.stack([rng.integers(s, size=2000) for s in SIZES], -1)),
                              axis=0, ddof=1)
    factor = factor_vae_score(train[2], train[3], evaluation[2], evaluation[3], global_variances)
    if name == 'noise':
        assert beta['eval_accuracy'] < 0.6 and factor['eval_accuracy'] < 0.6
        assert factor['num_active_dims'] == 5
    else:
        assert beta['eval_accuracy'] > 0.95 and factor['eval_accuracy'] == pytest.approx(1.0)
        assert factor['num_active_dims'] == 3               # constant nuisance dimensions are pruned
