"""Activations vs PyTorch: float64, transposed inputs, the functional forms, reprs, in place."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt
from graphtorch import nn

pytestmark = pytest.mark.torch

MODULES = {
    "ReLU": (), "ReLU6": (), "GELU": ("tanh",), "SiLU": (), "Tanh": (), "Sigmoid": (),
    "LeakyReLU": (0.2,), "ELU": (0.7,), "Softplus": (2.0, 5.0), "Mish": (), "Hardtanh": (-2, 1),
    "LogSigmoid": (), "SELU": (), "CELU": (0.5,), "Hardsigmoid": (), "Hardswish": (),
    "Softsign": (), "Tanhshrink": (), "Threshold": (0.1, -2.0), "GLU": (0,), "Softmax": (0,),
    "LogSoftmax": (1,), "Softmin": (0,), "PReLU": (),
}


@pytest.mark.parametrize("name", sorted(MODULES))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_activation_modules(name, dtype):
    import torch

    args = MODULES[name]
    ours, theirs = getattr(nn, name)(*args), getattr(torch.nn, name)(*args)
    assert repr(ours) == repr(theirs)
    if dtype == np.float64:
        ours.double()
        theirs.double()
    # values away from the kinks (0, +-3, the thresholds) so gradients are unambiguous
    a = np.random.default_rng(0).uniform(-5, 5, (6, 4))
    a = np.where(np.abs(np.abs(a) - 3) < 0.1, a + 0.3, a)
    a = np.where(np.abs(a) < 0.15, 0.4, a).astype(dtype)
    gx, tx = gt.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    out, tout = ours(gx.t()), theirs(tx.t())
    tol = 1e-5 if dtype == np.float32 else 1e-12
    # NOTE: PyTorch's float64 hardsigmoid backward multiplies by a float32 1/6 (ours is exact)
    gtol = 1e-7 if name == "Hardsigmoid" and dtype == np.float64 else tol
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), rtol=tol, atol=tol)
    assert out.dtype.name == str(tout.dtype).split(".")[1]
    cot = np.random.default_rng(1).standard_normal(tuple(tout.shape)).astype(dtype)
    (out * gt.tensor(cot)).sum().backward()
    (tout * torch.tensor(cot)).sum().backward()
    np.testing.assert_allclose(gx.grad.numpy(), tx.grad.numpy(), rtol=gtol, atol=gtol)


@pytest.mark.parametrize("name", ["relu", "selu", "celu", "hardsigmoid", "hardswish", "elu",
                                  "leaky_relu", "threshold"])
def test_inplace_functionals(name):
    import torch
    import torch.nn.functional as tF

    a = np.linspace(-4, 4, 9).astype(np.float32)
    extra = (0.5, 7.0) if name == "threshold" else ()
    g, t = gt.tensor(a), torch.tensor(a)
    out = getattr(gt.nn.functional, name)(g, *extra, inplace=True)
    tout = getattr(tF, name)(t, *extra, inplace=True)
    assert out is g
    np.testing.assert_allclose(g.numpy(), t.numpy(), rtol=1e-6, atol=1e-7)
    _ = tout


def test_glu_odd_dim_error_like_pytorch():
    import torch
    import torch.nn.functional as tF

    with pytest.raises(RuntimeError) as t_err:
        tF.glu(torch.zeros(3, 5))
    with pytest.raises(RuntimeError) as g_err:
        gt.nn.functional.glu(gt.zeros(3, 5))
    assert str(g_err.value) == str(t_err.value)


def test_logsigmoid_is_stable_at_extremes():
    import torch
    import torch.nn.functional as tF

    a = np.array([-1000.0, -50.0, 0.0, 50.0, 1000.0], dtype=np.float32)
    np.testing.assert_allclose(gt.nn.functional.logsigmoid(gt.tensor(a)).numpy(),
                               tF.logsigmoid(torch.tensor(a)).numpy(), rtol=1e-6)
