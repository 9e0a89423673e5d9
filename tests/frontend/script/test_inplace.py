"""In-place updates in script mutate the tensor itself, as eager does: every alias sees them
(prim::Inplace), through the interpreter, the CPU codegen, the O1/O2 pipelines, autograd and a
save/load round trip."""

from __future__ import annotations

import pytest

import graphtorch as torch
from graphtorch.errors import AutogradError, DTypeError
from graphtorch.ir import graphs_equal, parse_graph, verify
from graphtorch.passes.manager import run_passes
from graphtorch.passes.prepare import prepare_function
from graphtorch.runtime.autodiff import Declined, try_differentiate
from graphtorch.runtime.cpu_codegen import CompiledGraph
from graphtorch.runtime.interpreter import run_graph
from graphtorch.testing import assert_close
from tests.frontend.script import inplace_programs as P


def _copy(v):
    if isinstance(v, torch.Tensor):
        return v.detach().clone()
    if isinstance(v, list):
        return [_copy(x) for x in v]
    return v


def _same(a, b) -> None:
    if isinstance(a, (list, tuple)):
        assert isinstance(b, (list, tuple)) and len(a) == len(b)
        for x, y in zip(a, b):
            _same(x, y)
    elif isinstance(a, torch.Tensor):
        assert_close(b, a, rtol=1e-6, atol=1e-6)
    else:
        assert a == b


def _eager(name):
    fn, make = P.PROGRAMS[name]
    torch.manual_seed(0)
    args = make()
    eager_args = _copy(args)
    return fn, args, eager_args, fn(*eager_args)


@pytest.mark.parametrize("name", sorted(P.PROGRAMS))
def test_scripted_updates_match_eager(name):
    fn, args, eager_args, expected = _eager(name)
    got = torch.jit.script(fn)(*args)
    _same(expected, got)
    _same(eager_args, args)    # the caller's tensors were updated exactly as eager updates them


@pytest.mark.parametrize("name", sorted(P.PROGRAMS))
@pytest.mark.parametrize("pipeline", ["O1", "O2"])
def test_pipelines_leave_results_unchanged(name, pipeline):
    fn, args, eager_args, expected = _eager(name)
    graph = prepare_function(torch.jit.script(fn))
    run_passes(graph, pipeline, verify=True)
    verify(graph)
    out = run_graph(graph, args)
    _same(expected, out[0])
    _same(eager_args, args)


@pytest.mark.parametrize("name", sorted(P.PROGRAMS))
def test_codegen_matches_eager(name):
    fn, args, eager_args, expected = _eager(name)
    graph = prepare_function(torch.jit.script(fn))
    run_passes(graph, "O2", verify=True)
    compiled = CompiledGraph(graph)
    assert "_inplace(" in compiled.source
    _same(expected, compiled(args)[0])
    _same(eager_args, args)


def test_updates_are_inplace_nodes():
    g = torch.jit.script(P.aug_assignment).graph
    kinds = [n.kind for n in g.walk()]
    assert kinds.count("prim::Inplace") == 6
    assert "op::index_put" not in kinds and "op::add" not in kinds
    ops = [n.attrs["op"] for n in g.walk() if n.kind == "prim::Inplace"]
    assert ops == ["add", "mul", "add", "index_put", "sub", "index_put"]


def test_returned_tensor_is_the_argument():
    x = torch.ones(3, 2)
    out = torch.jit.script(P.item_assignment)(x, torch.tensor(5.0))
    assert out is x


def test_fresh_tensors_every_call():
    """Factories and tensor literals updated in place are not shared across calls (no constant
    folding of a tensor that is written)."""
    scripted = torch.jit.script(P.fresh_each_call)
    first, second = scripted(3), scripted(3)
    assert_close(first, torch.tensor([5.0, 7.0, 9.0]))
    assert_close(second, first)
    graph = prepare_function(scripted)
    run_passes(graph, "O1", verify=True)
    assert_close(run_graph(graph, [3])[0], first)
    assert_close(run_graph(graph, [3])[0], first)


def test_called_function_updates_callers_tensor():
    x = torch.arange(4.0)
    torch.jit.script(P.calls_helper)(x)
    assert_close(x, torch.tensor([-1.0, -1.0, 4.0, 5.0]))


@pytest.mark.parametrize("name", ["grad_nonleaf", "grad_accumulate"])
@pytest.mark.parametrize("autodiff", [False, True])
def test_gradients_through_inplace_match_eager(name, autodiff):
    fn = getattr(P, name)
    torch.manual_seed(1)
    shapes = {"grad_nonleaf": [(4,), (4,)], "grad_accumulate": [(3, 4), (4, 2)]}[name]
    base = [torch.randn(*s, dtype=torch.float64) for s in shapes]
    eager = [b.clone().requires_grad_(True) for b in base]
    fn(*eager).backward()
    scripted = torch.jit.script(fn)
    inputs = [b.clone().requires_grad_(True) for b in base]
    torch.jit.set_autodiff(autodiff)
    try:
        loss = scripted(*inputs)
    finally:
        torch.jit.set_autodiff(False)
    assert_close(loss, fn(*[b.clone() for b in base]))
    loss.backward()
    for e, s in zip(eager, inputs):
        assert_close(s.grad, e.grad)


def test_autodiff_declines_with_reason():
    graph = prepare_function(torch.jit.script(P.grad_nonleaf))
    result = try_differentiate(graph, [True, True], [torch.randn(4), torch.randn(4)])
    assert isinstance(result, Declined)
    assert "prim::Inplace[op='add']" in result.reason and "in place" in result.reason


