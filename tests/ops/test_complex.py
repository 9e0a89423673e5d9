"""Complex tensors: every op that accepts them against PyTorch, the refusals, views, autograd."""

from __future__ import annotations

import re

import numpy as np
import pytest

import graphtorch as gt
from graphtorch import dtypes
from graphtorch.errors import AutogradError, DTypeError
from graphtorch.ops.complex_support import COMPLEX_OPS
from graphtorch.ops.registry import REGISTRY, OpKind, SampleInput
from tests.ops.registry_matrix import UNINITIALIZED, op_samples, outputs, torch_call


def _complexify(x, rng):
    """A float tensor becomes complex of its precision (a fresh imaginary part); others stay."""
    if isinstance(x, gt.Tensor) and x.dtype.is_floating_point:
        arr = x.numpy()
        imag = rng.uniform(-2.0, 2.0, arr.shape).astype(arr.dtype)
        return gt.tensor(np.asarray(arr + 1j * imag, dtype=x.dtype.to_complex().np))
    if isinstance(x, (list, tuple)):
        return type(x)(_complexify(v, rng) for v in x)
    return x


def _complex_cases():
    cases = []
    for name in sorted(COMPLEX_OPS):
        op = REGISTRY[name]
        if op.kind is OpKind.FACTORY:
            continue
        for dt in (dtypes.float32, dtypes.float64):
            for i, s in enumerate(op_samples(op, dt)):
                rng = np.random.default_rng(i)
                args = tuple(_complexify(a, rng) for a in s.args)
                flat = [t for a in args for t in (a if isinstance(a, (list, tuple)) else [a])]
                if any(isinstance(t, gt.Tensor) and t.is_complex() for t in flat):
                    cases.append((name, dt.name, i, SampleInput(args, s.kwargs, s.name)))
    return cases


CASES = _complex_cases()


def test_complex_cases_cover_the_ops():
    covered = {c[0] for c in CASES}
    factories = {n for n in COMPLEX_OPS if REGISTRY[n].kind is OpKind.FACTORY}
    # complex/polar/view_as_complex take real inputs: their own samples are checked by the matrix
    assert COMPLEX_OPS - covered - factories <= {"complex", "polar", "view_as_complex"}


@pytest.mark.torch
@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[0]}-{c[1]}-{c[3].name or c[2]}")
def test_complex_op_matches_pytorch(case):
    name, _, _, sample = case
    op = REGISTRY[name]
    try:
        theirs = outputs(torch_call(op, sample.args, sample.kwargs))
    except (RuntimeError, TypeError):  # PyTorch refuses it (complex(complex, complex)): so do we
        with pytest.raises((DTypeError, TypeError, RuntimeError)):
            op(*sample.args, **sample.kwargs)
        return
    ours = outputs(op(*sample.args, **sample.kwargs))
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        assert str(b.dtype) == f"torch.{a.dtype.name}", f"{name}: {a.dtype} vs {b.dtype}"
        assert tuple(a.shape) == tuple(b.shape)
        if name in UNINITIALIZED:
            continue
        tol = 1e-5 if a.dtype in (gt.complex64, gt.float32) else 1e-10
        np.testing.assert_allclose(a.numpy(), b.resolve_conj().numpy(), rtol=tol, atol=tol,
                                   err_msg=name)


@pytest.mark.torch
@pytest.mark.parametrize("expr", [
    "x < y", "x.max()", "x.relu()", "x.sort()", "x.clamp(0, 1)", "x.sign()",
    "x.argmax()", "x.floor()", "x.maximum(y)", "x.cumsum(0).cummax(0)",
])
def test_ops_pytorch_refuses_on_complex_are_refused(expr):
    import torch

    x, y = gt.tensor([1 + 2j, -1j]), gt.tensor([2 - 1j, 3j])
    tx, ty = torch.tensor([1 + 2j, -1j]), torch.tensor([2 - 1j, 3j])
    with pytest.raises(RuntimeError):
        eval(expr, {"x": tx, "y": ty})
    with pytest.raises(DTypeError, match="not implemented for 'ComplexFloat'.*complex tensors "
                                         "support"):
        eval(expr, {"x": x, "y": y})


