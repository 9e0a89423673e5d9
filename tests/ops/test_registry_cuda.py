"""The registry matrix's "cuda" column: every registry op's float32 samples (random and
uninitialized ops left out) on CuPy tensors equal the same call on CPU tensors within tolerance,
results on the GPU. Needs an NVIDIA GPU with CuPy (marker ``gpu``; skipped with that reason
elsewhere); ``scripts/gpu_check.sh`` runs it on a lent GPU."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt
from graphtorch.ops.registry import REGISTRY

from .registry_matrix import case_id, graph_cases, outputs

CASES = graph_cases()
# GPU float32 math (exp, log, division, reductions in another order) is a few ulp from numpy
RTOL, ATOL = 1e-4, 1e-5


def to_cuda(x):
    """``x`` with every Tensor in it copied to the GPU (lists, tuples and dict values too)."""
    if isinstance(x, gt.Tensor):
        return x.detach().to("cuda").requires_grad_(x.requires_grad)
    if isinstance(x, (list, tuple)):
        return type(x)(to_cuda(v) for v in x)
    if isinstance(x, dict):
        return {k: to_cuda(v) for k, v in x.items()}
    return x


@pytest.mark.gpu
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_cuda_matches_cpu(case):
    name, _, _, sample = case
    op = REGISTRY[name]
    args, kwargs = to_cuda(list(sample.args)), to_cuda(dict(sample.kwargs))
    try:
        want = outputs(op(*sample.args, **sample.kwargs))
    except Exception as e:  # noqa: BLE001 - then the GPU call must fail the same way
        with pytest.raises(type(e)):
            op(*args, **kwargs)
        return
    got = outputs(op(*args, **kwargs))
    assert len(got) == len(want), name
    for a, b in zip(got, want):
        if not isinstance(b, gt.Tensor):
            assert a == b, f"{name}: {a!r} vs {b!r}"
            continue
        assert a.device.type == "cuda", f"{name}: result on {a.device}"
        assert a.dtype is b.dtype and tuple(a.shape) == tuple(b.shape), \
            f"{name}: {a.dtype}{list(a.shape)} vs {b.dtype}{list(b.shape)}"
        ga, gb = a.detach().cpu().numpy(), b.detach().numpy()
        if gb.dtype.kind in "biu":
            np.testing.assert_array_equal(ga, gb, err_msg=name)
        else:
            np.testing.assert_allclose(ga, gb, rtol=RTOL, atol=ATOL, equal_nan=True,
                                       err_msg=name)


def test_cuda_column_covers_the_registry():
    names = {c[0] for c in CASES}
    assert {"add", "matmul", "softmax", "sum", "conv2d", "layer_norm"} <= names
    assert len(names) > 200, len(names)