def test_leaf_requiring_grad_is_refused_as_eager():
    def bump(x):
        x.add_(1.0)
        return x

    x = torch.ones(2, requires_grad=True)
    with pytest.raises(AutogradError) as eager_err:
        bump(x)
    with pytest.raises(AutogradError) as script_err:
        torch.jit.script(bump)(x)
    assert str(eager_err.value) in str(script_err.value)
    assert x.grad_fn is None and x.requires_grad


def test_dtype_rule_as_eager():
    def halve(x):
        x.add_(0.5)
        return x

    def halve_aug(x):
        x += 0.5
        return x

    for fn in (halve, halve_aug):
        x = torch.ones(2, dtype=torch.int64)
        with pytest.raises(DTypeError) as eager_err:
            fn(x)
        with pytest.raises(DTypeError) as script_err:
            torch.jit.script(fn)(x)
        assert str(eager_err.value) in str(script_err.value)
        assert x.tolist() == [1, 1]

    def widen(x):
        x.add_(torch.ones(2, dtype=torch.int32))   # int32 into int64: castable
        return x

    y = torch.ones(2, dtype=torch.int64)
    assert torch.jit.script(widen)(y) is y and y.tolist() == [2, 2] and y.dtype is torch.int64


def test_module_buffer_updated_in_place():
    class Counter(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("total", torch.zeros(3))

        def forward(self, x):
            self.total.mul_(0.5).add_(x)
            self.total[0] += 1.0
            return self.total * 2.0

    eager, model = Counter(), Counter()
    scripted = torch.jit.script(model)
    for step in range(3):
        x = torch.full([3], float(step))
        _same(eager(x), scripted(x))
    assert_close(model.total, eager.total)


def test_save_load_round_trip(tmp_path):
    scripted = torch.jit.script(P.aug_assignment)
    text = str(scripted.graph)
    assert 'prim::Inplace[op="index_put"]' in text
    assert graphs_equal(parse_graph(text), scripted.graph)
    path = tmp_path / "inplace.gt"
    torch.jit.save(scripted, str(path))
    loaded = torch.jit.load(str(path))
    fn, args, eager_args, expected = _eager("aug_assignment")
    _same(expected, loaded(*args))
    _same(eager_args, args)


def test_code_rendering_shows_the_update():
    code = torch.jit.script(P.mutate_argument).code
    assert "Inplace" in code


# --- passes on IR text ----------------------------------------------------------------------------
_AROUND_WRITE = """graph(%x : Tensor(float32, [3])):
  %two : float = prim::Constant[value=2.0]()
  %a : Tensor(float32, [3]) = op::mul(%x, %two)
  %one : float = prim::Constant[value=1.0]()
  %x.1 : Tensor(float32, [3]) = prim::Inplace[op="add"](%x, %one)
  %b : Tensor(float32, [3]) = op::mul(%x, %two)
  %zero : float = prim::Constant[value=0.0]()
  %c : Tensor(float32, [3]) = op::add(%x, %zero)
  %d : Tensor(float32, [3]) = op::add(%x.1, %two)
  %unused : Tensor(float32, [3]) = prim::Inplace[op="mul"](%c, %two)
  %r : (Tensor, Tensor, Tensor) = prim::TupleConstruct(%a, %b, %d)
  return (%r)
"""


@pytest.mark.parametrize("passes", [["cse"], ["canonicalize"], ["dce"], ["constant_fold"], "O1",
                                    "O2"])
def test_passes_keep_reads_around_a_write(passes):
    graph = parse_graph(_AROUND_WRITE)
    before = parse_graph(_AROUND_WRITE)
    run_passes(graph, passes, verify=True)
    kinds = [n.kind for n in graph.walk()]
    assert kinds.count("prim::Inplace") == 2       # effects stay, even with an unused result
    if passes != "O2":
        assert kinds.count("op::mul") == 2          # %a and %b are not one value
    x = torch.tensor([1.0, 2.0, 3.0])
    expected = run_graph(before, [x.clone()])[0]
    _same(expected, run_graph(graph, [x.clone()])[0])
    assert_close(expected[0], x * 2)
    assert_close(expected[1], (x + 1) * 2)


def test_constant_fold_keeps_written_tensor_out_of_constants():
    text = """graph():
  %n : int[] = prim::Constant[value=[2]]()
  %z : Tensor(float32, [2]) = op::zeros(%n)
  %one : float = prim::Constant[value=1.0]()
  %z.1 : Tensor(float32, [2]) = prim::Inplace[op="add"](%z, %one)
  %two : float = prim::Constant[value=2.0]()
  %y : Tensor(float32, [2]) = op::mul(%z.1, %two)
  return (%y)
"""
    graph = parse_graph(text)
    run_passes(graph, ["constant_fold"], verify=True)
    assert not graph.tensor_constants
    for _ in range(2):
        assert_close(run_graph(graph, [])[0], torch.tensor([2.0, 2.0]))


def test_random_fill_scatter_and_expression_receivers():
    def fill(x: torch.Tensor, idx: torch.Tensor, src: torch.Tensor) -> torch.Tensor:
        x.uniform_(-1.0, 1.0)
        x.scatter_(0, idx, src)
        x[0].add_(10.0)
        x.index_add_(0, torch.tensor([1]), src[:1])
        return x

    args = [torch.tensor([[2, 0]]), torch.ones(1, 2)]
    torch.manual_seed(3)
    expected = fill(torch.zeros(3, 2), *args)
    torch.manual_seed(3)
    x = torch.zeros(3, 2)
    assert torch.jit.script(fill)(x, *args) is x
    assert_close(x, expected)