def test_refused_factory_dtype():
    with pytest.raises(DTypeError, match='"randn" not implemented for \'ComplexDouble\''):
        gt.randn(3, dtype=gt.cdouble)


@pytest.mark.torch
def test_python_complex_scalars_promote_like_pytorch():
    import torch

    for data, dt in (([1, 2], None), ([1.5, 2], None), ([1.5, 2], "float64"), ([1, 0], "bool"),
                     ([1.5, 2], "float16")):
        ours = gt.tensor(data, dtype=None if dt is None else getattr(gt, dt))
        theirs = torch.tensor(data, dtype=None if dt is None else getattr(torch, dt))
        for s in (1j, 2.5 - 1j):
            if dt == "float16":  # PyTorch: complex32, which graphtorch refuses
                assert str((theirs * s).dtype) == "torch.complex32"
                with pytest.raises(DTypeError, match="complex32"):
                    ours * s
                continue
            got, want = ours * s, theirs * s
            assert str(want.dtype) == f"torch.{got.dtype.name}"
            np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6)
    assert (gt.tensor([1j]) + gt.tensor([2.0], dtype=gt.float64)).dtype is gt.complex128


def test_tensor_from_complex_data_and_default_dtype():
    assert gt.tensor(1j).dtype is gt.complex64 and gt.tensor([1, 2 + 0j]).dtype is gt.complex64
    assert gt.tensor([1.0], dtype=gt.cdouble).dtype is gt.complex128
    assert gt.cfloat is gt.complex64 and gt.cdouble is gt.complex128
    prev = gt.get_default_dtype()
    try:
        gt.set_default_dtype(gt.float64)
        assert gt.tensor([1j]).dtype is gt.complex128
        assert (gt.ones(2) * 1j).dtype is gt.complex128
    finally:
        gt.set_default_dtype(prev)


def test_item_tolist_give_python_complex():
    z = gt.tensor([[1 + 2j, 3.0], [0.5j, -1.0]])
    assert z.tolist() == [[1 + 2j, 3 + 0j], [0.5j, -1 + 0j]]
    assert type(z[0, 0].item()) is complex and z[0, 0].item() == 1 + 2j
    assert complex(z[1, 0]) == 0.5j
    assert z.is_complex() and not gt.ones(2).is_complex() and not z.dtype.is_floating_point
    assert z.type() == "graphtorch.ComplexFloatTensor"


def test_real_imag_view_as_real_are_views():
    z = gt.tensor([1 + 2j, 3 - 4j])
    z.real.mul_(10)
    z.imag.add_(1)
    assert z.tolist() == [10 + 3j, 30 - 3j]
    pairs = gt.view_as_real(z)
    assert pairs.shape == (2, 2) and pairs.dtype is gt.float32
    pairs[1, 1] = 7.0
    assert z[1].item() == 30 + 7j
    back = gt.view_as_complex(pairs)
    back[0] = 5j
    assert z[0].item() == 5j
    zt = gt.tensor([[1 + 1j, 2 + 2j], [3 + 3j, 4 + 4j]]).t()
    assert gt.view_as_real(zt)[0, 1].tolist() == [3.0, 3.0]  # strided complex: still a view


def test_view_errors():
    with pytest.raises(DTypeError, match="view_as_real is only supported for complex"):
        gt.view_as_real(gt.ones(2))
    with pytest.raises(DTypeError, match="imag is not implemented for tensors with non-complex"):
        _ = gt.ones(2).imag
    with pytest.raises(gt.errors.ShapeError, match="last dimension of size 2"):
        gt.view_as_complex(gt.ones(3))
    with pytest.raises(gt.errors.ShapeError, match="last dimension with stride 1"):
        gt.view_as_complex(gt.ones(2, 2).t())
    with pytest.raises(DTypeError, match="complex32"):
        gt.complex(gt.ones(2, dtype=gt.half), gt.ones(2, dtype=gt.half))
    with pytest.raises(DTypeError, match="same dtype"):
        gt.complex(gt.ones(2), gt.ones(2, dtype=gt.float64))


