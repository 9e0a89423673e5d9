"""nn.functional: losses and helpers vs PyTorch, composite gradients vs finite differences."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt
from graphtorch.nn import functional as F
from graphtorch.ops.registry import REGISTRY


def _rng(seed=0):
    return np.random.default_rng(seed)


def _finite_difference_check(fn, arrays, eps=1e-6, tol=1e-5):
    """Gradient of sum(fn(*tensors) * cot) w.r.t. each float64 array vs central differences."""
    ins = [gt.tensor(a, requires_grad=True) for a in arrays]
    out = fn(*ins)
    cot = _rng(7).standard_normal(tuple(out.shape))
    grads = gt.autograd.grad([out], ins, [gt.tensor(cot)], allow_unused=True)

    def objective(vals):
        with gt.no_grad():
            return float((fn(*[gt.tensor(v) for v in vals]).numpy() * cot).sum())

    for k, (a, g) in enumerate(zip(arrays, grads)):
        num = np.zeros_like(a)
        for j in range(a.size):
            plus = [b.copy() for b in arrays]
            minus = [b.copy() for b in arrays]
            plus[k].reshape(-1)[j] += eps
            minus[k].reshape(-1)[j] -= eps
            num.reshape(-1)[j] = (objective(plus) - objective(minus)) / (2 * eps)
        got = np.zeros_like(a) if g is None else g.numpy()
        np.testing.assert_allclose(got, num, rtol=tol, atol=tol, err_msg=f"input {k}")


# --- losses: values and gradients vs PyTorch ----------------------------------------------------
LOSS_CASES = [
    ("mse_loss", {}), ("mse_loss", {"reduction": "sum"}), ("l1_loss", {"reduction": "none"}),
    ("smooth_l1_loss", {"beta": 0.5}), ("huber_loss", {"delta": 0.7}),
]


@pytest.mark.torch
@pytest.mark.parametrize("name,kwargs", LOSS_CASES)
def test_regression_losses_match_pytorch(name, kwargs):
    import torch

    x, t = _rng().standard_normal((3, 4)), _rng(1).standard_normal((3, 4))
    gx = gt.tensor(x, requires_grad=True)
    tx = torch.tensor(x, requires_grad=True)
    ours = getattr(F, name)(gx, gt.tensor(t), **kwargs)
    theirs = getattr(torch.nn.functional, name)(tx, torch.tensor(t), **kwargs)
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-10)
    ours.sum().backward()
    theirs.sum().backward()
    np.testing.assert_allclose(gx.grad.numpy(), tx.grad.numpy(), rtol=1e-10, atol=1e-12)


CE_CASES = [
    ({}, "indices"), ({"reduction": "sum"}, "indices"), ({"reduction": "none"}, "indices"),
    ({"weight": True}, "indices"), ({"ignore_index": 1}, "indices"),
    ({"label_smoothing": 0.2}, "indices"),
    ({"label_smoothing": 0.2, "weight": True, "ignore_index": 0}, "indices"),
    ({"label_smoothing": 0.1, "reduction": "none", "ignore_index": 2}, "indices"),
    ({}, "probs"), ({"weight": True, "label_smoothing": 0.3}, "probs"),
    ({}, "spatial"), ({"weight": True, "reduction": "none"}, "spatial"),
    ({}, "unbatched"),
]


def _ce_inputs(kind):
    r = _rng(3)
    if kind == "spatial":
        return r.standard_normal((2, 4, 3, 2)), r.integers(0, 4, (2, 3, 2))
    if kind == "unbatched":
        return r.standard_normal(4), np.array(2)
    x = r.standard_normal((5, 4))
    if kind == "probs":
        p = r.random((5, 4))
        return x, p / p.sum(1, keepdims=True)
    return x, np.array([0, 1, 2, 3, 1])


@pytest.mark.torch
@pytest.mark.parametrize("kwargs,kind", CE_CASES)
def test_cross_entropy_and_nll_match_pytorch(kwargs, kind):
    import torch

    x, t = _ce_inputs(kind)
    kw_ours, kw_theirs = dict(kwargs), dict(kwargs)
    if kwargs.get("weight"):
        w = _rng(4).random(4) + 0.5
        kw_ours["weight"], kw_theirs["weight"] = gt.tensor(w), torch.tensor(w)
    gx = gt.tensor(x, requires_grad=True)
    tx = torch.tensor(x, requires_grad=True)
    ours = F.cross_entropy(gx, gt.tensor(t), **kw_ours)
    theirs = torch.nn.functional.cross_entropy(tx, torch.tensor(t), **kw_theirs)
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-10)
    (ours * ours).sum().backward()
    (theirs * theirs).sum().backward()
    np.testing.assert_allclose(gx.grad.numpy(), tx.grad.numpy(), rtol=1e-9, atol=1e-12)
    if kind != "probs" and "label_smoothing" not in kwargs:
        kw_ours.pop("label_smoothing", None)
        kw_theirs.pop("label_smoothing", None)
        lp = F.log_softmax(gt.tensor(x), 1 if x.ndim > 1 else 0)
        tlp = torch.log_softmax(torch.tensor(x), 1 if x.ndim > 1 else 0)
        np.testing.assert_allclose(F.nll_loss(lp, gt.tensor(t), **kw_ours).numpy(),
                                   torch.nn.functional.nll_loss(tlp, torch.tensor(t),
                                                                **kw_theirs).numpy(),
                                   rtol=1e-10)


@pytest.mark.torch
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_binary_losses_match_pytorch(reduction):
    import torch

    r = _rng(5)
    p, t = r.uniform(0.02, 0.98, (4, 3)), r.random((4, 3))
    w, pw = r.random(3) + 0.5, r.random(3) + 0.5
    logits = r.standard_normal((4, 3)) * 4
    tf = torch.nn.functional
    for ours, theirs in (
        (F.binary_cross_entropy(gt.tensor(p), gt.tensor(t), gt.tensor(w), reduction=reduction),
         tf.binary_cross_entropy(torch.tensor(p), torch.tensor(t), torch.tensor(w),
                                 reduction=reduction)),
        (F.binary_cross_entropy_with_logits(gt.tensor(logits), gt.tensor(t),
                                            reduction=reduction, pos_weight=gt.tensor(pw)),
         tf.binary_cross_entropy_with_logits(torch.tensor(logits), torch.tensor(t),
                                             reduction=reduction, pos_weight=torch.tensor(pw))),
    ):
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-10)


def test_bce_saturated_input_is_finite_and_size_checked():
    loss = F.binary_cross_entropy(gt.tensor([0.0, 1.0]), gt.tensor([1.0, 0.0]))
    assert float(loss) == pytest.approx(100.0)
    with pytest.raises(ValueError, match="Using a target size"):
        F.binary_cross_entropy(gt.tensor([0.5, 0.5]), gt.tensor([1.0]))


@pytest.mark.torch
@pytest.mark.parametrize("reduction,log_target", [("batchmean", False), ("sum", True),
                                                  ("none", False)])
def test_kl_div_matches_pytorch(reduction, log_target):
    import torch

    r = _rng(6)
    logq = np.log(r.dirichlet(np.ones(4), 3))
    p = r.dirichlet(np.ones(4), 3)
    p[0, 1] = 0.0  # a zero target contributes nothing
    t = np.log(p + 1e-3) if log_target else p
    ours = F.kl_div(gt.tensor(logq), gt.tensor(t), reduction=reduction, log_target=log_target)
    theirs = torch.nn.functional.kl_div(torch.tensor(logq), torch.tensor(t), reduction=reduction,
                                        log_target=log_target)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-10)


def test_invalid_reduction_message():
    with pytest.raises(ValueError, match="bogus is not a valid value for reduction"):
        F.mse_loss(gt.zeros(2), gt.zeros(2), reduction="bogus")


def test_loss_modules_forward_to_functionals():
    from graphtorch import nn

    x, t = gt.randn(3, 4), gt.randn(3, 4)
    assert float(nn.MSELoss()(x, t)) == pytest.approx(float(F.mse_loss(x, t)))
    assert float(nn.L1Loss(reduction="sum")(x, t)) == pytest.approx(float((x - t).abs().sum()),
                                                                    rel=1e-5)
    idx = gt.tensor([0, 3, 1])
    assert float(nn.NLLLoss()(F.log_softmax(x, 1), idx)) == pytest.approx(
        float(nn.CrossEntropyLoss()(x, idx)), rel=1e-6)


# --- composite gradients vs finite differences (float64) ----------------------------------------
COMPOSITES = {
    "cross_entropy_smoothing": (lambda x: F.cross_entropy(
        x, gt.tensor([0, 2, 1]), label_smoothing=0.2, weight=gt.tensor([1.0, 2.0, 0.5],
                                                                        dtype=gt.float64)),
        [(3, 3)]),
    "cross_entropy_probs": (lambda x, p: F.cross_entropy(x, p.softmax(1)), [(3, 4), (3, 4)]),
    "nll_spatial": (lambda x: F.nll_loss(x.log_softmax(1), gt.tensor([[0, 1], [2, 2]]),
                                         ignore_index=2), [(2, 3, 2)]),
    "bce": (lambda x, t: F.binary_cross_entropy(x.sigmoid(), t.sigmoid()), [(2, 3), (2, 3)]),
    "bce_logits": (lambda x, t, w: F.binary_cross_entropy_with_logits(x, t.sigmoid(),
                                                                      pos_weight=w.abs() + 0.5),
                   [(2, 3), (2, 3), (3,)]),
    "kl_div": (lambda x, t: F.kl_div(x.log_softmax(1), t.softmax(1), reduction="batchmean"),
               [(2, 4), (2, 4)]),
    "smooth_l1": (lambda x, t: F.smooth_l1_loss(x, t, beta=0.3), [(3, 3), (3, 3)]),
    "huber": (lambda x, t: F.huber_loss(x, t, delta=0.4), [(3, 3), (3, 3)]),
    "batch_norm_train": (lambda x, w, b: F.batch_norm(x, None, None, w, b, True),
                         [(4, 3, 2), (3,), (3,)]),
    "group_norm": (lambda x, w, b: F.group_norm(x, 2, w, b), [(2, 4, 3), (4,), (4,)]),
    "layer_norm_decomposition": (lambda x, w, b: REGISTRY["layer_norm"].decomposition(
        x, [4], w, b), [(3, 4), (4,), (4,)]),
    "sdpa_causal": (lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True),
                    [(2, 3, 4), (2, 3, 4), (2, 3, 2)]),
    "sdpa_float_mask": (lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, m),
                        [(2, 3, 4), (2, 5, 4), (2, 5, 2), (3, 5)]),
    "normalize": (lambda x: F.normalize(x, dim=1), [(3, 4)]),
    "cosine_similarity": (lambda a, b: F.cosine_similarity(a, b), [(3, 4), (3, 4)]),
    "bilinear": (lambda a, b, w: F.bilinear(a, b, w), [(2, 3), (2, 4), (5, 3, 4)]),
    "gelu_tanh_decomposition": (lambda x: REGISTRY["gelu"].decomposition(x, "tanh"), [(5,)]),
}


@pytest.mark.parametrize("name", sorted(COMPOSITES))
def test_composite_gradients_match_finite_differences(name):
    fn, shapes = COMPOSITES[name]
    arrays = [_rng(i).standard_normal(s) for i, s in enumerate(shapes)]
    _finite_difference_check(fn, arrays)


def test_direct_kernels_agree_with_decompositions():
    x = gt.randn(3, 5, dtype=gt.float64)
    w, b = gt.randn(5, dtype=gt.float64), gt.randn(5, dtype=gt.float64)
    lw, lb = gt.randn(2, 5, dtype=gt.float64), gt.randn(2, dtype=gt.float64)
    for name, args, kwargs in (("layer_norm", (x, [5], w, b, 1e-5), {}),
                               ("gelu", (x,), {"approximate": "none"}),
                               ("gelu", (x,), {"approximate": "tanh"}),
                               ("linear", (x, lw, lb), {})):
        op = REGISTRY[name]
        np.testing.assert_allclose(op(*args, **kwargs).numpy(),
                                   op.decomposition(*args, *kwargs.values()).numpy(),
                                   rtol=1e-12, atol=1e-12, err_msg=name)


# --- pad, one_hot, attention, normalize vs PyTorch -----------------------------------------------
@pytest.mark.torch
@pytest.mark.parametrize("pad,mode,shape", [
    ((1, 2), "constant", (2, 3)), ((1, -1, 0, 2), "constant", (2, 3, 4)),
    ((2, 1), "reflect", (1, 2, 5)), ((1, 1, 2, 2), "reflect", (1, 2, 3, 4)),
    ((2, 0, 1, 3), "replicate", (1, 2, 3, 3)), ((1, 2), "circular", (1, 1, 4)),
])
def test_pad_matches_pytorch(pad, mode, shape):
    import torch

    x = _rng().standard_normal(shape)
    gx = gt.tensor(x, requires_grad=True)
    tx = torch.tensor(x, requires_grad=True)
    out = F.pad(gx, pad, mode)
    tout = torch.nn.functional.pad(tx, pad, mode)
    np.testing.assert_array_equal(out.detach().numpy(), tout.detach().numpy())
    cot = _rng(2).standard_normal(tuple(tout.shape))
    (out * gt.tensor(cot)).sum().backward()
    (tout * torch.tensor(cot)).sum().backward()
    np.testing.assert_allclose(gx.grad.numpy(), tx.grad.numpy(), rtol=1e-12)


def test_pad_value_and_errors():
    out = F.pad(gt.zeros(2, 2), (1, 1), value=7.0)
    np.testing.assert_array_equal(out.numpy()[:, 0], [7.0, 7.0])
    with pytest.raises(RuntimeError, match="Padding length must be divisible by 2"):
        F.pad(gt.zeros(2, 2), (1,))
    with pytest.raises(RuntimeError, match="Padding size should be less than"):
        F.pad(gt.zeros(1, 1, 2), (2, 2), "reflect")


def test_one_hot():
    out = F.one_hot(gt.tensor([0, 2, 1]))
    np.testing.assert_array_equal(out.numpy(), np.eye(3, dtype=np.int64)[[0, 2, 1]])
    assert out.dtype is gt.int64
    assert tuple(F.one_hot(gt.tensor([[1], [0]]), 4).shape) == (2, 1, 4)
    with pytest.raises(RuntimeError, match="Class values must be smaller than num_classes"):
        F.one_hot(gt.tensor([3]), 3)


@pytest.mark.torch
@pytest.mark.parametrize("kwargs", [{}, {"is_causal": True}, {"scale": 0.5}, {"mask": "bool"},
                                    {"mask": "float"}])
def test_scaled_dot_product_attention_matches_pytorch(kwargs):
    import torch

    r = _rng(8)
    q, k, v = (r.standard_normal((2, 2, 4, 8)) for _ in range(3))
    kw_ours, kw_theirs = dict(kwargs), dict(kwargs)
    mask = kwargs.get("mask")
    if mask:
        m = (r.random((4, 4)) > 0.3) | np.eye(4, dtype=bool) if mask == "bool" \
            else r.standard_normal((4, 4))
        kw_ours.pop("mask")
        kw_theirs.pop("mask")
        kw_ours["attn_mask"], kw_theirs["attn_mask"] = gt.tensor(m), torch.tensor(m)
    ours = F.scaled_dot_product_attention(gt.tensor(q), gt.tensor(k), gt.tensor(v), **kw_ours)
    theirs = torch.nn.functional.scaled_dot_product_attention(
        torch.tensor(q), torch.tensor(k), torch.tensor(v), **kw_theirs)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.torch
def test_normalize_and_cosine_similarity_match_pytorch():
    import torch

    a, b = _rng(1).standard_normal((3, 5)), _rng(2).standard_normal((3, 5))
    tf = torch.nn.functional
    np.testing.assert_allclose(F.normalize(gt.tensor(a), p=3.0, dim=0).numpy(),
                               tf.normalize(torch.tensor(a), p=3.0, dim=0).numpy(), rtol=1e-10)
    np.testing.assert_allclose(F.cosine_similarity(gt.tensor(a), gt.tensor(b)).numpy(),
                               tf.cosine_similarity(torch.tensor(a), torch.tensor(b)).numpy(),
                               rtol=1e-10)


@pytest.mark.torch
def test_normalize_zero_rows_grad_matches_pytorch():
    import torch

    x = gt.zeros(2, 3, requires_grad=True)
    tx = torch.zeros(2, 3, requires_grad=True)
    F.normalize(x).sum().backward()
    torch.nn.functional.normalize(tx).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-6)


def test_softmax_implicit_dim_warns_like_pytorch():
    with pytest.warns(UserWarning, match="Implicit dimension choice for softmax"):
        out = F.softmax(gt.randn(2, 3))
    np.testing.assert_allclose(out.sum(1).numpy(), [1.0, 1.0], rtol=1e-6)


def test_inplace_activation_modifies_input():
    x = gt.tensor([-1.0, 2.0])
    y = F.relu(x, inplace=True)
    assert y is x
    np.testing.assert_array_equal(x.numpy(), [0.0, 2.0])
