"""Disentanglement metrics with disentanglement_lib's protocols (Locatello et al., ICML 2019).

Every metric has two forms. The array form takes numpy codes (N, D) and factor classes (N, F)::

    from framework.metrics import mig, dci, sap, modularity_explicitness, irs
    mig(codes, factors)                      # {'mig': 0.31}

The protocol form, registered as a metric (``fig list metric``) with what it needs (``needs=('discrete_factors',)``,
see ``common.py``), draws its points from a ground-truth dataset and encodes them with a representation function;
``run_suite(suite, dataset, method)`` runs several with one seed, as ``fig eval-metrics`` does with a suite from
``config/eval/``. scikit-learn is imported only when a metric runs.
"""
from .beta_vae import beta_vae_score, evaluate_beta_vae, intervention_features
from .factor_vae import evaluate_factor_vae, factor_vae_score, majority_vote_score
from .mutual_information_gap import evaluate_mig, mig
from .dci_scores import completeness, dci, disentanglement, evaluate_dci, importance_matrix
from .attribute_predictability import evaluate_sap, sap, sap_score_matrix, top_two_gap
from .modularity import evaluate_modularity_explicitness, explicitness, modularity, modularity_explicitness
from .interventional_robustness import evaluate_irs, irs
from .information import discrete_entropy, discretize, mutual_information_matrix
from .suite import run_suite

__all__ = [
    'mig', 'dci', 'sap', 'modularity_explicitness', 'irs', 'beta_vae_score', 'factor_vae_score',
    'evaluate_mig', 'evaluate_dci', 'evaluate_sap', 'evaluate_modularity_explicitness', 'evaluate_irs',
    'evaluate_beta_vae', 'evaluate_factor_vae', 'run_suite',
    'discretize', 'mutual_information_matrix', 'discrete_entropy', 'disentanglement', 'completeness',
    'importance_matrix', 'sap_score_matrix', 'top_two_gap', 'modularity', 'explicitness', 'intervention_features',
    'majority_vote_score',
]