@pytest.mark.torch
def test_h_mh_conj_angle_match_pytorch():
    import torch

    arr = (np.arange(12).reshape(3, 4) - 5 + 1j * np.arange(12).reshape(3, 4)[::-1]).astype(
        np.complex64)
    z, tz = gt.tensor(arr), torch.tensor(arr)
    for ours, theirs in ((z.H, tz.H), (z.mH, tz.mH), (z.conj(), tz.conj()), (z.angle(), tz.angle()),
                         (z.abs(), tz.abs()), (z @ z.mH, tz @ tz.mH), (z.T, tz.T)):
        assert str(theirs.dtype) == f"torch.{ours.dtype.name}"
        np.testing.assert_allclose(ours.numpy(), theirs.resolve_conj().numpy(), rtol=1e-6)
    x = gt.tensor([-1.0, 0.0, -0.0, 2.0, float("nan")])
    np.testing.assert_array_equal(x.angle().numpy(),
                                  torch.tensor(x.tolist()).angle().numpy())
    assert gt.ones(2, 3).H.shape == (3, 2)


@pytest.mark.torch
def test_repr_matches_pytorch():
    import torch

    for data, dt in (([1 + 2j, 3.5 - 1j], None), (1j, None), ([[1.5 - 2.25j, 1e-5 + 3j]], None),
                     ([-0.0 - 0.0j, 2.0], "complex128"), ([1, 2], "complex128"),
                     ([0.1 + 0.2j] * 30, None)):
        ours = repr(gt.tensor(data, dtype=dt and getattr(gt, dt)))
        theirs = repr(torch.tensor(data, dtype=dt and getattr(torch, dt)))
        assert ours == theirs.replace("torch.", "graphtorch."), (ours, theirs)


def test_autograd_never_reaches_complex_tensors():
    a = gt.tensor([1.0, 2.0], requires_grad=True)
    b = gt.tensor([3.0, 4.0])
    with pytest.raises(AutogradError, match="autograd through complex tensors"):
        gt.complex(a, b)
    with pytest.raises(AutogradError, match="autograd through complex tensors"):
        a * 1j
    with pytest.raises(AutogradError, match="autograd through complex tensors"):
        a.to(gt.complex64)
    with pytest.raises(DTypeError, match="autograd for complex tensors is not supported"):
        gt.tensor([1j]).requires_grad_()
    with gt.no_grad():
        z = gt.complex(a, b)
    assert not z.requires_grad and z.grad_fn is None
    # a real tensor's real part and conjugate are itself: their gradients are the identity
    (a.real * 2 + a.conj()).sum().backward()
    assert a.grad.tolist() == [3.0, 3.0]


def test_abs_meta_is_real():
    op = REGISTRY["abs"]
    z = gt.tensor([3 + 4j])
    assert op.meta(z).dtype is gt.float32 and op(z).dtype is gt.float32
    assert op(z).item() == 5.0


def _compare(ours, theirs) -> str | None:
    """None when ``ours`` equals PyTorch's ``theirs`` (dtype, shape and values), else why not."""
    import torch

    if isinstance(theirs, torch.Tensor):
        if not isinstance(ours, gt.Tensor):
            return f"{type(ours).__name__} instead of a tensor"
        if str(theirs.dtype) != f"torch.{ours.dtype.name}":
            return f"dtype {ours.dtype} vs {theirs.dtype}"
        if tuple(ours.shape) != tuple(theirs.shape):
            return f"shape {tuple(ours.shape)} vs {tuple(theirs.shape)}"
        want = theirs.resolve_conj().resolve_neg().detach().numpy()
        ok = np.allclose(ours.numpy(), want, rtol=1e-4, atol=1e-4, equal_nan=True)
        return None if ok else "values"
    if isinstance(theirs, (tuple, list)):
        if not isinstance(ours, (tuple, list)) or len(ours) != len(theirs):
            return "a sequence of another length"
        return next((r for o, t in zip(ours, theirs) if (r := _compare(o, t))), None)
    return None if ours == theirs else f"{ours!r} vs {theirs!r}"


