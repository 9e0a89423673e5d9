"""graphtorch.onnx.export of traced and scripted models: onnx.checker accepts the file and
onnxruntime computes graphtorch's outputs (dynamic batch included); unmapped ops are named."""

from __future__ import annotations

import io

import numpy as np
import pytest

import graphtorch
from graphtorch import nn
from graphtorch.errors import UnsupportedError

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(6, 16)
        self.norm = nn.LayerNorm(16)
        self.drop = nn.Dropout(0.3)
        self.fc2 = nn.Linear(16, 4)

    def forward(self, x):
        h = self.drop(nn.functional.gelu(self.norm(self.fc1(x))))
        return self.fc2(h).softmax(-1), graphtorch.sigmoid(h).mean(1, keepdim=True)


class Net(nn.Module):
    """The mnist example's CNN (smaller)."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3, 1)
        self.conv2 = nn.Conv2d(4, 8, 3, 1, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.fc = nn.Linear(8 * 3 * 3, 10)

    def forward(self, x):
        x = nn.functional.relu(self.conv1(x))
        x = self.bn(self.conv2(x))
        x = nn.functional.max_pool2d(x, 2)
        x = graphtorch.flatten(x, 1)
        return nn.functional.log_softmax(self.fc(x), dim=1)


class Attention(nn.Module):
    """Single-head attention written with matmul / transpose / reshape / cat / tanh."""

    def __init__(self):
        super().__init__()
        self.q = nn.Linear(8, 8)
        self.k = nn.Linear(8, 8)
        self.out = nn.Linear(16, 8)

    def forward(self, x):
        q, k = self.q(x), self.k(x)
        scores = q.matmul(k.transpose(1, 2)) * 0.35
        ctx = scores.softmax(-1).matmul(x)
        b, t = x.shape[0], x.shape[1]
        mixed = graphtorch.cat([ctx, x], 2).reshape(b * t, 16)
        return graphtorch.tanh(self.out(mixed)).reshape(b, t, 8) - 1.0


def _check(model, args, **kw) -> onnx.ModelProto:
    buf = io.BytesIO()
    graphtorch.onnx.export(model, args, buf, **kw)
    proto = onnx.load_from_string(buf.getvalue())
    onnx.checker.check_model(proto)
    return proto


def _run(proto, feeds: dict) -> list[np.ndarray]:
    sess = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, feeds)


def _flat(out) -> list[np.ndarray]:
    outs = out if isinstance(out, tuple) else (out,)
    return [o.detach().numpy() for o in outs]


@pytest.mark.parametrize("mode", ["trace", "script", "module"])
@pytest.mark.parametrize("build,shape", [(MLP, (5, 6)), (Net, (2, 1, 8, 8)),
                                         (Attention, (2, 5, 8))])
def test_onnxruntime_equals_graphtorch(build, shape, mode):
    graphtorch.manual_seed(0)
    model = build().eval()
    x = graphtorch.randn(*shape)
    compiled = {"trace": lambda: graphtorch.jit.trace(model, x),
                "script": lambda: graphtorch.jit.script(model),
                "module": lambda: model}[mode]()
    proto = _check(compiled, (x,), input_names=["x"])
    got = _run(proto, {"x": x.numpy()})
    expected = _flat(model(x))
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g, e, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("mode", ["trace", "script"])
def test_dynamic_batch_axis(mode, tmp_path):
    graphtorch.manual_seed(1)
    model = Net().eval()
    x = graphtorch.randn(2, 1, 8, 8)
    compiled = graphtorch.jit.trace(model, x) if mode == "trace" else graphtorch.jit.script(model)
    path = tmp_path / "net.onnx"
    graphtorch.onnx.export(compiled, (x,), str(path), input_names=["image"],
                           output_names=["logp"], opset_version=17,
                           dynamic_axes={"image": {0: "batch"}, "logp": {0: "batch"}})
    proto = onnx.load(str(path))
    onnx.checker.check_model(proto)
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    assert [i.name for i in proto.graph.output] == ["logp"]
    for n in (2, 5):
        xb = graphtorch.randn(n, 1, 8, 8)
        np.testing.assert_allclose(_run(proto, {"image": xb.numpy()})[0],
                                   model(xb).detach().numpy(), rtol=1e-4, atol=1e-5)


def test_parameters_are_named_initializers_and_opsets():
    model = MLP().eval()
    x = graphtorch.randn(3, 6)
    for opset in (13, 18, 20):
        proto = _check(graphtorch.jit.trace(model, x), (x,), opset_version=opset)
        assert proto.opset_import[0].version == opset
        names = {i.name for i in proto.graph.initializer}
        assert {"fc1.weight", "fc1.bias", "norm.weight", "fc2.weight"} <= names
        got = _run(proto, {"input": x.numpy()})
        for g, e in zip(got, _flat(model(x))):
            np.testing.assert_allclose(g, e, rtol=1e-4, atol=1e-5)


def test_scripted_function_exports():
    @graphtorch.jit.script
    def f(a, b):
        return graphtorch.relu(a @ b) + 2.0

    a, b = graphtorch.randn(3, 4), graphtorch.randn(4, 2)
    proto = _check(f, (a, b), input_names=["a", "b"])
    np.testing.assert_allclose(_run(proto, {"a": a.numpy(), "b": b.numpy()})[0],
                               f(a, b).numpy(), rtol=1e-5)


def test_an_op_without_mapping_is_named():
    class Cum(nn.Module):
        def forward(self, x):
            return x.cumsum(0)

    with pytest.raises(UnsupportedError, match="'cumsum' has no ONNX mapping"):
        graphtorch.onnx.export(graphtorch.jit.script(Cum()), (graphtorch.randn(3),),
                               io.BytesIO())


def test_training_dropout_is_refused():
    model = MLP().train()
    with pytest.raises(UnsupportedError, match="eval"):
        graphtorch.onnx.export(graphtorch.jit.script(model), (graphtorch.randn(2, 6),),
                               io.BytesIO())


@pytest.mark.parametrize("mode", ["trace", "script"])
def test_transformer_encoder_exports(mode):
    """Attention (chunk, masks left at their None defaults) and layer norm, both modes."""
    graphtorch.manual_seed(2)
    model = nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16), 2,
                                  enable_nested_tensor=False).eval()
    x = graphtorch.randn(5, 2, 8)
    compiled = graphtorch.jit.trace(model, x) if mode == "trace" else graphtorch.jit.script(model)
    proto = _check(compiled, (x,), input_names=["src"])
    np.testing.assert_allclose(_run(proto, {"src": x.numpy()})[0], model(x).detach().numpy(),
                               rtol=1e-4, atol=1e-5)
