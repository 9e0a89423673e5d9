"""Shared machinery of the registry test matrix: sample iteration and reference calls."""

from __future__ import annotations

import warnings

import numpy as np

import graphtorch as gt
from graphtorch import dtypes
from graphtorch.ops.registry import REGISTRY, OpKind

MATRIX_DTYPES = (dtypes.float32, dtypes.float64, dtypes.int64)


def op_samples(op, dtype):
    if op.samples is None:
        return []
    return list(op.samples(dtype))


def all_cases(dtypes_=MATRIX_DTYPES, kinds=None, differentiable_only=False):
    cases = []
    for name, op in sorted(REGISTRY.items()):
        if kinds is not None and op.kind not in kinds:
            continue
        if differentiable_only and (op.vjp is None or not op.differentiable):
            continue
        for dt in dtypes_:
            for i, s in enumerate(op_samples(op, dt)):
                cases.append((name, dt.name, i, s))
    return cases


def case_id(case) -> str:
    name, dt, i, s = case
    return f"{name}-{dt}-{s.name or i}"


def to_torch(x):
    import torch

    if isinstance(x, gt.Tensor):
        return torch.from_numpy(np.array(x.detach().numpy(), copy=True))
    if isinstance(x, dtypes.dtype):
        return getattr(torch, x.name)
    if isinstance(x, (list, tuple)):
        return type(x)(to_torch(v) for v in x)
    if isinstance(x, gt.device):
        return torch.device(str(x))
    return x


def torch_call(op, args, kwargs):
    import torch

    targs = [to_torch(a) for a in args]
    tkw = {k: to_torch(v) for k, v in kwargs.items()}
    if op.torch_ref is not None:
        return op.torch_ref(torch, *targs, **tkw)
    name = op.torch_name or op.name
    fn = getattr(torch, name, None)
    if fn is not None:
        return fn(*targs, **tkw)
    method = getattr(torch.Tensor, name, None)
    if method is not None:
        return method(*targs, **tkw)
    raise AssertionError(f"op {op.name!r} has no PyTorch counterpart named {name!r}; set "
                         "torch_name or torch_ref in its registry entry")


def outputs(x):
    return list(x) if isinstance(x, (tuple, list)) else [x]


NONDETERMINISTIC = (OpKind.RANDOM,)
UNINITIALIZED = ("empty", "empty_like")  # values are unspecified, as in PyTorch


def graph_cases() -> list:
    """The float32 samples of every op whose results are determined (not random, not
    uninitialized): the cases of the traced, O1 and save/load columns."""
    return [c for c in all_cases((dtypes.float32,))
            if REGISTRY[c[0]].kind is not OpKind.RANDOM and c[0] not in UNINITIALIZED]


def split_tensors(args):
    """Tensor arguments become graph inputs; everything else is a constant of the trace."""
    tensors = [a for a in args if isinstance(a, gt.Tensor)]

    def rebuild(ts):
        it = iter(ts)
        return [next(it) if isinstance(a, gt.Tensor) else a for a in args]

    return tensors, rebuild


def trace_case(case, qualname: str | None = None):
    """``(fn, traced, tensors)``: the case's op as a function of its tensor arguments, that
    function traced (non-strict, warnings silenced), and the tensors to call both with."""
    name, _, _, sample = case
    op = REGISTRY[name]
    tensors, rebuild = split_tensors(sample.args)
    kwargs = sample.kwargs

    def fn(*ts):
        return op(*rebuild(ts), **kwargs)

    if qualname is not None:
        fn.__qualname__ = qualname
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        traced = gt.jit.trace(fn, tuple(tensors), strict=False)
    return fn, traced, tensors


def assert_same_outputs(got, want, rtol: float = 1e-6) -> None:
    """Same number of outputs, each of the same dtype and shape and close in value."""
    got, want = outputs(got), outputs(want)
    assert len(want) == len(got)
    for a, b in zip(got, want):
        assert a.dtype is b.dtype and tuple(a.shape) == tuple(b.shape)
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=rtol, atol=1e-6)
