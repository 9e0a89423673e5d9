"""A custom autograd.Function inside traced and scripted code stays ONE node (prim::PythonOp
calling ``MyFn.apply``) whose backward is the user's, on every executor (issue 12)."""

from __future__ import annotations

from typing import Tuple  # noqa: UP035 - the script annotation under test

import numpy as np
import pytest

import graphtorch as gt
from graphtorch import Tensor, nn
from graphtorch.autograd import Function
from graphtorch.errors import UnsupportedError
from graphtorch.runtime.executor import plans_of


class STE(Function):
    """Straight-through estimator: forward rounds, backward passes the gradient unchanged."""

    @staticmethod
    def forward(ctx, x):
        return x.round()

    @staticmethod
    def backward(ctx, g):
        return g


class MulAdd(Function):
    """Two outputs and a non-tensor argument: ``(x * y * scale, sin(x) + y)``."""

    calls = 0

    @staticmethod
    def forward(ctx, x, y, scale: float = 1.0) -> Tuple[Tensor, Tensor]:  # noqa: UP006
        MulAdd.calls += 1
        ctx.save_for_backward(x, y)
        ctx.scale = scale
        return x * y * scale, x.sin() + y

    @staticmethod
    def backward(ctx, ga, gb):
        x, y = ctx.saved_tensors
        gx = ga * y * ctx.scale + gb * x.cos() if ctx.needs_input_grad[0] else None
        gy = ga * x * ctx.scale + gb if ctx.needs_input_grad[1] else None
        return gx, gy, None


class Doubling(Function):
    """Returns its input unchanged; backward doubles the gradient."""

    @staticmethod
    def forward(ctx, x):
        return x

    @staticmethod
    def backward(ctx, g):
        return g * 2


class MaxWithIndex(Function):
    """``(max, argmax)`` along dim 1; the index is marked non-differentiable."""

    @staticmethod
    def forward(ctx, x) -> Tuple[Tensor, Tensor]:  # noqa: UP006
        idx = x.argmax(1)
        ctx.mark_non_differentiable(idx)
        ctx.save_for_backward(x, idx)
        return x.amax(1), idx

    @staticmethod
    def backward(ctx, g, g_idx):
        x, idx = ctx.saved_tensors
        out = gt.zeros_like(x)
        out[gt.arange(x.shape[0]), idx] = g
        return out


