"""SBD on transitions with a known block structure: the blocks are recovered, also after a change of basis."""
import torch

from plugins.msp.sbd import conjugate, find_blocks, optimise_change_of_basis


def rotations(n, generator):
    t = torch.rand(n, generator=generator) * 2
    return torch.stack([torch.stack([t.cos(), -t.sin()], -1), torch.stack([t.sin(), t.cos()], -1)], -2)


def block_transitions(n=128, seed=0):
    """Three independent 2x2 rotation blocks, coordinates shuffled: blocks {0, 2}, {1, 4}, {3, 5}."""
    g = torch.Generator().manual_seed(seed)
    M = torch.zeros(n, 6, 6)
    for i in range(3):
        M[:, 2 * i:2 * i + 2, 2 * i:2 * i + 2] = rotations(n, g)
    perm = torch.tensor([0, 3, 1, 4, 2, 5])
    return M[:, perm][:, :, perm], g


def affinity(V):
    return (V.abs().transpose(-1, -2) @ V.abs()).mean(0).numpy()


def test_blocks_of_a_block_diagonal_family():
    M, _ = block_transitions()
    blocks, eigenvalues = find_blocks(affinity(M))
    assert blocks == [[0, 2], [1, 4], [3, 5]]
    assert max(eigenvalues[:3]) < 1e-6 < eigenvalues[3]      # three connected components: three zero eigenvalues


def test_change_of_basis_is_undone():
    M, g = block_transitions()
    P = torch.eye(6) + 0.3 * torch.randn(6, 6, generator=g)
    mixed = conjugate(M, torch.linalg.inv(P))                  # P M P⁻¹: no visible block structure
    assert len(find_blocks(affinity(mixed))[0]) < 3
    U, history = optimise_change_of_basis(mixed, epochs=50)
    assert history[-1] < 0.6 * history[0]
    blocks, _ = find_blocks(affinity(conjugate(mixed, U)))
    assert sorted(len(b) for b in blocks) == [2, 2, 2]


def test_change_of_basis_starts_from_a_seeded_random_orthogonal_matrix():
    M, _ = block_transitions(n=8)
    U0, history = optimise_change_of_basis(M, epochs=0, seed=3)
    assert history == []
    assert torch.allclose(U0.T @ U0, torch.eye(6), atol=1e-5)                 # orthogonal
    assert not torch.allclose(U0, torch.eye(6), atol=0.1)                      # not the identity
    assert torch.equal(optimise_change_of_basis(M, epochs=0, seed=3)[0], U0)   # seeded
    assert not torch.allclose(optimise_change_of_basis(M, epochs=0, seed=4)[0], U0)
