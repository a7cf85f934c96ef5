"""Commutative Lie Group VAE (Zhu, Xu, Tao, ICML 2021): method ``liegroup``, encoder/decoder ``liegroup``,
the repository-parity metrics ``liegroup-mig`` and ``liegroup-factor-leakage``, and the
``liegroup-basis`` script."""
from . import method, metrics, modules, scripts  # noqa: F401
