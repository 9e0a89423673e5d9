"""The fused SGD step (runtime/c_optim.py) against the numpy step: bit for bit, every option."""

import itertools

import numpy as np
import pytest

import graphtorch as gt
import graphtorch.optim as optim
from graphtorch.optim import _fused
from graphtorch.runtime import c_backend, c_optim

needs_cc = pytest.mark.skipif(not c_backend.available(),
                              reason="no C compiler: the fused step is not registered")

OPTIONS = [dict(momentum=m, dampening=d, weight_decay=wd, nesterov=n, maximize=mx)
           for m, d, wd, n, mx in itertools.product((0.0, 0.9), (0.0, 0.25), (0.0, 1e-2),
                                                   (False, True), (False, True))
           if not (n and (m == 0 or d != 0))]


class _Counting:
    """The registered fused step, counting the updates it performed."""

    def __init__(self):
        self.done = 0

    def __call__(self, *args) -> bool:
        ok = c_optim.sgd_step(*args)
        self.done += ok
        return ok


def _trajectory(dtype, options, fused, steps=4, shapes=((33, 17), (17,), (5, 33))):
    rng = np.random.default_rng(7)
    params = [gt.tensor(rng.standard_normal(s).astype(dtype), requires_grad=True)
              for s in shapes]
    grads = [[rng.standard_normal(s).astype(dtype) for s in shapes] for _ in range(steps)]
    counting = _Counting()
    _fused.provide("sgd", counting if fused else None)
    try:
        opt = optim.SGD(params, lr=0.05, **options)
        for step in grads:
            for p, g in zip(params, step):
                p.grad = gt.tensor(g)
            opt.step()
    finally:
        _fused.provide("sgd", c_optim.sgd_step)
    bufs = [opt.state[p].get("momentum_buffer") for p in params]
    return params, bufs, counting.done


@needs_cc
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("options", OPTIONS, ids=lambda o: ",".join(
    f"{k}={v}" for k, v in o.items() if v))
def test_fused_step_equals_numpy_step_bit_for_bit(dtype, options):
    fused_params, fused_bufs, done = _trajectory(dtype, options, fused=True)
    ref_params, ref_bufs, _ = _trajectory(dtype, options, fused=False)
    # the first step creates the momentum buffer with the numpy step; every later one is fused
    assert done == 3 * (3 if options["momentum"] else 4)
    for a, b in zip(fused_params, ref_params):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    for a, b in zip(fused_bufs, ref_bufs):
        assert (a is None) == (b is None)
        if a is not None:
            np.testing.assert_array_equal(a.numpy(), b.numpy())
            assert a._vc[0] == b._vc[0]


@needs_cc
def test_fused_step_updates_in_place():
    p = np.arange(6, dtype=np.float32)
    g = np.ones(6, dtype=np.float32)
    b = np.full(6, 2.0, dtype=np.float32)
    before = p.ctypes.data
    assert c_optim.sgd_step(p, g, b, 0.5, 0.5, 0.0, 0.0, False, False)
    # b = 2 * 0.5 + 1 = 2; p = p - 0.5 * 2
    np.testing.assert_array_equal(b, np.full(6, 2.0, dtype=np.float32))
    np.testing.assert_array_equal(p, np.arange(6, dtype=np.float32) - 1)
    assert p.ctypes.data == before


@needs_cc
@pytest.mark.parametrize("case", ["float16", "strided", "aliased", "numpy scalar", "dtypes",
                                  "shape", "read-only"])
def test_uncovered_arrays_are_left_to_the_numpy_step(case):
    p = np.linspace(-1, 1, 12, dtype=np.float32)
    g = np.ones(12, dtype=np.float32)
    b = np.ones(12, dtype=np.float32)
    lr = 0.1
    if case == "float16":
        p, g, b = p.astype(np.float16), g.astype(np.float16), b.astype(np.float16)
    elif case == "strided":
        p = np.linspace(-1, 1, 24, dtype=np.float32)[::2]
    elif case == "aliased":
        g = p
    elif case == "numpy scalar":
        lr = np.float64(0.1)  # numpy computes this in float64: not the float32 loop
    elif case == "dtypes":
        g = g.astype(np.float64)
    elif case == "shape":
        b = np.ones(13, dtype=np.float32)
    else:
        p.flags.writeable = False
    snapshot = (p.copy(), g.copy(), b.copy())
    assert c_optim.sgd_step(p, g, b, lr, 0.9, 0.0, 0.0, False, False) is False
    for now, then in zip((p, g, b), snapshot):
        np.testing.assert_array_equal(now, then)


@needs_cc
def test_sgd_trains_through_the_fused_step_like_numpy():
    """A float32 model trained with momentum: the fused step takes every parameter update after
    the first and the weights equal those of the numpy step exactly."""

    def train(fused):
        gt.manual_seed(3)
        model = gt.nn.Sequential(gt.nn.Linear(8, 16), gt.nn.Tanh(), gt.nn.Linear(16, 3))
        x = gt.randn(32, 8)
        y = gt.randint(0, 3, (32,))
        counting = _Counting()
        _fused.provide("sgd", counting if fused else None)
        try:
            opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-3)
            for _ in range(5):
                opt.zero_grad()
                gt.nn.functional.cross_entropy(model(x), y).backward()
                opt.step()
        finally:
            _fused.provide("sgd", c_optim.sgd_step)
        return [p.detach().numpy().copy() for p in model.parameters()], counting.done

    fused, done = train(True)
    ref, _ = train(False)
    assert done == 4 * 4
    for a, b in zip(fused, ref):
        np.testing.assert_array_equal(a, b)


def test_registry_provides_and_removes():
    assert _fused.fused_step("sgd") is c_optim.sgd_step
    _fused.provide("sgd", None)
    try:
        assert _fused.fused_step("sgd") is None
    finally:
        _fused.provide("sgd", c_optim.sgd_step)
    assert _fused.fused_step("sgd") is c_optim.sgd_step


def test_without_a_compiler_the_numpy_step_runs(monkeypatch):
    monkeypatch.setenv("GT_CPU_BACKEND", "numpy")
    monkeypatch.setattr(c_optim, "_KERNELS", {})  # NOTE: kernels are looked for when first needed
    p = np.linspace(-1, 1, 12, dtype=np.float32)
    g = np.ones(12, dtype=np.float32)
    assert c_optim.sgd_step(p, g, None, 0.1, 0, 0, 0, False, False) is False
    np.testing.assert_array_equal(p, np.linspace(-1, 1, 12, dtype=np.float32))
    param = gt.tensor(np.linspace(-1, 1, 12, dtype=np.float32), requires_grad=True)
    param.grad = gt.tensor(g)
    optim.SGD([param], lr=0.5).step()
    np.testing.assert_array_equal(param.detach().numpy(),
                                  np.linspace(-1, 1, 12, dtype=np.float32) - np.float32(0.5))