class Quantized(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(3, 2)

    def forward(self, x):
        return STE.apply(self.lin(x) * 4.0) / 4.0


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.q = Quantized()
        self.out = nn.Linear(2, 1)

    def forward(self, x):
        return self.out(self.q(x))


def ste_times_two(x):
    return STE.apply(x) * 2


def two_outputs(x, y):
    a, b = MulAdd.apply(x, y, 3.0)
    return a * b


def two_outputs_keyword(x, y):
    a, b = MulAdd.apply(x, y, scale=0.5)
    return a + b


def doubled_plus_input(x):
    return Doubling.apply(x) + x


def max_and_index(x):
    m, i = MaxWithIndex.apply(x)
    return m * 3, i


@pytest.fixture(params=["compiled", "interpreter"])
def executor(request):
    gt.jit.set_executor(request.param)
    yield request.param
    gt.jit.set_executor(None)


def _kinds(graph) -> list[str]:
    return [n.kind for n in graph.walk()]


def _python_op_names(graph) -> list[str]:
    return [n.attrs["name"] for n in graph.walk() if n.kind == "prim::PythonOp"]


def _f64(values, grad=True):
    return gt.tensor(values, dtype=gt.float64, requires_grad=grad)


# --- one node --------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["trace", "script"])
def test_function_is_one_node_not_its_forward(mode):
    x = _f64([0.2, 0.7, 1.4])
    fn = gt.jit.trace(ste_times_two, (x,)) if mode == "trace" else gt.jit.script(ste_times_two)
    assert _python_op_names(fn.graph) == ["STE.apply"]
    assert "op::round" not in _kinds(fn.graph)
    assert 'prim::PythonOp[name="STE.apply"]' in str(fn.graph)


@pytest.mark.parametrize("mode", ["trace", "script"])
def test_straight_through_gradient_is_the_users_backward(mode, executor):
    x = _f64([0.2, 0.7, 1.4])
    fn = gt.jit.trace(ste_times_two, (x,)) if mode == "trace" else gt.jit.script(ste_times_two)
    for _ in range(3):      # the first call profiles, later ones run the plan
        x.grad = None
        y = fn(x)
        np.testing.assert_array_equal(y.detach().numpy(), [0.0, 2.0, 2.0])
        y.sum().backward()
        np.testing.assert_array_equal(x.grad.numpy(), [2.0, 2.0, 2.0])


def _train(model, steps: int = 4) -> list[np.ndarray]:
    opt = gt.optim.SGD(model.parameters(), lr=0.1)
    xs = gt.tensor(np.linspace(-1.0, 1.0, 12).reshape(4, 3), dtype=gt.float32)
    target = gt.tensor([[0.5], [-0.25], [1.0], [0.0]])
    for _ in range(steps):
        opt.zero_grad()
        loss = ((model(xs) - target) ** 2).mean()
        loss.backward()
        opt.step()
    return [p.detach().numpy().copy() for p in model.parameters()]


@pytest.mark.parametrize("mode", ["trace", "script"])
def test_ste_training_through_graph_equals_eager(mode, executor):
    gt.manual_seed(0)
    eager = Net()
    start = [p.detach().numpy().copy() for p in eager.parameters()]
    graph_model = Net()
    graph_model.load_state_dict(eager.state_dict())
    example = gt.zeros(4, 3)
    compiled = (gt.jit.trace(graph_model, (example,)) if mode == "trace"
                else gt.jit.script(graph_model))
    want = _train(eager)
    got = _train(compiled)
    for w, g in zip(want, got):
        np.testing.assert_allclose(g, w, rtol=1e-6, atol=1e-7)
    # the quantizer's weights moved: the gradient went straight through the rounding
    assert not np.allclose(want[0], start[0])


@pytest.mark.parametrize("mode", ["trace", "script"])
def test_ste_training_with_graph_autodiff_enabled(mode):
    before = gt.jit.get_autodiff()
    gt.jit.set_autodiff(True)
    try:
        gt.manual_seed(1)
        eager = Net()
        graph_model = Net()
        graph_model.load_state_dict(eager.state_dict())
        compiled = (gt.jit.trace(graph_model, (gt.zeros(4, 3),)) if mode == "trace"
                    else gt.jit.script(graph_model))
        for w, g in zip(_train(eager), _train(compiled)):
            np.testing.assert_allclose(g, w, rtol=1e-6, atol=1e-7)
    finally:
        gt.jit.set_autodiff(before)


# --- two outputs, non-tensor arguments, ctx features -----------------------------------------
def _numeric_grad(f, arrays: list[np.ndarray], i: int, eps: float = 1e-6) -> np.ndarray:
    base = arrays[i]
    out = np.zeros_like(base)
    for k in range(base.size):
        plus = [a.copy() for a in arrays]
        minus = [a.copy() for a in arrays]
        plus[i].flat[k] += eps
        minus[i].flat[k] -= eps
        out.flat[k] = (f(*plus) - f(*minus)) / (2 * eps)
    return out


@pytest.mark.parametrize("mode", ["trace", "script"])
def test_two_outputs_and_scalar_argument_match_eager_and_finite_differences(mode, executor):
    xv, yv = np.array([0.3, -1.2, 2.0]), np.array([1.5, 0.25, -0.75])
    x, y = _f64(xv), _f64(yv)
    fn = gt.jit.trace(two_outputs, (x, y)) if mode == "trace" else gt.jit.script(two_outputs)
    assert _python_op_names(fn.graph) == ["MulAdd.apply"]
    xe, ye = _f64(xv), _f64(yv)
    want = two_outputs(xe, ye)
    want.sum().backward()
    for _ in range(2):
        x.grad = y.grad = None
        got = fn(x, y)
        np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=1e-12)
        got.sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), xe.grad.numpy(), rtol=1e-12)
        np.testing.assert_allclose(y.grad.numpy(), ye.grad.numpy(), rtol=1e-12)

    def loss(a, b):
        return float(np.sum((a * b * 3.0) * (np.sin(a) + b)))

    np.testing.assert_allclose(x.grad.numpy(), _numeric_grad(loss, [xv, yv], 0), rtol=1e-6)
    np.testing.assert_allclose(y.grad.numpy(), _numeric_grad(loss, [xv, yv], 1), rtol=1e-6)


@pytest.mark.parametrize("mode", ["trace", "script"])
def test_keyword_argument_and_needs_input_grad(mode):
    x, y = _f64([0.5, 1.0]), _f64([2.0, -1.0], grad=False)
    fn = (gt.jit.trace(two_outputs_keyword, (x, y)) if mode == "trace"
          else gt.jit.script(two_outputs_keyword))
    got = fn(x, y)
    want = x.detach() * y * 0.5 + x.detach().sin() + y
    np.testing.assert_allclose(got.detach().numpy(), want.numpy(), rtol=1e-12)
    got.sum().backward()      # backward only computes gx: needs_input_grad[1] is False
    np.testing.assert_allclose(x.grad.numpy(), y.numpy() * 0.5 + np.cos([0.5, 1.0]),
                               rtol=1e-12)
    assert y.grad is None


