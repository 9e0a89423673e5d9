"""cross_entropy's and nll_loss's direct kernels and backward ops (ops/cross_entropy.py,
ops/nll_loss.py) against PyTorch.

The registry matrix checks the op's samples (values, metas, finite differences with every float
input requiring grad, which takes the formula path of the vjp); these check the eager fast path —
the forward kernel and ``_cross_entropy_backward`` — on the cases it handles by itself: logits
spanning more than one shift allows (per-row maxima), ignored rows, weights that do not require
grad, double backward, PyTorch's grad_fn names and errors.
"""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt
from graphtorch.autograd.node import AccumulateGrad
from graphtorch.ops.registry import REGISTRY

torch = pytest.importorskip("torch")

# (logits shape, target kind, keyword arguments)
CASES = {
    "rows": ((6, 5), "class", {}),
    "rows_ignore": ((6, 5), "class", {"ignore_index": 2}),
    "rows_weight_ignore_smoothing": ((6, 5), "class", {"weight": True, "ignore_index": 1,
                                                       "label_smoothing": 0.15}),
    "rows_weight": ((6, 5), "class", {"weight": True}),
    "rows_smoothing": ((6, 5), "class", {"label_smoothing": 0.3}),
    "unbatched": ((5,), "class", {"label_smoothing": 0.1}),
    "unbatched_ignored": ((5,), "class", {"ignore_index": 3, "weight": True}),
    "spatial_3d": ((2, 4, 3), "class", {"weight": True, "ignore_index": 0}),
    "spatial_4d": ((2, 4, 3, 2), "class", {"label_smoothing": 0.2}),
    "probabilities": ((6, 5), "probs", {}),
    "probabilities_weight_smoothing": ((6, 5), "probs", {"weight": True,
                                                         "label_smoothing": 0.25}),
    "probabilities_spatial": ((2, 4, 3), "probs", {"weight": True}),
    "one_class": ((4, 1), "class", {}),
    "empty_batch": ((0, 3), "class", {}),
}


def _inputs(shape, kind, kwargs, dtype, wide, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape) * 3
    if wide == "high":
        x += 1000.0  # NOTE: exp would overflow unshifted: one shift, the largest logit
    elif wide and len(shape) > 1 and shape[0] > 1:
        # NOTE: rows 500 apart: one shift for all rows would underflow (per-row maxima then)
        x += (np.arange(shape[0]) * 500.0).reshape((-1,) + (1,) * (len(shape) - 1))
    classes = shape[1] if len(shape) > 1 else shape[0]
    tshape = (shape[0],) + shape[2:] if len(shape) > 1 else ()
    if kind == "class":
        target = rng.integers(0, classes, tshape)
        if "ignore_index" in kwargs and target.size:
            target.reshape(-1)[::2] = kwargs["ignore_index"]
    else:
        p = rng.random(shape)
        target = (p / p.sum(axis=1 if len(shape) > 1 else 0, keepdims=True)).astype(dtype)
    w = rng.uniform(0.5, 2.0, classes).astype(dtype) if kwargs.get("weight") else None
    return x.astype(dtype), np.asarray(target), w


def _run(lib, x, target, w, kwargs, reduction, cot):
    kw = {k: v for k, v in kwargs.items() if k != "weight"}
    xt = lib.tensor(x, requires_grad=True)
    weight = None if w is None else lib.tensor(w)
    loss = lib.nn.functional.cross_entropy(xt, lib.tensor(target), weight, reduction=reduction,
                                           **kw)
    loss.backward(lib.tensor(cot))
    return loss.detach().numpy(), xt.grad.numpy(), type(loss.grad_fn).__name__


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("wide", [False, "high", True])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_forward_and_backward_match_pytorch(case, reduction, wide, dtype):
    shape, kind, kwargs = CASES[case]
    x, target, w = _inputs(shape, kind, kwargs, dtype, wide)
    out_shape = () if reduction != "none" else (
        target.shape if kind == "class" else shape[:1] + shape[2:] if len(shape) > 1 else ())
    cot = np.random.default_rng(1).standard_normal(out_shape).astype(dtype)
    ours = _run(gt, x, target, w, kwargs, reduction, cot)
    theirs = _run(torch, x, target, w, kwargs, reduction, cot)
    tol = 2e-5 if dtype == np.float32 else 1e-11
    for a, b, what in zip(ours[:2], theirs[:2], ("loss", "grad")):
        assert a.dtype == b.dtype and a.shape == b.shape, what
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol, err_msg=f"{case}: {what}")
    assert ours[2] == theirs[2]


