"""Meta-sequential prediction (MSP, Miyato et al. NeurIPS 2022) and the baselines it is compared with.

Every method here trains on sequences x: (B, T, C, H, W) in [0, 1]. Frames are encoded independently to
latent matrices H_t ∈ R^{m×a} (the encoder's m·a outputs in row-major order, as the authors' code reshapes them);
the first ``T_cond`` frames condition a transition, the latent of the last conditioning frame is rolled out
and decoded, and the loss is the per-frame sum of squared errors.

- ``msp``: M* fitted by least squares on the conditioning latents, gradients through the solve.
- ``msp-fixed-blocks``: an independent least-squares fit per fixed 2×2 block (the paper's "Ours w/ fixed blocks").
- ``msp-rec``: M fitted on all T frames, targets included, rollout from H_0 (the paper's "Rec." model).
- ``neural-m``: M = 0.01·net(conditioning frames stacked on channels) (the paper's Neural M*).
- ``neural-transition``: a per-row network maps the last T_cond latents to the next one.
- ``msp-2nd-order``: HO-LSTSQ for accelerated sequences, M_{t+1} = M_t A.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils import parametrize

from framework import Builder, register
from framework.errors import ConfigError
from framework.methods import Method

from . import linalg
from .modules import WeightStandardization


def frame_sse(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Squared error summed over C×H×W, averaged over batch and frames (the papers' "MSE")."""
    return (prediction.float() - target.float()).pow(2).flatten(2).sum(-1).mean()


class SequencePredictor(Method):
    """Shared by the MSP family: per-frame encoder to H ∈ R^{m×a}, a transition, decoded rollouts."""
    batch_form = 'sequences'
    has_transition = True          # False where there is no M to swap between sequences (neural-transition)

    bd_wt = 0.0                    # weight of the optional block-diagonalisation regulariser (methods with an M)

    def __init__(self, encoder: Builder, decoder: Builder, observation_shape, dim_m: int = 256, dim_a: int = 16,
                 T_cond: int = 2):
        super().__init__()
        self.observation_shape = tuple(observation_shape)
        self.dim_m, self.dim_a, self.T_cond = int(dim_m), int(dim_a), int(T_cond)
        latent = self.dim_m * self.dim_a
        self.encoder = encoder(in_shape=self.observation_shape, out_dim=latent)
        self.decoder = decoder(latent_dim=latent, out_shape=self.observation_shape)

    # ------------------------------------------------------------------ latents
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Frames (..., C, H, W) -> latents (..., m, a), each frame encoded independently."""
        lead = x.shape[:-len(self.observation_shape)]
        codes = self.encoder(x.reshape(-1, *self.observation_shape))
        return codes.reshape(*lead, self.dim_m, self.dim_a)

    def decode_latents(self, H: torch.Tensor) -> torch.Tensor:
        """Latents (..., m, a) -> frames (..., C, H, W); reads H flattened row-major, like ``encode``."""
        lead = H.shape[:-2]
        frames = self.decoder(H.reshape(-1, self.dim_m * self.dim_a))
        return frames.reshape(*lead, *self.observation_shape)

    def represent(self, x: torch.Tensor) -> torch.Tensor:
        """Frames (B, C, H, W) -> flattened latents (B, m·a)."""
        return self.encoder(x)

    # ------------------------------------------------------------------ transitions
    def fit_transition(self, x_cond: torch.Tensor, H_cond: torch.Tensor):
        """The transition conditioned on T_cond frames (and their latents (B, T_cond, m, a))."""
        raise NotImplementedError

    def rollout_latents(self, H_cond: torch.Tensor, transition, n: int) -> torch.Tensor:
        """Ĥ_{T_c−1+k} for k = 1..n from the conditioning latents: (B, n, m, a)."""
        return linalg.rollout(H_cond[:, -1], transition, n)

    @staticmethod
    def shift_transition(transition):
        """Sequence b gets sequence b−1's transition, cyclically (``M[arange(−1, B−1)]``)."""
        if isinstance(transition, (tuple, list)):
            return type(transition)(torch.roll(t, 1, 0) for t in transition)
        return torch.roll(transition, 1, 0)

    @staticmethod
    def transition_matrix(transition) -> torch.Tensor:
        """The (B, a, a) matrix that the BD loss and SBD read (the last step's M for HO-LSTSQ)."""
        return transition[0] if isinstance(transition, (tuple, list)) else transition

    @torch.no_grad()
    def predict(self, x_cond: torch.Tensor, n: int, swap_transitions: bool = False) -> torch.Tensor:
        """Predict n frames after x_cond: (B, T_cond, C, H, W) -> (B, n, C, H, W).

        With ``swap_transitions`` sequence b is rolled out with the transition fitted on sequence b−1 (the
        the paper's equivariance error L^p_equiv).
        """
        H = self.encode(x_cond)
        transition = self.fit_transition(x_cond, H)
        if swap_transitions:
            transition = self.shift_transition(transition)
        return self.decode_latents(self.rollout_latents(H, transition, n))

    # ------------------------------------------------------------------ training
    def _check_length(self, T: int, need: int) -> None:
        if T < need:
            raise ConfigError(f'{type(self).__name__} needs sequences of at least {need} frames (T_cond='
                              f'{self.T_cond}), got {T}; set `--sequence.length {need}` or lower `--T_cond`.')

    def _scalars(self, transition, H_cond: torch.Tensor) -> dict[str, torch.Tensor]:
        """Diagnostics: the BD loss of M and the fit's residual before/after (loss_internal_0/T)."""
        M = self.transition_matrix(transition)
        with torch.set_grad_enabled(torch.is_grad_enabled() and self.bd_wt > 0):
            out = {'loss_bd': linalg.block_diagonalization_loss(M.float())}
        if H_cond.shape[1] >= 2 and M.dim() == 3:
            H0, H1 = H_cond[:, :-1], H_cond[:, 1:]
            out['loss_internal_0'] = (H0 - H1).pow(2).flatten(1).sum(1).mean().detach()
            out['loss_internal_T'] = (H0 @ M[:, None] - H1).pow(2).flatten(1).sum(1).mean().detach()
        return out

    def predict_frames(self, x):
        """Encode the T_cond conditioning frames, fit the transition, decode the rollout of the rest."""
        Tc = self.T_cond
        self._check_length(x.shape[1], Tc + 1)
        H = self.encode(x[:, :Tc])
        transition = self.fit_transition(x[:, :Tc], H)
        prediction = self.decode_latents(self.rollout_latents(H, transition, x.shape[1] - Tc))
        return H, transition, prediction

    def training_step(self, batch):
        x = batch['x']
        H, transition, prediction = self.predict_frames(x)
        pred_sse = frame_sse(prediction, x[:, self.T_cond:])
        return self._finish(pred_sse, transition, H)

    def _finish(self, loss, transition, H_cond):
        out = {'pred_sse': loss.detach(), **self._scalars(transition, H_cond)}
        if self.bd_wt > 0:
            loss = loss + self.bd_wt * out['loss_bd']
        out['loss_bd'] = out['loss_bd'].detach()
        out['loss'] = loss
        return out