@pytest.mark.parametrize("mode", ["trace", "script"])
def test_output_that_is_the_input_still_goes_through_the_function(mode):
    x = _f64([1.0, -2.0])
    fn = (gt.jit.trace(doubled_plus_input, (x,)) if mode == "trace"
          else gt.jit.script(doubled_plus_input))
    out = fn(x)
    np.testing.assert_array_equal(out.detach().numpy(), [2.0, -4.0])
    out.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 3.0])   # 2 (custom) + 1 (direct)


@pytest.mark.parametrize("mode", ["trace", "script"])
def test_non_differentiable_output(mode):
    xv = np.array([[1.0, 5.0, 2.0], [7.0, 0.5, 3.0]])
    x = _f64(xv)
    fn = gt.jit.trace(max_and_index, (x,)) if mode == "trace" else gt.jit.script(max_and_index)
    m, i = fn(x)
    np.testing.assert_array_equal(i.numpy(), [1, 0])
    assert not i.requires_grad
    m.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[0, 3, 0], [3, 0, 0]])


class Affine(Function):
    """Takes a Python callable (no graph constant can hold it): trace keeps it in the node."""

    @staticmethod
    def forward(ctx, x, activation, shift: int):
        ctx.activation = activation
        return activation(x) + shift

    @staticmethod
    def backward(ctx, g):
        return g * 10, None, None


def test_trace_keeps_a_python_object_argument_in_the_node():
    def f(x):
        return Affine.apply(x, gt.neg, 2)

    x = _f64([1.0, 4.0])
    traced = gt.jit.trace(f, (x,))
    assert _python_op_names(traced.graph) == ["Affine.apply"]
    out = traced(_f64([3.0, -1.0]))
    np.testing.assert_array_equal(out.detach().numpy(), [-1.0, 3.0])
    out.sum().backward()
    x2 = _f64([0.0])
    traced(x2).sum().backward()
    np.testing.assert_array_equal(x2.grad.numpy(), [10.0])


def test_forward_runs_on_every_call_of_the_compiled_plan():
    x, y = _f64([0.5, 1.5], grad=False), _f64([1.0, 2.0], grad=False)
    fn = gt.jit.script(two_outputs)
    before = MulAdd.calls
    with gt.no_grad():
        results = [fn(x, y).numpy() for _ in range(4)]
    assert MulAdd.calls - before == 4       # never inlined into a kernel
    for r in results:
        np.testing.assert_allclose(r, two_outputs(x, y).numpy(), rtol=1e-12)


def test_compiled_plan_calls_the_function_alone_and_compiles_the_rest():
    gt.jit.set_executor("compiled")
    try:
        x, y = _f64([0.5, 1.5], grad=False), _f64([1.0, 2.0], grad=False)
        fn = gt.jit.script(two_outputs)
        with gt.no_grad():
            for _ in range(3):
                np.testing.assert_allclose(fn(x, y).numpy(), two_outputs(x, y).numpy(),
                                           rtol=1e-12)
        (plan,) = plans_of(fn).plans.values()
        assert plan.mode == "compiled"
        fallbacks = [k for k in plan.kernels if k.backend == "eager"]
        assert [k.name for k in fallbacks] == ["prim::PythonOp"]
        assert "MulAdd.apply" in fallbacks[0].detail
        assert any(k.backend != "eager" for k in plan.kernels)      # op::mul stays compiled
    finally:
        gt.jit.set_executor(None)


def test_script_return_type_comes_from_forward_annotation():
    fn = gt.jit.script(two_outputs)
    node = next(n for n in fn.graph.walk() if n.kind == "prim::PythonOp")
    assert str(node.outputs[0].type) == "(Tensor, Tensor)"
    fn = gt.jit.script(ste_times_two)
    node = next(n for n in fn.graph.walk() if n.kind == "prim::PythonOp")
    assert str(node.outputs[0].type) == "Tensor"


class Unannotated(Function):
    """Returns two tensors without saying so."""

    @staticmethod
    def forward(ctx, x):
        return x * 2, x * 3

    @staticmethod
    def backward(ctx, ga, gb):
        return ga * 2 + gb * 3