def test_the_gradient_is_one_node_running_the_backward_kernel(monkeypatch):
    x = gt.randn(8, 5, requires_grad=True)
    t = gt.randint(0, 5, (8,))
    loss = gt.nn.functional.cross_entropy(x, t, label_smoothing=0.1)
    (child, _), = loss.grad_fn.next_functions[:1]
    assert isinstance(child, AccumulateGrad)
    op = REGISTRY["_cross_entropy_backward"]
    calls = []
    kernel = op.kernel
    monkeypatch.setattr(op, "kernel", lambda *a: calls.append(a) or kernel(*a))
    loss.backward()
    assert len(calls) == 1
    tx = torch.tensor(x.detach().numpy(), requires_grad=True)
    torch.nn.functional.cross_entropy(tx, torch.tensor(t.numpy()), label_smoothing=0.1).backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("kind,kwargs", [
    ("class", {}), ("class", {"weight": True, "ignore_index": 1, "label_smoothing": 0.2}),
    ("probs", {"weight": True, "label_smoothing": 0.1})])
def test_double_backward_matches_pytorch(kind, kwargs):
    x, target, w = _inputs((5, 4), kind, kwargs, np.float64, False)
    v = np.random.default_rng(3).standard_normal((5, 4))

    def penalty(lib):
        kw = {k: val for k, val in kwargs.items() if k != "weight"}
        xt = lib.tensor(x, requires_grad=True)
        weight = None if w is None else lib.tensor(w)
        loss = lib.nn.functional.cross_entropy(xt, lib.tensor(target), weight, **kw)
        (g,) = lib.autograd.grad(loss, xt, create_graph=True)
        ((g * lib.tensor(v)).sum() + loss).backward()
        return xt.grad.numpy()

    np.testing.assert_allclose(penalty(gt), penalty(torch), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("weight", [False, True])
def test_every_target_ignored_gives_nan_mean_and_zero_gradient(weight):
    x = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    t = np.full(3, -100)
    w = np.array([1.0, 2.0, 0.5, 1.0], np.float32) if weight else None
    ours = _run(gt, x, t, w, {}, "mean", np.float32(1))
    theirs = _run(torch, x, t, w, {}, "mean", np.float32(1))
    assert np.isnan(ours[0]) and np.isnan(theirs[0])
    np.testing.assert_array_equal(ours[1], theirs[1])
    np.testing.assert_array_equal(ours[1], np.zeros_like(x))


def test_an_ignored_row_holding_nan_adds_nothing():
    x = np.zeros((3, 4), np.float32)
    x[1, 2] = np.nan
    t = np.array([0, -100, 3])
    for reduction in ("mean", "sum", "none"):
        ours = _run(gt, x, t, None, {}, reduction, np.ones((3,) if reduction == "none" else (),
                                                           np.float32))
        theirs = _run(torch, x, t, None, {}, reduction, np.ones(
            (3,) if reduction == "none" else (), np.float32))
        np.testing.assert_array_equal(ours[0], theirs[0])
        assert not np.isnan(ours[0]).any()


@pytest.mark.parametrize("target,ignore_index,bad", [
    ([0, 4, 1], -100, 4), ([0, -5, 1], -100, -5), ([7, -100, 2], -100, 7),
    ([1, 2, 9], 2, 9), ([-100, 1, 3], 3, -100)])
def test_a_target_out_of_range_is_named(target, ignore_index, bad):
    x = gt.zeros(3, 4, requires_grad=True)
    with pytest.raises(IndexError, match=f"^Target {bad} is out of bounds.$"):
        gt.nn.functional.cross_entropy(x, gt.tensor(target), ignore_index=ignore_index)
    with pytest.raises(IndexError, match=f"^Target {bad} is out of bounds.$"):
        torch.nn.functional.cross_entropy(torch.zeros(3, 4), torch.tensor(target),
                                          ignore_index=ignore_index)


def test_byte_targets_and_half_logits():
    x = np.random.default_rng(0).standard_normal((6, 5)).astype(np.float16)
    t = np.array([0, 4, 1, 2, 3, 3], np.uint8)
    for reduction in ("mean", "none"):
        cot = np.ones((6,) if reduction == "none" else (), np.float16)
        ours = _run(gt, x, t, None, {}, reduction, cot)
        theirs = _run(torch, x, t, None, {}, reduction, cot)
        for a, b in zip(ours[:2], theirs[:2]):
            assert a.dtype == b.dtype == np.float16
            np.testing.assert_allclose(a.astype(np.float32), b.astype(np.float32), rtol=2e-3,
                                       atol=2e-3)


# NOTE: (graphtorch's error, PyTorch's): label_smoothing > 1 stays a ValueError here
@pytest.mark.parametrize("call,errors,message", [
    (lambda F, x, t: F.cross_entropy(x, t.int()), (RuntimeError, RuntimeError),
     "expected target dtype to be Long or Byte, but got Int"),
    (lambda F, x, t: F.cross_entropy(x, t, weight=x.new_ones(4)), (RuntimeError, RuntimeError),
     "weight tensor should be defined either for all 3 classes or no classes but got weight "
     "tensor of shape: [4]"),
    (lambda F, x, t: F.cross_entropy(x, t, weight=x.new_ones(3).double()),
     (RuntimeError, RuntimeError), "expected scalar type Float but found Double"),
    (lambda F, x, t: F.cross_entropy(x, t[:2]), (ValueError, ValueError),
     "Expected input batch_size (4) to match target batch_size (2)."),
    (lambda F, x, t: F.cross_entropy(x, t, label_smoothing=1.5), (ValueError, RuntimeError),
     "label_smoothing must be between 0.0 and 1.0. Got: 1.5"),
    (lambda F, x, t: F.cross_entropy(x, t, reduction="avg"), (ValueError, ValueError),
     "avg is not a valid value for reduction"),
])
def test_errors_match_pytorch(call, errors, message):
    for lib, error in zip((gt, torch), errors):
        x = lib.zeros(4, 3, requires_grad=True)
        with pytest.raises(error) as info:
            call(lib.nn.functional, x, lib.tensor([0, 2, 1, 1]))
        assert str(info.value) == message, lib.__name__


@pytest.mark.parametrize("kind", ["class", "probs"])
def test_negative_label_smoothing_is_no_smoothing_as_in_pytorch(kind):
    x, target, _ = _inputs((4, 3), kind, {}, np.float64, False)
    for lib in (gt, torch):
        F = lib.nn.functional
        xs, ts = lib.tensor(x), lib.tensor(target)
        np.testing.assert_array_equal(F.cross_entropy(xs, ts, label_smoothing=-0.1).numpy(),
                                      F.cross_entropy(xs, ts).numpy())


@pytest.mark.parametrize("wide", [False, True])
def test_strided_logits(wide):
    base, _, _ = _inputs((6, 5), "class", {}, np.float32, wide)
    t = np.array([0, 1, 5])
    w = np.random.default_rng(2).uniform(0.5, 2.0, 6).astype(np.float32)

    def grads(lib):
        leaf = lib.tensor(base, requires_grad=True)
        x = leaf.t()[::2]  # (3, 6): neither C- nor F-contiguous
        assert not x.is_contiguous()
        loss = lib.nn.functional.cross_entropy(x, lib.tensor(t), lib.tensor(w), ignore_index=1,
                                               label_smoothing=0.1, reduction="sum")
        loss.backward()
        return loss.detach().numpy(), leaf.grad.numpy()

    for a, b in zip(grads(gt), grads(torch)):
        np.testing.assert_allclose(a, b, rtol=2e-5, atol=2e-5)


# --- nll_loss: the same rows, kernel and backward op (ops/nll_loss.py) -------------------------
def _run_nll(lib, x, target, w, kwargs, reduction, cot):
    kw = {k: v for k, v in kwargs.items() if k not in ("weight", "label_smoothing")}
    xt = lib.tensor(x, requires_grad=True)
    weight = None if w is None else lib.tensor(w)
    loss = lib.nn.functional.nll_loss(xt, lib.tensor(target), weight, reduction=reduction, **kw)
    loss.backward(lib.tensor(cot))
    return loss.detach().numpy(), xt.grad.numpy(), type(loss.grad_fn).__name__


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("case", sorted(k for k, v in CASES.items() if v[1] == "class"))
def test_nll_loss_matches_pytorch(case, reduction, dtype):
    shape, kind, kwargs = CASES[case]
    x, target, w = _inputs(shape, kind, kwargs, dtype, False)
    cot = np.random.default_rng(1).standard_normal(
        () if reduction != "none" else target.shape).astype(dtype)
    ours = _run_nll(gt, x, target, w, kwargs, reduction, cot)
    theirs = _run_nll(torch, x, target, w, kwargs, reduction, cot)
    for a, b, what in zip(ours[:2], theirs[:2], ("loss", "grad")):
        assert a.dtype == b.dtype and a.shape == b.shape, what
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7, err_msg=f"{case}: {what}")
    assert ours[2] == theirs[2]


