"""GDRAE (Pan, Niu, Zhang, AAAI 2023): injective flow decoders, the ``gdrae`` method, its Sector2D data
(``d/sector2d``) and ``fig gdrae-eval``."""
from . import encoders, flows, method, scripts, sector2d  # noqa: F401
