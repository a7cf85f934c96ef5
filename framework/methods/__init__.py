"""Baseline methods of the core: ``ae``, ``vae`` (β-VAE through ``reg_wt``), ``wae``, ``betatcvae``, ``dipvae`` and ``factorvae``."""
from .base import Method, AutoencoderMethod, GaussianPrior  # noqa: F401
from . import ae, vae, wae  # noqa: F401
from . import beta_tcvae, dip_vae  # noqa: F401
from . import factor_vae  # noqa: F401