def test_nll_loss_is_one_node_running_its_backward_kernel(monkeypatch):
    x = gt.randn(8, 5, requires_grad=True)
    t = gt.tensor([0, 1, -100, 4, 2, 2, 3, 1])
    loss = gt.nn.functional.nll_loss(x.log_softmax(1), t)
    op = REGISTRY["_nll_loss_backward"]
    calls = []
    kernel = op.kernel
    monkeypatch.setattr(op, "kernel", lambda *a: calls.append(a) or kernel(*a))
    loss.backward()
    assert len(calls) == 1
    tx = torch.tensor(x.detach().numpy(), requires_grad=True)
    torch.nn.functional.nll_loss(tx.log_softmax(1), torch.tensor(t.numpy())).backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-5, atol=1e-7)


def test_nll_loss_double_backward_matches_pytorch():
    x, target, w = _inputs((5, 4), "class", {"weight": True, "ignore_index": 1}, np.float64,
                           False)
    v = np.random.default_rng(3).standard_normal((5, 4))

    def penalty(lib):
        xt = lib.tensor(x, requires_grad=True)
        loss = lib.nn.functional.nll_loss(xt.log_softmax(1) * xt, lib.tensor(target),
                                          lib.tensor(w), ignore_index=1)
        (g,) = lib.autograd.grad(loss, xt, create_graph=True)
        ((g * lib.tensor(v)).sum() + loss).backward()
        return xt.grad.numpy()

    np.testing.assert_allclose(penalty(gt), penalty(torch), rtol=1e-10, atol=1e-12)
