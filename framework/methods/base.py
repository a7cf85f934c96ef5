"""The method contract: an ``nn.Module`` that owns its modules and defines its loss.

The trainer knows only ``training_step`` and ``optimizers``; metrics read ``represent``; images use
``reconstruct``, ``decode`` and ``sample`` where a method has them. ``batch_form`` says whether the method
trains on single observations (``'images'``, also used for vectors) or on sequences (``'sequences'``: ``x`` is
B×T×...).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ConfigError
from ..values import Count


@dataclass
class OptimizerSpec:
    """One Adam optimiser of a method: which parameters it owns, which loss it minimises, how often it steps.

    ``lr``, ``betas`` and ``weight_decay`` left as None take the run's ``--lr``, ``--beta1/--beta2`` and
    ``--weight_decay``; the run's schedule (``--schedule``) scales every optimiser's own ``lr``.
    """
    name: str                                   # names the state in checkpoints and the lr in the logs
    params: list                                # the parameters this optimiser updates (disjoint from the others)
    lr: float | None = None
    betas: tuple[float, float] | None = None
    weight_decay: float | None = None
    loss_key: str = 'loss'                      # the entry of ``training_step``'s output it minimises
    every: int = 1                              # steps on training steps 0, every, 2*every, ...


class Method(nn.Module):
    """Base class of every method; subclasses set ``batch_form`` and implement ``training_step``.

    ``current_step`` is the number of optimisation steps done before the one being computed (0 on the first):
    the trainer sets it before every ``training_step``, resumed runs included, so a schedule inside a loss
    (an annealed weight, a warm-up) reads it instead of counting calls.
    """
    batch_form = 'images'
    current_step: int = 0
    # ``represent`` gives each observation the same code whatever its batch (posterior means, encoder outputs),
    # so a metric suite encodes each factor combination once (framework/metrics/code_table.py); a method whose
    # ``represent`` samples sets this False
    deterministic_represent: bool = True

    def forward(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """The training objective; ``forward`` so that DistributedDataParallel can wrap any method."""
        return self.training_step(batch)

    def training_step(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """``{'loss': scalar tensor to minimise, **other scalars to log}``."""
        raise NotImplementedError

    def optimizers(self, settings) -> list[OptimizerSpec]:
        """The optimisers the trainer builds for this method; by default one Adam over all parameters on ``loss``.

        Override to train parts of a method on different objectives (e.g. FactorVAE's discriminator, which has
        its own Adam and its own loss). Each step the trainer runs ``training_step`` once, then for every spec
        due at this step it backpropagates ``out[spec.loss_key]`` into ``spec.params`` only (other parameters'
        gradients are untouched, even where that loss depends on them), clips those gradients with
        ``--grad_clip``, and then steps every due optimiser. ``settings`` is the run's ``TrainSettings``.

        Under DDP a method with several optimisers has its gradients averaged by an explicit all-reduce after
        the backward passes instead of DDP's overlapped buckets (slower, same result); with one optimiser
        nothing changes.
        """
        return [OptimizerSpec('main', list(self.parameters()))]

    @torch.no_grad()
    def evaluation_step(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Scores on held-out data; by default the training objective's terms in eval mode."""
        return self.training_step(batch)

    def represent(self, x: torch.Tensor) -> torch.Tensor:
        """The representation that metrics read (e.g. posterior means): (B, ...) -> (B, D)."""
        raise NotImplementedError


class AutoencoderMethod(Method):
    """Shared by autoencoders: a reconstruction criterion on observations in [0, 1] or on vectors."""

    def __init__(self, observation_shape, latent_dim: Count = 12, criterion: str = 'auto'):
        super().__init__()
        self.observation_shape, self.latent_dim = tuple(observation_shape), int(latent_dim)
        if criterion == 'auto':
            criterion = 'bce' if len(self.observation_shape) == 3 else 'mse'
        if criterion not in ('bce', 'mse'):
            raise ConfigError(f"criterion must be 'bce', 'mse' or 'auto', got {criterion!r}")
        self.criterion = criterion

    def build_autoencoder(self, encoder, decoder, outputs_per_latent: int = 1) -> None:
        """Encoder from observations to ``outputs_per_latent`` numbers per latent; decoder back."""
        self.encoder = encoder(in_shape=self.observation_shape, out_dim=outputs_per_latent * self.latent_dim)
        self.decoder = decoder(latent_dim=self.latent_dim, out_shape=self.observation_shape)

    def reconstruction_term(self, z: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """``reconstruction_loss(decoder(z), x)``; computed from the decoder's logits where it ends in a sigmoid
        (``decoder.logits``): one fused, stable kernel, the same value up to float round-off wherever the sigmoid
        is not saturated (there the clamped logs of the written-out form stop at 100)."""
        if self.criterion == 'bce' and getattr(self.decoder, 'outputs_probabilities', False):
            logits = self.decoder.logits(z).float()
            per_element = F.binary_cross_entropy_with_logits(logits, x.float(), reduction='none')
            return per_element.flatten(1).sum(1).mean()
        return self.reconstruction_loss(self.decoder(z), x)

    def reconstruction_loss(self, reconstruction: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Summed over the observation, averaged over the batch (the SAE paper's ``rec_loss``)."""
        if self.criterion == 'bce':
            per_element = binary_cross_entropy(reconstruction.float(), x.float())
        else:
            per_element = F.mse_loss(reconstruction.float(), x.float(), reduction='none')
        return per_element.flatten(1).sum(1).mean()

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.represent(x))


def binary_cross_entropy(reconstruction: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Elementwise −[x log r + (1 − x) log(1 − r)], each log clamped at −100 as ``F.binary_cross_entropy`` does.

    Written out so that a NaN reconstruction gives a NaN loss, which the trainer's guard reports with the
    loss terms and a hint, where ``F.binary_cross_entropy`` raises (CPU) or trips a device assert (CUDA).
    A sigmoid saturated at exactly 0 or 1 keeps a finite gradient.
    """
    return -(x * _clamped_log(reconstruction) + (1 - x) * _clamped_log(1 - reconstruction))


def _clamped_log(v: torch.Tensor) -> torch.Tensor:
    """max(log v, −100), with −100 and a zero gradient at v = 0 (not log 0 · 0 = NaN); NaN stays NaN."""
    tiny = torch.finfo(v.dtype).tiny
    return torch.where(v == 0, torch.full_like(v, -100.0), torch.log(v.clamp_min(tiny))).clamp_min(-100.0)


class GaussianPrior:
    """Mixin for methods whose prior is N(0, I) over ``latent_dim`` codes: ``sample`` decodes prior draws."""

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        device = next(self.parameters()).device
        return self.decode(torch.randn(n, self.latent_dim, generator=generator).to(device))
