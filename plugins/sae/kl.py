"""The SAE paper's "KL" of the VAE baselines: its encoders emit log standard deviations, and the released code's
KL term is ½ Σ_j (μ² + σ − log σ − 1) with σ the standard deviation (a quirk kept for parity; see README.md).

Selected with ``kl_form: sae-code`` on the core VAE (``config/sae/vae.yaml``, ``config/a/ladder/*.yaml``).
"""
from __future__ import annotations

import torch

from framework.methods.vae import KLForm, register_kl_form


def sae_code_kl(mean: torch.Tensor, log_std: torch.Tensor) -> torch.Tensor:
    """½ Σ_j (μ² + σ − log σ − 1) per sample, with σ = exp(log_std) the standard deviation."""
    std = log_std.exp()
    return 0.5 * (mean.pow(2) + std - log_std - 1).sum(-1)


def _std(log_std: torch.Tensor) -> torch.Tensor:
    return log_std.exp()


SAE_CODE = KLForm(_std, sae_code_kl)
register_kl_form('sae-code', SAE_CODE)