# NOTE: empty_like: uninitialized values; result_type: a dtype object of each framework;
# Tensor: PyTorch's legacy constructor aliases a tensor argument, graphtorch's copies it as float;
# cross, tensor: PyTorch warns once per process (a later test expecting the warning would miss it)
_NOT_COMPARABLE = {"empty_like", "result_type", "Tensor", "cross", "tensor"}
# functions that read or change process state (print options, seeds, defaults, files)
_GLOBAL_STATE = re.compile(r"(set_|get_|use_|manual_seed$|seed$|initial_seed$|load$|save$|"
                           r"compile$)")


@pytest.mark.torch
def test_every_function_on_complex_inputs_is_pytorch_or_refused():
    """Each graphtorch.<name> PyTorch also has, on complex inputs PyTorch accepts: the same
    result as PyTorch, or an error; never a different answer (e.g. the imaginary part dropped
    by a composition written for real tensors)."""
    import warnings

    import torch

    rng = np.random.default_rng(0)
    mat = (rng.standard_normal((3, 3)) + 1j * rng.standard_normal((3, 3))).astype(np.complex64)
    other = (rng.standard_normal((3, 3)) + 1j * rng.standard_normal((3, 3))).astype(np.complex64)
    shapes = ((mat,), (mat, other), (mat[0], other[0]), (mat[0],))
    names = sorted(n for n in dir(gt) if not n.startswith("_") and hasattr(torch, n)
                   and callable(getattr(gt, n)) and n not in _NOT_COMPARABLE
                   and not _GLOBAL_STATE.match(n))
    compared, bad = 0, []
    for name in names:
        for arrays in shapes:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    theirs = getattr(torch, name)(*[torch.tensor(a) for a in arrays])
                except Exception:  # noqa: BLE001 - PyTorch refuses this call: try the next
                    continue
                try:
                    ours = getattr(gt, name)(*[gt.tensor(a) for a in arrays])
                except Exception:  # noqa: BLE001 - refused: allowed
                    break
            compared += 1
            problem = _compare(ours, theirs)
            if problem:
                bad.append(f"{name}{tuple(a.shape for a in arrays)}: {problem}")
            break
    assert not bad, "\n".join(bad)
    assert compared > 80


def test_real_only_compositions_refuse_complex():
    z = gt.tensor([1 + 2j, -0.5j])
    for fn in (gt.exp2, gt.sinc, gt.cov):
        with pytest.raises(DTypeError, match=f'"{fn.__name__}" not implemented for'):
            fn(z)
    with pytest.raises(TypeError, match="must be real number, not complex"):
        gt.Tensor([1j, 2])
    assert gt.isreal(gt.tensor([1 + 0j, 1j])).tolist() == [True, False]
    assert gt.float_power(z, 2).dtype is gt.complex128


@pytest.mark.torch
def test_dtype_helpers_match_pytorch():
    import torch

    z = gt.tensor([1j])
    assert gt.is_complex(z) and not gt.is_complex(gt.ones(1)) and not gt.is_floating_point(z)
    for ours, theirs in ((gt.complex64, torch.complex64), (gt.complex128, torch.complex128)):
        a, b = gt.finfo(ours), torch.finfo(theirs)
        assert (a.eps, a.max, a.bits, a.dtype) == (b.eps, b.max, b.bits, str(b.dtype))
    assert gt.ones(2).cfloat().dtype is gt.complex64 and gt.ones(2).cdouble().dtype is gt.cdouble
    assert z.element_size() == 8 and gt.tensor([1j], dtype=gt.cdouble).element_size() == 16
