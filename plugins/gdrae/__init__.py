"""GDRAE (Pan, Niu, Zhang, AAAI 2023): injective flow decoders, the ``gdrae`` method and ``fig gdrae-eval``."""
from . import encoders, flows, method, scripts  # noqa: F401
