"""Tracing: graphs recorded from eager runs, run by the interpreter, equal to eager."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import graphtorch as gt
from graphtorch.errors import ArgumentError, TracingError
from graphtorch.jit import TracerWarning


class MyCell(gt.nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = gt.nn.Linear(4, 4)

    def forward(self, x, h):
        new_h = gt.tanh(self.linear(x) + h)
        return new_h, new_h


def close(a, b, tol=1e-6):
    np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=tol, atol=tol)


def test_mycell_structure_and_outputs():
    gt.manual_seed(0)
    cell = MyCell()
    x, h = gt.rand(3, 4), gt.rand(3, 4)
    traced = gt.jit.trace(cell, (x, h))
    assert repr(traced) == ("MyCell(\n  original_name=MyCell\n"
                            "  (linear): Linear(original_name=Linear)\n)")
    text = str(traced.graph)
    assert text.startswith("graph(%self : __torch__.tests.frontend.test_trace.MyCell, "
                           "%x : Tensor(float32, [3, 4], cpu), "
                           "%h : Tensor(float32, [3, 4], cpu)):")
    assert 'prim::GetAttr[name="linear"](%self)' in text
    assert 'prim::CallMethod[name="forward"]' in text
    assert "op::tanh" in text and "op::add" in text
    assert "op::linear" in str(traced.linear.graph)
    for a, b in zip(traced(x, h), cell(x, h)):
        close(a, b)


def test_parameters_are_shared_and_trained():
    gt.manual_seed(1)
    cell = MyCell()
    x, h = gt.rand(5, 4), gt.rand(5, 4)
    traced = gt.jit.trace(cell, (x, h))
    assert traced.linear.weight is cell.linear.weight
    traced(x, h)[0].sum().backward()
    g_traced = cell.linear.weight.grad.detach().clone()
    cell.zero_grad()
    cell(x, h)[0].sum().backward()
    close(g_traced, cell.linear.weight.grad)
    opt = gt.optim.SGD(traced.parameters(), lr=0.1)
    before = cell.linear.weight.detach().clone()
    opt.step()
    assert not np.allclose(before.numpy(), cell.linear.weight.detach().numpy())


def test_batch_size_generalizes_through_size_nodes():
    def f(x):
        return x.view(x.size(0), -1) * 2 + gt.zeros(x.shape[0], 12)

    traced = gt.jit.trace(f, gt.rand(3, 3, 4))
    assert "prim::size" in str(traced.graph)
    x7 = gt.rand(7, 3, 4)
    close(traced(x7), f(x7))


def test_tracer_warning_when_tensor_steers_python():
    def f(x):
        if x.sum() > 0:
            return x * 2
        return x * 3

    with pytest.warns(TracerWarning, match="might cause the trace to be incorrect"):
        traced = gt.jit.trace(f, gt.ones(3))
    # frozen branch: the trace multiplies by 2 even for negative inputs
    close(traced(-gt.ones(3)), -gt.ones(3) * 2)


def test_check_inputs_detects_divergence():
    def f(x):
        return x * 2 if float(x.sum()) > 0 else x * 3

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TracerWarning)
        with pytest.raises(TracingError, match="sanity checks"):
            gt.jit.trace(f, gt.ones(3), check_inputs=[(-gt.ones(3),)])


def test_list_output_rejected_in_strict_mode():
    with pytest.raises(TracingError, match="list at the output"):
        gt.jit.trace(lambda x: [x, x], gt.ones(2))
    traced = gt.jit.trace(lambda x: [x + 1, x], gt.ones(2), strict=False)
    out = traced(gt.ones(2))
    assert isinstance(out, list) and len(out) == 2


def test_tuple_and_dict_inputs():
    def f(pair, d):
        a, b = pair
        return a * b + d["k"]

    x, y, z = gt.rand(2, 3), gt.rand(2, 3), gt.rand(2, 3)
    traced = gt.jit.trace(f, ((x, y), {"k": z}))
    close(traced((x, y), {"k": z}), f((x, y), {"k": z}))


def test_wrong_input_dtype_is_named():
    traced = gt.jit.trace(lambda x: x + 1, gt.rand(2))
    with pytest.raises(ArgumentError, match="argument 'x'.*dtype float64"):
        traced(gt.rand(2, dtype=gt.float64))


def test_mlp_and_cnn_at_other_batch_sizes():
    gt.manual_seed(2)
    mlp = gt.nn.Sequential(gt.nn.Linear(8, 16), gt.nn.ReLU(), gt.nn.Linear(16, 3))
    traced = gt.jit.trace(mlp, gt.rand(4, 8))
    for b in (1, 9):
        x = gt.rand(b, 8)
        close(traced(x), mlp(x))

    class Net(gt.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = gt.nn.Conv2d(1, 4, 3, padding=1)
            self.pool = gt.nn.MaxPool2d(2)
            self.fc = gt.nn.Linear(4 * 4 * 4, 10)

        def forward(self, x):
            x = self.pool(gt.nn.functional.relu(self.conv(x)))
            return self.fc(x.view(x.size(0), -1))

    net = Net()
    traced = gt.jit.trace(net, gt.rand(2, 1, 8, 8))
    assert "op::conv2d" in str(traced.conv.graph)
    x5 = gt.rand(5, 1, 8, 8)
    close(traced(x5), net(x5), 1e-5)
    traced(x5).sum().backward()
    g = net.conv.weight.grad.detach().clone()
    net.zero_grad()
    net(x5).sum().backward()
    close(g, net.conv.weight.grad, 1e-5)


def test_unrolled_lstm_cell_loop():
    gt.manual_seed(3)
    cell = gt.nn.LSTMCell(5, 6)

    class Loop(gt.nn.Module):
        def __init__(self):
            super().__init__()
            self.cell = cell

        def forward(self, xs):
            h = gt.zeros(xs.size(1), 6)
            c = gt.zeros(xs.size(1), 6)
            for t in range(xs.shape[0]):
                h, c = self.cell(xs[t], (h, c))
            return h

    m = Loop()
    xs = gt.rand(4, 2, 5)
    traced = gt.jit.trace(m, xs)
    close(traced(xs), m(xs), 1e-5)
    xs3 = gt.rand(4, 3, 5)
    close(traced(xs3), m(xs3), 1e-5)


def test_transformer_block_at_other_batch_and_sequence_sizes():
    gt.manual_seed(4)
    layer = gt.nn.TransformerEncoderLayer(d_model=16, nhead=4, dim_feedforward=32, dropout=0.0,
                                          batch_first=True)
    layer.eval()
    traced = gt.jit.trace(layer, gt.rand(2, 5, 16))
    for shape in ((3, 5, 16), (1, 5, 16)):
        x = gt.rand(*shape)
        close(traced(x), layer(x), 1e-5)


class _PackedGRU(gt.nn.Module):
    def __init__(self, layers: int, bidirectional: bool):
        super().__init__()
        self.gru = gt.nn.GRU(3, 4, layers, bidirectional=bidirectional)

    def forward(self, x, lengths):
        packed = gt.nn.utils.rnn.pack_padded_sequence(x, lengths)
        out, _ = self.gru(packed)
        return gt.nn.utils.rnn.pad_packed_sequence(out)[0]


@pytest.mark.parametrize("layers, bidirectional", [(1, False), (2, True)])
def test_submodule_fed_a_packed_sequence_keeps_its_data_flow(layers, bidirectional):
    # A PackedSequence (None fields) cannot cross a CallMethod boundary: the submodule's ops are
    # recorded inline instead of the trace-time data being baked into its graph.
    gt.manual_seed(0)
    model = _PackedGRU(layers, bidirectional).eval()
    lengths = gt.tensor([4, 2])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        traced = gt.jit.trace(model, (gt.randn(4, 2, 3), lengths))
    for _ in range(2):
        x = gt.randn(4, 2, 3)
        with gt.no_grad():
            np.testing.assert_allclose(traced(x, lengths).numpy(), model(x, lengths).numpy(),
                                       rtol=1e-5, atol=1e-6)
