"""MSP / SBD (Miyato, Koyama, Fukumizu, NeurIPS 2022): meta-sequential prediction of linear latent transitions.

Registers the methods ``msp``, ``msp-fixed-blocks``, ``msp-rec``, ``neural-m``, ``neural-transition`` and
``msp-2nd-order``, the ``msp-resnet`` encoder/decoder, the sequence data they train on (``factor-walk``, ``transform-seq``,
``mnist-seq`` and the ``sequence:`` config node), the offline ``msp-toy-shifts`` sequences and the
scripts ``eval-msp``, ``sbd`` and ``gen``.
"""
from . import sequences, transform_sequences  # noqa: F401  (the sequence batch form and its datasets)
from . import linalg, modules, toy, method, scripts  # noqa: F401
