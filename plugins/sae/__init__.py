"""Structural Autoencoders (Leeb et al., ICLR 2023) and latent responses (Leeb et al., NeurIPS 2022).

Registers the structural decoder ``strc`` (SAE / AdaAE), the VLAE ladder ``ladder`` (encoder and decoder),
the VAE baselines' ``kl_form: sae-code``, the latent-response metrics ``responses-2021`` / ``responses-2022`` and the scripts ``responses``,
``sae-samples`` and ``sae-fid``. See README.md.
"""
from . import kl, structural, ladder  # noqa: F401
from . import metrics, scripts  # noqa: F401,E402