class LeastSquaresPredictor(SequencePredictor):
    """The methods whose M is a least-squares fit: ``ridge`` (the solve's relative ridge, ``linalg.RIDGE``)
    and ``bd_wt`` (the optional block-diagonalisation regulariser; 0, the paper's setting, only logs it)."""

    def __init__(self, encoder: Builder, decoder: Builder, observation_shape, dim_m: int = 256, dim_a: int = 16,
                 T_cond: int = 2, bd_wt: float = 0.0, ridge: float = linalg.RIDGE):
        super().__init__(encoder, decoder, observation_shape, dim_m, dim_a, T_cond)
        self.bd_wt, self.ridge = float(bd_wt), float(ridge)

    def fit_transition(self, x_cond, H_cond):
        return linalg.fit_sequence_transition(H_cond, self.ridge)


@register.method('msp')
class MSP(LeastSquaresPredictor):
    """Meta-sequential prediction: M* by least squares on the conditioning frames, loss on predicted frames."""


@register.method('msp-fixed-blocks')
class MSPFixedBlocks(LeastSquaresPredictor):
    """MSP with an a-priori block structure: independent least squares per fixed block of columns."""

    def __init__(self, encoder: Builder, decoder: Builder, observation_shape, dim_m: int = 256, dim_a: int = 16,
                 T_cond: int = 2, bd_wt: float = 0.0, ridge: float = linalg.RIDGE, block_size: int = 2):
        super().__init__(encoder, decoder, observation_shape, dim_m, dim_a, T_cond, bd_wt, ridge)
        if self.dim_a % block_size:
            raise ConfigError(f'dim_a={self.dim_a} must be a multiple of block_size={block_size}.')
        self.block_size = int(block_size)

    def fit_transition(self, x_cond, H_cond):
        return linalg.fit_block_transition(H_cond, self.block_size, self.ridge)


@register.method('msp-rec')
class MSPRec(LeastSquaresPredictor):
    """The "Rec." baseline: M fitted on all frames (targets included), rollout from the first latent."""

    def training_step(self, batch):
        x = batch['x']
        self._check_length(x.shape[1], 2)
        H = self.encode(x)
        transition = self.fit_transition(x, H)
        prediction = self.decode_latents(linalg.rollout(H[:, 0], transition, x.shape[1] - 1))
        return self._finish(frame_sse(prediction, x[:, 1:]), transition, H)


