"""The faster CPU forward of one-output-channel transposed convolutions (framework/nn/deconv.py) gives torch's
values, gradients and forward-mode derivatives, and keeps nn.ConvTranspose2d's parameters."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import jacrev, jvp, vmap

from framework.nn.deconv import ConvTranspose2d, FoldTransposedConv
from framework.nn.dlib import DlibDecoder


def stock(layer: nn.ConvTranspose2d, x: torch.Tensor) -> torch.Tensor:
    return F.conv_transpose2d(x, layer.weight, layer.bias, layer.stride, layer.padding, 0, 1, layer.dilation)


def test_a_hand_computed_scatter():
    # one input pixel of value 2 at (0, 0), stride 2, padding 1: the 4x4 kernel lands at output rows/cols -1..2,
    # so output (i, j) = 2 * kernel[i + 1, j + 1] for i, j in 0..2, plus the bias
    layer = ConvTranspose2d(1, 1, 4, stride=2, padding=1)
    with torch.no_grad():
        layer.weight.copy_(torch.arange(16.0).reshape(1, 1, 4, 4))
        layer.bias.fill_(0.5)
    x = torch.zeros(1, 1, 2, 2)
    x[0, 0, 0, 0] = 2.0
    out = layer(x)[0, 0]
    expected = torch.full((4, 4), 0.5)
    expected[:3, :3] += 2 * torch.arange(16.0).reshape(4, 4)[1:, 1:]
    assert torch.equal(out, expected)


def test_same_values_and_gradients_as_torch_for_geometries_and_layouts():
    torch.manual_seed(0)
    for stride, padding, kernel, dilation, bias in [(2, 1, 4, 1, True), (1, 0, 3, 1, False), (2, 0, 3, 2, True)]:
        layer = ConvTranspose2d(6, 1, kernel, stride, padding, dilation=dilation, bias=bias)
        for channels_last in (False, True):
            x = torch.randn(5, 6, 7, 9)
            if channels_last:
                x = x.to(memory_format=torch.channels_last)
            x.requires_grad_()
            ours, theirs = layer(x), stock(layer, x)
            assert ours.shape == theirs.shape and torch.allclose(ours, theirs, atol=1e-5)
            upstream = torch.randn_like(theirs)
            got = torch.autograd.grad(ours, [x, *layer.parameters()], upstream)
            want = torch.autograd.grad(theirs, [x, *layer.parameters()], upstream)
            for a, b in zip(got, want):
                assert torch.allclose(a, b, atol=1e-4)


def test_second_and_forward_mode_derivatives_match_torch():
    torch.manual_seed(1)
    x = torch.randn(2, 3, 4, 4, dtype=torch.double, requires_grad=True)
    w = torch.randn(3, 1, 4, 4, dtype=torch.double, requires_grad=True)
    b = torch.randn(1, dtype=torch.double, requires_grad=True)
    ours = lambda x, w, b: FoldTransposedConv.apply(x, w, b, (2, 2), (1, 1), (1, 1))          # noqa: E731
    assert torch.autograd.gradgradcheck(ours, (x, w, b))
    theirs = lambda x: F.conv_transpose2d(x, w, b, 2, 1)                                         # noqa: E731
    tangent = torch.randn_like(x)
    assert torch.allclose(jvp(lambda x: ours(x, w, b), (x,), (tangent,))[1], jvp(theirs, (x,), (tangent,))[1])
    assert torch.allclose(jacrev(lambda x: ours(x, w, b))(x[:1]), jacrev(theirs)(x[:1]))
    stacked = torch.randn(3, 2, 3, 4, 4, dtype=torch.double)
    assert torch.allclose(vmap(lambda x: ours(x, w, b))(stacked), vmap(theirs)(stacked))


def test_torch_runs_where_the_fold_is_not_faster_or_not_exact(monkeypatch):
    calls = []
    monkeypatch.setattr(FoldTransposedConv, 'apply', lambda *a: calls.append(a) or stock(layer, a[0]))
    layer = ConvTranspose2d(4, 1, 4, 2, 1)
    layer(torch.randn(2, 4, 3, 3))
    assert len(calls) == 1                                       # one output channel, CPU, float32: the fold
    for other, x in [(ConvTranspose2d(4, 3, 4, 2, 1), torch.randn(2, 4, 3, 3)),       # three channels
                     (ConvTranspose2d(4, 1, 4, 2, 1).double(), torch.randn(2, 4, 3, 3).double()),
                     (ConvTranspose2d(4, 1, 4, 2, 1, output_padding=1), torch.randn(2, 4, 3, 3))]:
        assert torch.equal(other(x), nn.ConvTranspose2d.forward(other, x))
    assert len(calls) == 1
    with torch.autocast('cpu', dtype=torch.bfloat16):
        layer(torch.randn(2, 4, 3, 3))
    assert len(calls) == 1


def test_the_dlib_decoder_keeps_its_state_dict_and_values():
    torch.manual_seed(2)
    decoder = DlibDecoder(5, (1, 32, 32))
    last = [m for m in decoder.modules() if isinstance(m, nn.ConvTranspose2d)][-1]
    assert isinstance(last, ConvTranspose2d) and last.out_channels == 1
    plain = DlibDecoder(5, (1, 32, 32))
    plain.load_state_dict(decoder.state_dict())                 # the same keys and shapes as the stock layers
    for layer in plain.modules():
        if isinstance(layer, nn.ConvTranspose2d):
            layer.__class__ = nn.ConvTranspose2d
    z = torch.randn(4, 5)
    assert torch.allclose(decoder(z), plain(z), atol=1e-6)
