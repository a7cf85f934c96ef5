"""Baseline methods of the core: ``ae``, ``vae`` (β-VAE through ``reg_wt``) and ``wae``."""
from .base import Method, AutoencoderMethod, GaussianPrior  # noqa: F401
from . import ae, vae, wae  # noqa: F401
from . import factor_vae  # noqa: F401
