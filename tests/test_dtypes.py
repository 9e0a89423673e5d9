"""Type promotion against torch.result_type: every dtype pair, 0-dim tensors, Python scalars."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import graphtorch as gt
from graphtorch import dtypes
from graphtorch.errors import DTypeError

DTYPES = dtypes.ALL
SCALARS = (True, 3, 2.5, 1.5 - 2j)


def _torch_dtype(torch, d):
    return getattr(torch, d.name)


def _ours(d, zero_dim):
    return gt.ones(() if zero_dim else (2,), dtype=d)


def _theirs(torch, d, zero_dim):
    return torch.ones(() if zero_dim else (2,), dtype=_torch_dtype(torch, d))


def _mismatch(theirs, ours_fn) -> str | None:
    """None when graphtorch gives PyTorch's dtype; PyTorch's complex32 (chalf), which graphtorch
    lacks, must be refused with a DTypeError naming it."""
    if str(theirs) == "torch.complex32":
        try:
            got = ours_fn()
        except DTypeError as e:
            return None if "complex32" in str(e) else f"error without complex32: {e}"
        return f"{got} instead of a complex32 refusal"
    got = ours_fn()
    return None if str(theirs) == f"torch.{got.name}" else f"{got} vs {theirs}"


@pytest.mark.torch
@pytest.mark.parametrize("a,b", list(itertools.product(DTYPES, DTYPES)),
                         ids=lambda d: d.name)
def test_promote_types_matches_pytorch(a, b):
    import torch

    expected = torch.promote_types(_torch_dtype(torch, a), _torch_dtype(torch, b))
    assert str(expected) == f"torch.{dtypes.promote_types(a, b).name}"


@pytest.mark.torch
@pytest.mark.parametrize("za,zb", [(False, False), (False, True), (True, False), (True, True)])
def test_result_type_tensor_pairs_match_pytorch(za, zb):
    import torch

    bad = []
    for a, b in itertools.product(DTYPES, DTYPES):
        theirs = torch.result_type(_theirs(torch, a, za), _theirs(torch, b, zb))
        problem = _mismatch(theirs, lambda a=a, b=b: gt.result_type(_ours(a, za), _ours(b, zb)))
        if problem:
            bad.append(f"{a.name}{'(0-d)' if za else ''} , {b.name}{'(0-d)' if zb else ''}: "
                       f"{problem}")
    assert not bad, "\n".join(bad)


@pytest.mark.torch
@pytest.mark.parametrize("zero_dim", [False, True])
def test_result_type_tensor_and_python_scalar_match_pytorch(zero_dim):
    import torch

    bad = []
    for d, s in itertools.product(DTYPES, SCALARS):
        for ours, theirs in ((lambda d=d, s=s: gt.result_type(_ours(d, zero_dim), s),
                              torch.result_type(_theirs(torch, d, zero_dim), s)),
                             (lambda d=d, s=s: gt.result_type(s, _ours(d, zero_dim)),
                              torch.result_type(s, _theirs(torch, d, zero_dim)))):
            problem = _mismatch(theirs, ours)
            if problem:
                bad.append(f"{d.name} (0-d={zero_dim}) with {s!r}: {problem}")
    assert not bad, "\n".join(bad)


@pytest.mark.torch
def test_binary_op_result_dtypes_match_pytorch():
    """The dtype an op actually returns (add, mul, div, eq) follows the same table."""
    import torch

    bad = []
    for a, b in itertools.product(DTYPES, DTYPES):
        for name in ("add", "mul", "div", "eq", "maximum"):
            x, y = _ours(a, False), _ours(b, True)
            tx, ty = _theirs(torch, a, False), _theirs(torch, b, True)
            if name == "add" and a is dtypes.bool_ and b is dtypes.bool_:
                continue  # covered below: bool + bool is bool in both
            try:
                theirs = getattr(torch, name)(tx, ty).dtype
            except RuntimeError:  # maximum of complex tensors: refused by both
                with pytest.raises(DTypeError, match="not implemented for 'Complex|complex32"):
                    getattr(gt, name)(x, y)
                continue
            if str(torch.result_type(tx, ty)) == "torch.complex32":
                theirs = "torch.complex32"  # computed in complex32 (eq's result is bool)
            problem = _mismatch(theirs, lambda f=getattr(gt, name), x=x, y=y: f(x, y).dtype)
            if problem:
                bad.append(f"{name}({a.name}, {b.name} 0-d): {problem}")
    assert not bad, "\n".join(bad)
    assert gt.add(gt.ones(2, dtype=gt.bool), gt.ones(2, dtype=gt.bool)).dtype is gt.bool


@pytest.mark.torch
def test_promotion_follows_default_dtype():
    import torch

    prev = gt.get_default_dtype()
    try:
        for d in (gt.float64, gt.float32):
            gt.set_default_dtype(d)
            torch.set_default_dtype(_torch_dtype(torch, d))
            assert (gt.ones(2, dtype=gt.int64) * 2.5).dtype is d
            assert str((torch.ones(2, dtype=torch.int64) * 2.5).dtype) == f"torch.{d.name}"
            assert gt.tensor([1.5]).dtype is d
    finally:
        gt.set_default_dtype(prev)
        torch.set_default_dtype(torch.float32)


def test_as_dtype_accepts_names_numpy_and_python_types():
    assert dtypes.as_dtype("float64") is gt.float64
    assert dtypes.as_dtype(np.int32) is gt.int32
    assert dtypes.as_dtype(np.dtype("uint8")) is gt.uint8
    assert dtypes.as_dtype(bool) is gt.bool
    assert dtypes.as_dtype(int) is gt.int64
    assert dtypes.as_dtype(float) is gt.get_default_dtype()


def test_dtype_errors():
    with pytest.raises(DTypeError, match="unknown dtype name 'float128'"):
        dtypes.from_name("float128")
    with pytest.raises(DTypeError, match="has no graphtorch equivalent"):
        dtypes.from_numpy(np.dtype("datetime64[s]"))
    with pytest.raises(DTypeError, match="only supports floating point"):
        gt.set_default_dtype(gt.int32)


def test_dtype_properties_and_aliases():
    assert gt.float is gt.float32 and gt.double is gt.float64 and gt.half is gt.float16
    assert gt.long is gt.int64 and gt.int is gt.int32 and gt.short is gt.int16
    assert repr(gt.float32) == "graphtorch.float32"
    assert gt.float16.is_floating_point and not gt.int8.is_floating_point
    assert gt.int8.is_signed and not gt.uint8.is_signed and gt.float32.itemsize == 4


@pytest.mark.torch
def test_can_cast_matches_pytorch():
    import torch

    for a, b in itertools.product(DTYPES, DTYPES):
        expected = torch.can_cast(_torch_dtype(torch, a), _torch_dtype(torch, b))
        assert gt.can_cast(a, b) == expected, (a, b)
