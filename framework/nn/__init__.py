"""Shared encoder/decoder architectures: ``conv12``, ``conv16``, ``dlib``, ``mlp``.

Encoders are built as ``Encoder(in_shape, out_dim, ...)`` and decoders as ``Decoder(latent_dim, out_shape, ...)``;
the method chooses ``out_dim`` (a VAE asks for two numbers per latent).
"""
from . import blocks, conv_stack, dlib, mlp  # noqa: F401
