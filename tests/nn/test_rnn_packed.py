"""Packed sequences (nn.utils.rnn) and the fused eager RNN kernels vs PyTorch: packing and
padding utilities, RNN/LSTM/GRU on PackedSequence inputs (outputs, h_n, gradients), the fused
and op-by-op paths, double backward."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt
from graphtorch.nn import rnn as R
from graphtorch.nn.utils import rnn as U

pytestmark = pytest.mark.torch


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def _same(ours, theirs, rtol=1e-9, atol=1e-10, msg=""):
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=rtol,
                               atol=atol, err_msg=msg)


def _seqs(lengths, features=3, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal((n, features)) for n in lengths]


@pytest.mark.parametrize("lengths,enforce_sorted", [([5, 3, 3, 1], True), ([2, 5, 1, 3], False),
                                                    ([3, 3, 3], False), ([4], True)])
@pytest.mark.parametrize("batch_first", [False, True])
def test_pack_and_pad_match_pytorch(torch, lengths, enforce_sorted, batch_first):
    seqs = _seqs(lengths)
    t_seqs = [torch.tensor(s, requires_grad=True) for s in seqs]
    g_seqs = [gt.tensor(s, requires_grad=True) for s in seqs]
    t_pad = torch.nn.utils.rnn.pad_sequence(t_seqs, batch_first=batch_first)
    g_pad = U.pad_sequence(g_seqs, batch_first=batch_first)
    tp = torch.nn.utils.rnn.pack_padded_sequence(t_pad, lengths, batch_first=batch_first,
                                                 enforce_sorted=enforce_sorted)
    gp = U.pack_padded_sequence(g_pad, gt.tensor(lengths), batch_first=batch_first,
                                enforce_sorted=enforce_sorted)
    assert isinstance(gp, U.PackedSequence) and isinstance(gp, tuple)
    _same(gp.data, tp.data)
    assert gp.batch_sizes.tolist() == tp.batch_sizes.tolist()
    assert gp.batch_sizes.dtype == gt.int64
    for name in ("sorted_indices", "unsorted_indices"):
        ours, theirs = getattr(gp, name), getattr(tp, name)
        assert (ours is None) == (theirs is None)
        if theirs is not None:
            assert ours.tolist() == theirs.tolist()
    t_back, t_len = torch.nn.utils.rnn.pad_packed_sequence(tp, batch_first=batch_first,
                                                           padding_value=-1.0, total_length=6)
    g_back, g_len = U.pad_packed_sequence(gp, batch_first=batch_first, padding_value=-1.0,
                                          total_length=6)
    _same(g_back, t_back)
    assert g_len.tolist() == t_len.tolist()
    weights = np.random.default_rng(1).standard_normal(tuple(t_back.shape))
    (t_back * torch.tensor(weights)).sum().backward()
    (g_back * gt.tensor(weights)).sum().backward()
    for a, b in zip(g_seqs, t_seqs):
        _same(a.grad, b.grad)
    t_ps = torch.nn.utils.rnn.pack_sequence(t_seqs, enforce_sorted=enforce_sorted)
    g_ps = U.pack_sequence(g_seqs, enforce_sorted=enforce_sorted)
    _same(g_ps.data, t_ps.data)
    for a, b in zip(U.unpack_sequence(g_ps), torch.nn.utils.rnn.unpack_sequence(t_ps)):
        _same(a, b)


@pytest.mark.parametrize("side", ["left", "right"])
def test_pad_sequence_options_match_pytorch(torch, side):
    seqs = _seqs([2, 4, 1])
    t = torch.nn.utils.rnn.pad_sequence([torch.tensor(s) for s in seqs], batch_first=True,
                                        padding_value=7.0, padding_side=side)
    g = U.pad_sequence([gt.tensor(s) for s in seqs], batch_first=True, padding_value=7.0,
                       padding_side=side)
    _same(g, t)


def test_packing_errors_match_pytorch(torch):
    x = gt.ones(3, 2, 1)
    with pytest.raises(RuntimeError, match="must be sorted in decreasing order when "
                                           "`enforce_sorted` is True"):
        U.pack_padded_sequence(x, [1, 3])
    with pytest.raises(RuntimeError, match="Length of all samples has to be greater than 0"):
        U.pack_padded_sequence(x, [3, 0])
    packed = U.pack_padded_sequence(x, [3, 2])
    with pytest.raises(ValueError, match="total_length=2 and max sequence length being 3"):
        U.pad_packed_sequence(packed, total_length=2)
    with pytest.raises(RuntimeError, match="must be sorted"):
        torch.nn.utils.rnn.pack_padded_sequence(torch.ones(3, 2, 1), [1, 3])


def test_packed_sequence_conversions():
    packed = U.pack_sequence([gt.ones(3, 2), gt.ones(1, 2)])
    as64 = packed.double()
    assert as64.data.dtype == gt.float64 and as64.batch_sizes.tolist() == [2, 1, 1]
    assert packed.to(gt.float32) is packed and not packed.is_cuda
    assert packed.cpu().data.device == gt.device("cpu")


def _load(ours, theirs):
    ours.load_state_dict({k: gt.tensor(v.detach().numpy().copy())
                          for k, v in theirs.state_dict().items()})


RNN_CONFIGS = [dict(), dict(num_layers=2, bidirectional=True), dict(bias=False, batch_first=True)]
LAYER_CASES = [(kind, cfg) for kind in ("RNN", "LSTM", "GRU") for cfg in RNN_CONFIGS] + \
    [("RNN", dict(num_layers=2, nonlinearity="relu"))]


@pytest.mark.parametrize("fused", [True, False], ids=["fused", "ops"])
@pytest.mark.parametrize("kind,cfg", LAYER_CASES, ids=str)
@pytest.mark.parametrize("enforce_sorted", [True, False])
def test_layers_on_packed_sequences_match_pytorch(torch, monkeypatch, fused, kind, cfg,
                                                  enforce_sorted):
    monkeypatch.setattr(R, "USE_FUSED_KERNELS", fused)
    torch.manual_seed(0)
    theirs = getattr(torch.nn, kind)(3, 4, **cfg).double()
    ours = getattr(gt.nn, kind)(3, 4, **cfg).double()
    _load(ours, theirs)
    lengths = [5, 4, 2, 1] if enforce_sorted else [2, 5, 1, 4]
    seqs = _seqs(lengths)
    directions = 2 if cfg.get("bidirectional") else 1
    rng = np.random.default_rng(3)
    h0 = rng.standard_normal((cfg.get("num_layers", 1) * directions, 4, 4))
    c0 = rng.standard_normal(h0.shape)

    def run(lib, module):
        xs = [lib.tensor(s, requires_grad=True) for s in seqs]
        packed = lib.nn.utils.rnn.pack_sequence(xs, enforce_sorted=enforce_sorted)
        h = lib.tensor(h0, requires_grad=True)
        c = lib.tensor(c0, requires_grad=True)
        out, hidden = module(packed, (h, c) if kind == "LSTM" else h)
        states = list(hidden) if kind == "LSTM" else [hidden]
        padded, _ = lib.nn.utils.rnn.pad_packed_sequence(out, batch_first=True)
        loss = (padded.sin().sum() + sum(s.cos().sum() for s in states))
        loss.backward()
        return [out.data, padded] + states + [x.grad for x in xs] + [h.grad, c.grad] + \
            [p.grad for p in module.parameters()]

    expected, actual = run(torch, theirs), run(gt, ours)
    assert len(expected) == len(actual)
    for i, (a, b) in enumerate(zip(actual, expected)):
        if b is None:
            assert a is None or not np.any(a.numpy()), f"value {i}"
            continue
        _same(a, b, rtol=1e-8, atol=1e-10, msg=f"value {i}")


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("cfg", [dict(), dict(num_layers=2, bidirectional=True, batch_first=True)],
                         ids=str)
def test_fused_and_op_by_op_paths_agree(monkeypatch, kind, cfg):
    gt.manual_seed(0)
    layer = getattr(gt.nn, kind)(3, 5, **cfg).double()
    x = gt.tensor(np.random.default_rng(0).standard_normal((4, 6, 3)))
    results = []
    for fused in (True, False):
        monkeypatch.setattr(R, "USE_FUSED_KERNELS", fused)
        layer.zero_grad()
        xi = x.clone().requires_grad_(True)
        out, hidden = layer(xi)
        h = hidden[0] if kind == "LSTM" else hidden
        (out.tanh().sum() + (h * h).sum()).backward()
        results.append([out, h, xi.grad] + [p.grad.clone() for p in layer.parameters()])
    for a, b in zip(*results):
        _same(a, b, rtol=1e-10, atol=1e-12)


def test_fused_layer_is_one_autograd_node_per_layer_and_direction():
    layer = gt.nn.LSTM(3, 4, num_layers=2)
    out, _ = layer(gt.randn(6, 2, 3))
    assert type(out.grad_fn).__name__ == "FusedRNNLayerBackward"


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_double_backward_through_the_fused_layer_matches_pytorch(torch, kind):
    torch.manual_seed(0)
    theirs = getattr(torch.nn, kind)(2, 3).double()
    ours = getattr(gt.nn, kind)(2, 3).double()
    _load(ours, theirs)
    x = np.random.default_rng(0).standard_normal((4, 2, 2))

    def run(lib, module):
        xi = lib.tensor(x, requires_grad=True)
        out, _ = module(xi)
        (gx,) = lib.autograd.grad(out.pow(2).sum(), xi, create_graph=True)
        gx.pow(2).sum().backward()
        return [gx, xi.grad, module.weight_hh_l0.grad]

    for a, b in zip(run(gt, ours), run(torch, theirs)):
        _same(a, b, rtol=1e-8, atol=1e-10)


def test_packed_input_with_bad_hidden_state_names_the_size():
    layer = gt.nn.GRU(3, 4)
    packed = U.pack_sequence([gt.ones(3, 3), gt.ones(2, 3)])
    with pytest.raises(RuntimeError, match=r"Expected hidden size \(1, 2, 4\)"):
        layer(packed, gt.zeros(1, 3, 4))