@register.method('neural-m')
class NeuralM(SequencePredictor):
    """Neural M*: a second encoder reads the conditioning frames (on channels) and outputs M; + reconstruction."""
    fits_any_length = False        # M_net reads exactly T_cond frames

    def __init__(self, encoder: Builder, decoder: Builder, observation_shape, dim_m: int = 256, dim_a: int = 16,
                 T_cond: int = 2, bd_wt: float = 0.0, initial_scale_M: float = 0.01):
        super().__init__(encoder, decoder, observation_shape, dim_m, dim_a, T_cond)
        self.bd_wt = float(bd_wt)
        c, *rest = self.observation_shape
        self.M_net = encoder(in_shape=(c * self.T_cond, *rest), out_dim=self.dim_a ** 2)
        self.initial_scale_M = float(initial_scale_M)

    def fit_transition(self, x_cond, H_cond):
        B = x_cond.shape[0]
        stacked = x_cond.reshape(B, -1, *self.observation_shape[1:])
        return self.initial_scale_M * self.M_net(stacked).reshape(B, self.dim_a, self.dim_a)

    def training_step(self, batch):
        return _predict_and_reconstruct(self, batch)


def _predict_and_reconstruct(method: SequencePredictor, batch):
    """Neural baselines' loss: per-frame SSE over all T frames, the T_cond reconstructions and the predictions."""
    x = batch['x']
    Tc = method.T_cond
    H, transition, prediction = method.predict_frames(x)
    reconstruction = method.decode_latents(H)
    loss = frame_sse(torch.cat([reconstruction, prediction], 1), x)
    out = {'pred_sse': frame_sse(prediction, x[:, Tc:]).detach(),
           'rec_sse': frame_sse(reconstruction, x[:, :Tc]).detach()}
    if method.has_transition:
        bd = linalg.block_diagonalization_loss(transition.float())
        if method.bd_wt > 0:
            loss = loss + method.bd_wt * bd
        out['loss_bd'] = bd.detach()
    out['loss'] = loss
    return out


class RowwiseResidual(nn.Module):
    """Pre-LayerNorm → ReLU → weight-standardised linear, twice, plus a linear shortcut (a 1×1 Conv1d block)."""

    def __init__(self, width: int):
        super().__init__()
        layers = []
        for _ in range(2):
            linear = nn.Linear(width, width)
            parametrize.register_parametrization(linear, 'weight', WeightStandardization())
            layers += [nn.LayerNorm(width), nn.ReLU(), linear]
        self.residual = nn.Sequential(*layers)
        self.shortcut = nn.Linear(width, width)

    def forward(self, x):
        return self.residual(x) + self.shortcut(x)


@register.method('neural-transition')
class NeuralTransition(SequencePredictor):
    """Neural transition: a per-row network maps the last T_cond latents to the next, slid autoregressively."""
    has_transition = False

    def __init__(self, encoder: Builder, decoder: Builder, observation_shape, dim_m: int = 256, dim_a: int = 16,
                 T_cond: int = 2, transition_hidden: int = 128):
        super().__init__(encoder, decoder, observation_shape, dim_m, dim_a, T_cond)
        h = int(transition_hidden)
        self.transition_net = nn.Sequential(nn.Linear(self.T_cond * self.dim_a, h), RowwiseResidual(h),
                                            RowwiseResidual(h), nn.LayerNorm(h), nn.ReLU(), nn.Linear(h, self.dim_a))

    def fit_transition(self, x_cond, H_cond):
        return None

    def rollout_latents(self, H_cond, transition, n):
        window, out = list(H_cond.unbind(1)), []
        for _ in range(n):
            rows = torch.cat(window[-self.T_cond:], -1)         # (B, m, T_c·a), time-major per row
            window.append(self.transition_net(rows))
            out.append(window[-1])
        return torch.stack(out, 1)

    @torch.no_grad()
    def predict(self, x_cond, n, swap_transitions=False):
        if swap_transitions:
            raise ValueError('neural-transition has no transition matrix to swap between sequences')
        return super().predict(x_cond, n)

    def training_step(self, batch):
        return _predict_and_reconstruct(self, batch)


@register.method('msp-2nd-order')
class MSPSecondOrder(LeastSquaresPredictor):
    """MSP with HO-LSTSQ for accelerated sequences: per-step M_t, then M_{t+1} = M_t A by least squares."""

    def __init__(self, encoder: Builder, decoder: Builder, observation_shape, dim_m: int = 256, dim_a: int = 16,
                 T_cond: int = 5, bd_wt: float = 0.0, ridge: float = linalg.RIDGE, drop_first: bool = True):
        super().__init__(encoder, decoder, observation_shape, dim_m, dim_a, T_cond, bd_wt, ridge)
        self.drop_first = bool(drop_first)
        if self.T_cond < (4 if self.drop_first else 3):
            raise ConfigError(f'msp-2nd-order needs T_cond >= {4 if self.drop_first else 3}, got {self.T_cond}.')

    def fit_transition(self, x_cond, H_cond):
        return linalg.fit_second_order(H_cond, self.drop_first, self.ridge)

    def rollout_latents(self, H_cond, transition, n):
        M_last, A = transition
        return linalg.rollout_second_order(H_cond[:, -1], M_last, A, n)

    def _scalars(self, transition, H_cond):
        with torch.set_grad_enabled(torch.is_grad_enabled() and self.bd_wt > 0):
            return {'loss_bd': linalg.block_diagonalization_loss(transition[0].float())}