def test_script_result_of_another_shape_than_declared_raises_with_a_hint():
    def f(x):
        return Unannotated.apply(x) + 1

    fn = gt.jit.script(f)
    with pytest.raises(gt.errors.GraphError, match=r"Unannotated\.apply returned a tuple of 2.*"
                       r"-> Tuple\[Tensor, Tensor\]"):
        fn(_f64([1.0]))


def test_script_rejects_an_unknown_keyword_with_the_source_line():
    def bad(x, y):
        return MulAdd.apply(x, y, factor=2.0)[0]

    with pytest.raises(gt.errors.ScriptError, match="unexpected keyword argument 'factor'"):
        gt.jit.script(bad)


def test_function_from_a_closure_in_script_and_jit_compile():
    def make():
        class HalfGrad(Function):
            @staticmethod
            def forward(ctx, x, lo: float, hi: float):
                return x.clamp(lo, hi)

            @staticmethod
            def backward(ctx, g):
                return g * 0.5, None, None

        def f(x):
            return HalfGrad.apply(x, -1.0, 1.0).sum()

        return f

    f = make()
    for compiled in (gt.jit.script(f), gt.jit.compile(f)):
        x = _f64([-3.0, 0.5, 2.0])
        out = compiled(x)
        assert out.item() == 0.5
        out.backward()
        np.testing.assert_array_equal(x.grad.numpy(), [0.5, 0.5, 0.5])


class Outer(Function):
    """Its forward applies another Function: the trace records Outer only."""

    @staticmethod
    def forward(ctx, x):
        return STE.apply(x) + 1

    @staticmethod
    def backward(ctx, g):
        return g * 3


def test_nested_function_is_inside_the_outer_node():
    def f(x):
        return Outer.apply(x)

    x = _f64([0.4, 1.6])
    traced = gt.jit.trace(f, (x,))
    assert _python_op_names(traced.graph) == ["Outer.apply"]
    out = traced(x)
    np.testing.assert_array_equal(out.detach().numpy(), [1.0, 3.0])
    out.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 3.0])


class RepeatRows(Function):
    """Takes a size argument: a traced size stays a graph value (other batch sizes work)."""

    @staticmethod
    def forward(ctx, x, n: int):
        assert type(n) is int
        return x.reshape(1, -1).expand(n, x.numel()).clone()

    @staticmethod
    def backward(ctx, g):
        return g.sum(0), None


def test_traced_size_argument_follows_the_input():
    def f(x, y):
        return RepeatRows.apply(x, y.size(0))

    traced = gt.jit.trace(f, (_f64([1.0, 2.0]), gt.zeros(3)))
    x = _f64([1.0, 2.0])
    out = traced(x, gt.zeros(5))
    assert tuple(out.shape) == (5, 2)
    out.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [5.0, 5.0])


# --- saving ------------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["trace", "script"])
def test_save_refuses_and_names_the_function(mode, tmp_path):
    model = Net()
    compiled = (gt.jit.trace(model, (gt.zeros(4, 3),)) if mode == "trace"
                else gt.jit.script(model))
    path = tmp_path / "m.gt"
    with pytest.raises(UnsupportedError, match=r"custom autograd\.Function "
                       r"tests\.frontend\.test_autograd_function_graphs\.STE"):
        gt.jit.save(compiled, str(path))
    assert not path.exists()


# --- PyTorch keeps the custom backward in its trace too ----------------------------------------
@pytest.mark.torch
@pytest.mark.filterwarnings("ignore:`torch.jit.trace` is deprecated:DeprecationWarning")
def test_torch_trace_of_the_same_ste_has_the_same_gradients():
    torch = pytest.importorskip("torch")

    class TorchSTE(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x.round()

        @staticmethod
        def backward(ctx, g):
            return g

    def torch_fn(x, w):
        return (TorchSTE.apply(x * w) * x).sum()

    def gt_fn(x, w):
        return (STE.apply(x * w) * x).sum()

    xv, wv = np.array([0.3, 1.7, -2.2]), np.array([1.5, 0.4, 2.0])
    tx, tw = torch.tensor(xv), torch.tensor(wv, requires_grad=True)
    t_traced = torch.jit.trace(torch_fn, (tx, tw))
    t_traced(tx, tw).backward()
    gx, gw = _f64(xv, grad=False), _f64(wv)
    g_traced = gt.jit.trace(gt_fn, (gx, gw))
    out = g_traced(gx, gw)
    np.testing.assert_allclose(out.item(), t_traced(tx, tw).item(), rtol=1e-12)
    out.backward()
    np.testing.assert_allclose(gw.grad.numpy(), tw.grad.numpy(), rtol=1e-12)
    assert np.all(gw.grad.numpy() != 0)

