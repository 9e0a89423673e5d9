"""Python-level functions (einsum, isclose, out=, *_like, small composites) against PyTorch."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch
from tests.compat.harness import run_both, to_numpy

pytestmark = pytest.mark.torch

EINSUM_CASES = [
    ("ij,jk->ik", [(2, 3), (3, 4)]), ("ij,jk", [(2, 3), (3, 4)]),
    ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]), ("ii", [(3, 3)]), ("ii->i", [(3, 3)]),
    ("i,j", [(2,), (3,)]), ("...ij,...jk->...ik", [(2, 2, 3), (3, 4)]), ("ijk->k", [(2, 3, 4)]),
    ("ij->ji", [(2, 3)]), ("i,i->", [(4,), (4,)]),
    ("bhqd,bhkd->bhqk", [(2, 2, 3, 4), (2, 2, 5, 4)]),
    ("ij,ij->ij", [(2, 3), (2, 3)]), ("i,jk,kl->ijl", [(2,), (3, 4), (4, 2)]),
    ("bi,bi->b", [(3, 4), (1, 4)]), ("iij->j", [(2, 2, 3)]), ("...", [(2, 3)]),
    ("ij,kl->", [(2, 3), (4, 5)]), ("b i d, b j d -> b i j", [(2, 3, 4), (2, 5, 4)]),
]


@pytest.mark.parametrize(("equation", "shapes"), EINSUM_CASES)
def test_einsum_values_and_gradients(equation, shapes):
    rng = np.random.default_rng(len(equation))
    arrays = [rng.standard_normal(s) for s in shapes]

    def program(torch):
        xs = [torch.tensor(a, requires_grad=True) for a in arrays]
        y = torch.einsum(equation, *xs)
        (y * torch.arange(y.numel(), dtype=y.dtype).reshape(y.shape)).sum().backward()
        return [y] + [x.grad for x in xs]

    run_both(program, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(("equation", "shapes"), [
    ("ij,jk", [(2, 3), (4, 5)]), ("ij,jk->ik", [(2, 3)]), ("ij->iz", [(2, 3)]),
    ("ijk->ij", [(2, 3)]), ("i->i", [(2,), (2,)])])
def test_einsum_errors_match_torch(equation, shapes):
    import torch

    with pytest.raises(RuntimeError) as expected:
        torch.einsum(equation, *[torch.ones(s) for s in shapes])
    with pytest.raises(RuntimeError) as actual:
        graphtorch.einsum(equation, *[graphtorch.ones(s) for s in shapes])
    assert str(actual.value) == str(expected.value)


def composites_program(torch):
    a = torch.tensor([1.0, 2.0, float("nan"), float("inf"), -float("inf"), 1e-9])
    b = torch.tensor([1.0 + 1e-6, 2.1, float("nan"), float("inf"), float("inf"), 0.0])
    x = torch.arange(12.0).reshape(3, 4) / 5
    v = torch.tensor([1.0, -2.0, 3.0])
    idx = torch.tensor([[0, 3], [1, 1], [2, 0]])
    return {
        "isclose": [torch.isclose(a, b), torch.isclose(a, b, equal_nan=True),
                    torch.isclose(a, b, rtol=0.1, atol=0.0), a.isclose(b),
                    torch.isclose(torch.tensor([1, 2]), torch.tensor([1, 3]))],
        "allclose": [torch.allclose(a[:2], b[:2]), torch.allclose(x, x + 1e-7), x.allclose(x)],
        "equal": [torch.equal(x, x.clone()), torch.equal(x, x[:2]), x.equal(x + 1),
                  torch.equal(torch.tensor([1]), torch.tensor([1.0]))],
        "clip": [torch.clip(x, 0.5, 1.5), x.clip(max=1.0)],
        "broadcast_to": torch.broadcast_to(v, (2, 3)),
        "outer": [torch.outer(v, v[:2]), v.outer(v)],
        "trace": torch.trace(x[:, :3]),
        "lerp": [torch.lerp(x, x * 0, 0.25), x.lerp(x + 1, torch.full((3, 4), 0.5))],
        "addmm": [torch.addmm(v[:2].reshape(1, 2), x[:, :2].T, x[:, :2]),
                  torch.addmm(torch.ones(4, 4), x.T, x, beta=0.5, alpha=2)],
        "addcmul": [torch.addcmul(x, x, x, value=0.5), torch.addcdiv(x, x, x + 1, value=2)],
        "take_along_dim": [torch.take_along_dim(x, idx, dim=1), torch.take_along_dim(
            x, torch.tensor([0, 5, 11]))],
        "argwhere": torch.argwhere(x > 1),
        "var_mean": list(torch.var_mean(x, dim=1)) + list(torch.std_mean(x)) + list(
            torch.var_mean(x, 0, keepdim=True, correction=0)),
        "meshgrid": list(torch.meshgrid(v, v[:2], indexing="ij")) + list(
            torch.meshgrid(v, v[:2], indexing="xy")) + list(torch.meshgrid(
                [v, v[:2], v[:1]], indexing="xy")),
    }


def test_small_composites():
    run_both(composites_program)


def test_composites_have_gradients():
    def program(torch):
        x = torch.tensor([[0.5, 1.5], [2.0, -1.0]], requires_grad=True)
        y = torch.tensor([3.0, 4.0], requires_grad=True)
        out = (torch.outer(y, y) * x).sum() + torch.trace(x) + torch.lerp(x, x * 3, 0.2).sum()
        out = out + torch.addmm(x, x, x).pow(2).sum() + torch.take_along_dim(
            x, torch.tensor([[1], [0]]), dim=1).sum()
        out.backward()
        return [out, x.grad, y.grad]

    run_both(program)


def test_out_argument_writes_and_resizes_like_torch():
    import torch

    out = graphtorch.empty(0)
    graphtorch.add(graphtorch.ones(2), 1, out=out)
    np.testing.assert_array_equal(out.numpy(), [2.0, 2.0])
    with pytest.warns(UserWarning, match="was resized"):
        graphtorch.add(graphtorch.ones(3), 1, out=out)
    expected = torch.empty(2, dtype=torch.long)
    with pytest.raises(RuntimeError) as e_torch:
        torch.add(torch.ones(2), 1, out=expected)
    with pytest.raises(RuntimeError) as e_gt:
        graphtorch.add(graphtorch.ones(2), 1, out=graphtorch.empty(2, dtype=graphtorch.long))
    assert str(e_gt.value) == str(e_torch.value)


def test_random_like_follows_input_dtype_and_errors():
    import torch

    x = graphtorch.zeros(3, dtype=graphtorch.float64)
    assert graphtorch.rand_like(x).dtype is graphtorch.float64
    assert graphtorch.randn_like(x, dtype=graphtorch.float32).dtype is graphtorch.float32
    assert graphtorch.randint_like(x, 5).dtype is graphtorch.float64
    with pytest.raises(NotImplementedError) as e_torch:
        torch.rand_like(torch.zeros(2, dtype=torch.long))
    with pytest.raises(NotImplementedError) as e_gt:
        graphtorch.rand_like(graphtorch.zeros(2, dtype=graphtorch.long))
    assert str(e_gt.value) == str(e_torch.value)
    assert to_numpy(graphtorch.randint_like(graphtorch.zeros(50), 2, 4)).min() >= 2


def more_composites_program(torch):
    x = torch.tensor([[3.0, 1.0, 2.0, 5.0], [0.5, float("nan"), -1.0, 4.0], [2.0, 2.0, 1.0, 0.0]])
    y = torch.tensor([[1.0, -2.0], [0.5, 3.0]])
    ints = torch.tensor([4, 1, 9, 9, 2])
    return {
        "constants": [torch.inf, torch.pi, torch.e, torch.nan != torch.nan],
        "clamp_min_max": [torch.clamp_min(y, 0.7), y.clamp_max(0.7), y.clone().clamp_min_(0.0)],
        "masked_select": [torch.masked_select(y, y > 0), y.masked_select(torch.tensor([True,
                                                                                        False]))],
        "index_fill": [y.index_fill(1, torch.tensor([0]), -5.0),
                       torch.zeros(3, 2).index_fill_(0, torch.tensor([0, 2]), 1.0)],
        "diff": [torch.diff(ints), ints.diff(n=2), torch.diff(y, dim=0),
                 torch.diff(ints, prepend=torch.tensor([0]), append=torch.tensor([10])),
                 torch.diff(torch.tensor([True, False, False, True]))],
        "median": [torch.median(x[0]), torch.median(x), list(torch.median(x, dim=1)),
                   list(x.median(0, keepdim=True)), torch.median(ints)],
        "kthvalue": [list(torch.kthvalue(x[::2], 2, dim=1)), list(ints.kthvalue(3))],
        "logaddexp": torch.logaddexp(torch.tensor([0.0, 100.0, -float("inf"), 1.0]),
                                     torch.tensor([0.0, -100.0, -float("inf"), 3.0])),
        "nan_to_num": [torch.nan_to_num(torch.tensor([float("nan"), float("inf"),
                                                      -float("inf"), 1.0])),
                       torch.nan_to_num(torch.tensor([float("nan"), float("inf")]), nan=2.0,
                                        posinf=9.0)],
        "baddbmm": torch.baddbmm(torch.ones(2, 2, 2), torch.ones(2, 2, 3), torch.ones(2, 3, 2),
                                 beta=0.5, alpha=2.0),
        "tensordot": [torch.tensordot(torch.ones(2, 3, 4), torch.arange(24.0).reshape(3, 4, 2)),
                      torch.tensordot(y, y, dims=([0], [1])), torch.tensordot(y, y, dims=1)],
        "diag": [torch.diag(y), torch.diag(torch.tensor([1.0, 2.0])),
                 torch.diag(torch.tensor([1.0, 2.0]), 1), torch.diag(torch.tensor([1, 2]), -2),
                 torch.diag(torch.arange(9).reshape(3, 3), -1)],
        "finfo": [torch.finfo(torch.float32).eps, torch.finfo(torch.float16).max,
                  torch.iinfo(torch.int32).max, torch.finfo().bits, torch.finfo(torch.float64).tiny,
                  torch.iinfo(torch.uint8).min],
    }


def test_more_composites():
    run_both(more_composites_program)


def test_more_composites_gradients():
    def program(torch):
        x = torch.tensor([[3.0, 1.0, 2.0], [0.5, -1.0, 4.0]], requires_grad=True)
        total = (torch.median(x, 1).values.sum() + torch.kthvalue(x, 2, 0).values.sum()
                 + torch.logaddexp(x, x.flip(0)).sum() + torch.diag(x[0], 1).sum() * 2
                 + torch.tensordot(x, x, dims=([1], [1])).sum() + x.diff().pow(2).sum()
                 + x.masked_select(x > 1).sum() + x.index_fill(1, torch.tensor([1]), 0).sum())
        total.backward()
        return [total, x.grad]

    run_both(program)


def test_random_fill_methods():
    import torch

    graphtorch.manual_seed(0)
    t = graphtorch.empty(4000)
    assert t.uniform_(-2, 3) is t and -2 <= t.min().item() and t.max().item() < 3
    assert abs(t.mean().item() - 0.5) < 0.1
    t.normal_(1.0, 2.0)
    assert abs(t.mean().item() - 1.0) < 0.15 and abs(t.std().item() - 2.0) < 0.15
    assert set(t.bernoulli_(0.25).tolist()) == {0.0, 1.0} and abs(t.mean().item() - 0.25) < 0.05
    assert abs(t.exponential_(2.0).mean().item() - 0.5) < 0.05
    ints = graphtorch.empty(1000, dtype=graphtorch.int64).random_(3, 7)
    assert sorted(set(ints.tolist())) == [3, 4, 5, 6]
    leaf = graphtorch.zeros(2, requires_grad=True)
    with pytest.raises(RuntimeError) as e_gt:
        leaf.normal_()
    with pytest.raises(RuntimeError) as e_torch:
        torch.zeros(2, requires_grad=True).normal_()
    assert str(e_torch.value).startswith(str(e_gt.value).rstrip("."))
    with graphtorch.no_grad():
        leaf.uniform_(0.5, 0.6)
    assert leaf.requires_grad and 0.5 <= leaf.min().item()
    assert graphtorch.get_num_threads() >= 1
    graphtorch.set_num_threads(1)
    assert graphtorch.get_num_threads() == 1
