"""``fig sbd --load RUN``: simultaneous block diagonalisation of a trained model's transitions.

Maehara and Murota's simultaneous block diagonalisation, in the MSP paper's learned form (as in its
block-diagonalisation figures):
1. Fit M on many long sequences (every consecutive pair of a sequence).
2. Learn one change of basis U (a seeded random orthogonal start, Adam lr 0.1, 50 epochs, batches of 32)
   minimising the mean tracenorm(L_sym(|U⁻¹MU|ᵀ|U⁻¹MU|)) (``linalg.block_diagonalization_loss``).
3. Find the blocks: spectral clustering of the mean affinity mean(|V|ᵀ|V|), V = U⁻¹MU, with the number of
   blocks chosen by the largest eigengap of its normalised Laplacian (the original reads them off by hand).
4. Attribute blocks to factors by moving one factor at a time: the block where |I − V| is largest.
5. Write the reordered heatmap of mean |I − V|, per-factor heatmaps, block-restricted rollouts and a JSON.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from tqdm import tqdm

from framework import register
from framework.errors import ConfigError
from framework.logging import make_grid, save_png
from framework.runs import write_json_atomic
from framework.settings import settings_from

from .scripts import SequenceEvalSettings, enlarge, load_runs, moving_factors
from . import linalg


@dataclass
class SbdSettings(SequenceEvalSettings):
    """``fig sbd``: the sequences whose transitions are block-diagonalised, and the optimisation of U."""
    num_sequences: int = 256      # sequences whose fitted M are block-diagonalised together
    num_per_factor: int = 32      # sequences per factor (only that factor moving) for the attribution
    epochs: int = 50              # passes of Adam over the collected M
    sbd_lr: float = 0.1           # Adam's learning rate for U
    sbd_batch_size: int = 32      # transitions per Adam step (also sequences per encoder batch)
    max_blocks: int = 0           # largest number of blocks the eigengap may choose (0: dim_a - 1)


@torch.no_grad()
def collect_transitions(method, sequences, num: int, length: int, generator: torch.Generator,
                        batch_size: int = 32, force_moving: bool = False, moving=None) -> torch.Tensor:
    """Transition matrices (num, a, a) of ``num`` sequences of ``length`` frames moving ``moving``."""
    if not method.has_transition:
        raise ConfigError(f'{type(method).__name__} has no transition matrix to block-diagonalise.')
    Ms = []
    cond = length if getattr(method, 'fits_any_length', True) else method.T_cond
    for start in range(0, num, batch_size):
        x = sequences.sample_sequences(min(batch_size, num - start), length, generator, moving=moving,
                                       force_moving=force_moving)['x'][:, :cond].to(next(method.parameters()).device)
        Ms.append(method.transition_matrix(method.fit_transition(x, method.encode(x))).float().cpu())
    return torch.cat(Ms)


def optimise_change_of_basis(Ms: torch.Tensor, epochs: int = 50, lr: float = 0.1, batch_size: int = 32,
                             seed: int = 0) -> tuple[torch.Tensor, list[float]]:
    """U minimising the mean BD loss of U⁻¹MU over the collected M (Adam from a random orthogonal U).

    The start is a random orthogonal matrix drawn from ``seed``, as the authors' code starts it, so the result
    does not depend on the latent basis the encoder happened to learn.
    """
    a = Ms.shape[-1]
    g = torch.Generator().manual_seed(int(seed))
    U = torch.nn.Parameter(torch.nn.init.orthogonal_(torch.empty(a, a), generator=g))
    optimiser = torch.optim.Adam([U], lr=lr)
    history = []
    for _ in range(epochs):
        total = 0.0
        for idx in torch.randperm(len(Ms), generator=g).split(batch_size):
            loss = linalg.block_diagonalization_loss(conjugate(Ms[idx], U))
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            total += loss.item() * len(idx)
        history.append(total / len(Ms))
    return U.detach(), history


def conjugate(M: torch.Tensor, U: torch.Tensor) -> torch.Tensor:
    """U⁻¹ M U, batched over M."""
    return torch.linalg.solve(U, M @ U)


def find_blocks(affinity: np.ndarray, max_blocks: int | None = None, seed: int = 0):
    """Spectral clustering of a symmetric affinity; the number of blocks is the largest eigengap's position.

    Returns (blocks: list of index lists, eigenvalues of L_sym ascending).
    """
    from sklearn.cluster import KMeans
    a = affinity.shape[0]
    A = 0.5 * (affinity + affinity.T)
    d = A.sum(1) + 1.0e-10
    L = np.eye(a) - A / np.sqrt(d[:, None] * d[None, :])
    values, vectors = np.linalg.eigh(L)
    max_blocks = min(max_blocks or a - 1, a - 1)
    gaps = np.diff(values[:max_blocks + 1])
    k = int(np.argmax(gaps)) + 1
    embedding = vectors[:, :k]
    embedding = embedding / (np.linalg.norm(embedding, axis=1, keepdims=True) + 1.0e-12)
    labels = KMeans(n_clusters=k, n_init=10, random_state=seed).fit_predict(embedding) if k > 1 else np.zeros(a, int)
    blocks = [sorted(np.flatnonzero(labels == c).tolist()) for c in range(k)]
    blocks = sorted([b for b in blocks if b], key=lambda b: b[0])
    return blocks, values.tolist()


def block_energies(Vs: torch.Tensor, blocks) -> list[float]:
    """Mean |I − V| over the rows and columns of each block."""
    dev = (torch.eye(Vs.shape[-1]) - Vs).abs().mean(0)
    return [float(dev[np.ix_(b, b)].mean()) for b in blocks]


@register.script('sbd', settings=SbdSettings)
def sbd(cfg):
    """Simultaneous block diagonalisation: common U, blocks by spectral clustering, factor attribution, PNGs."""
    s = settings_from(cfg, SbdSettings)
    run = load_runs(cfg, s)[0]
    method, sequences = run.method, run.sequences
    moving = moving_factors(sequences, s)
    generator = torch.Generator().manual_seed(s.eval_seed)
    Ms = collect_transitions(method, sequences, s.num_sequences, s.length, generator, s.sbd_batch_size,
                             moving=moving)
    U, history = optimise_change_of_basis(Ms, s.epochs, s.sbd_lr, s.sbd_batch_size, seed=s.eval_seed)
    with torch.no_grad():
        Vs = conjugate(Ms, U)
        affinity = (Vs.abs().transpose(-1, -2) @ Vs.abs()).mean(0).numpy()
    blocks, eigenvalues = find_blocks(affinity, s.max_blocks or None, s.eval_seed)
    order = [i for b in blocks for i in b]

    per_factor, attribution = {}, {}
    for name in moving:
        Mf = collect_transitions(method, sequences, s.num_per_factor, s.length, generator, s.sbd_batch_size,
                                 force_moving=True, moving=[name])
        with torch.no_grad():
            Vf = conjugate(Mf, U)
        per_factor[name] = (Vf, block_energies(Vf, blocks))
    names = list(per_factor)
    energy = np.array([per_factor[n][1] for n in names])                  # (factors, blocks)
    relative = energy / (energy.mean(0, keepdims=True) + 1.0e-12)
    for j, block in enumerate(blocks):
        attribution[str(j)] = {'dims': block, 'factor': names[int(np.argmax(relative[:, j]))] if names else None,
                               'energy_by_factor': dict(zip(names, energy[:, j].round(5).tolist()))}

    images = run.run_dir / 'images'
    images.mkdir(parents=True, exist_ok=True)
    _heatmaps({'all transitions': Vs, **{n: v for n, (v, _) in per_factor.items()}}, order, blocks, images)
    _block_rollouts(method, sequences, U, blocks, s.length, generator, moving, images / 'sbd_rollouts.png')
    result = {'num_blocks': len(blocks), 'blocks': blocks, 'attribution': attribution,
              'eigenvalues': eigenvalues, 'loss_history': history, 'U': U.tolist(), 'length': s.length,
              'num_sequences': s.num_sequences, 'active_factors': list(moving), 'eval_part': s.eval_part,
              'seed': s.eval_seed, 'step': run.step}
    write_json_atomic(run.run_dir / 'results' / 'sbd.json', result)
    tqdm.write(f'SBD: {len(blocks)} blocks {blocks}; BD loss {history[0]:.3f} -> {history[-1]:.3f}; ' +
               ', '.join(f'block {j}: {v["factor"]}' for j, v in attribution.items()))
    return result


def _heatmaps(groups: dict, order, blocks, folder) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    eye = torch.eye(len(order))
    for i, (name, Vs) in enumerate(groups.items()):
        dev = (eye - Vs).abs().mean(0).numpy()[np.ix_(order, order)]
        fig, ax = plt.subplots(figsize=(3.5, 3.2))
        im = ax.imshow(dev, cmap='viridis')
        edges = np.cumsum([len(b) for b in blocks])[:-1] - 0.5
        for e in edges:
            ax.axhline(e, color='w', lw=0.8)
            ax.axvline(e, color='w', lw=0.8)
        ax.set_title(f'mean |I - U^-1 M U|: {name}', fontsize=7)
        fig.colorbar(im, ax=ax)
        fig.tight_layout()
        fig.savefig(folder / ('sbd_heatmap.png' if i == 0 else f'sbd_heatmap_{name}.png'), dpi=110)
        plt.close(fig)


@torch.no_grad()
def _block_rollouts(method, sequences, U, blocks, length, generator, moving, path) -> None:
    """Rows: truth, full rollout, then one rollout per block where only that block of U⁻¹MU acts."""
    Tc = method.T_cond
    x = sequences.sample_sequences(1, length, generator, moving=moving, force_moving=True)['x']
    x = x.to(next(method.parameters()).device)
    H = method.encode(x[:, :Tc])
    M = method.transition_matrix(method.fit_transition(x[:, :Tc], H)).float()
    U = U.to(M.device)
    V = conjugate(M, U)
    rows = [x[0], torch.cat([x[0, :Tc], method.decode_latents(linalg.rollout(H[:, -1], M, length - Tc))[0]])]
    for block in blocks:
        Vb = torch.eye(V.shape[-1], device=V.device).expand_as(V).clone()
        idx = torch.tensor(block, device=V.device)
        Vb[:, idx[:, None], idx[None, :]] = V[:, idx[:, None], idx[None, :]]
        Mb = U @ Vb @ torch.linalg.inv(U)                  # back to the latent basis
        rows.append(torch.cat([x[0, :Tc], method.decode_latents(linalg.rollout(H[:, -1], Mb, length - Tc))[0]]))
    save_png(make_grid(enlarge(torch.cat(rows)), nrow=length), path)
