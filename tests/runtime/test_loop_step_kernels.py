"""The per-step kernels of a scripted RNN loop: ``xs[t]`` (ops/indexing.py's one-int path) and
``chunk`` (plan_kernels.chunk_views' direct slices) give the same views as the general paths."""

from __future__ import annotations

import numpy as np
import pytest

from graphtorch.ops.indexing import numpy_key
from graphtorch.ops.registry import REGISTRY
from graphtorch.ops.shape_ops import _chunk_size, _split
from graphtorch.runtime.plan_kernels import chunk_views

INDEX = REGISTRY["index"].kernel
SHAPES = [(5,), (3, 7), (2, 0, 3), (4, 1), (7, 3, 2), (0, 4)]


def same_view(got, want, base):
    assert type(got) is type(want) is np.ndarray
    assert got.shape == want.shape and got.strides == want.strides
    assert np.shares_memory(got, base) == np.shares_memory(want, base)
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("shape", SHAPES)
def test_one_int_index_is_the_general_paths_view(shape):
    x = np.arange(int(np.prod(shape)), dtype=np.float32).reshape(shape)
    for i in range(-shape[0] - 2, shape[0] + 2):
        key = (("int", i),)
        if -shape[0] <= i < shape[0]:
            view, k2 = numpy_key(x, key, [])
            same_view(INDEX(np, x, key, []), view[k2], x)
        else:
            with pytest.raises(IndexError, match=f"index {i} is out of bounds for dimension 0"):
                INDEX(np, x, key, [])


@pytest.mark.parametrize("shape", SHAPES)
def test_chunk_views_are_the_split_views(shape):
    x = np.arange(int(np.prod(shape)), dtype=np.float32).reshape(shape)
    for chunks in (1, 2, 3, 4, 9):
        for d in range(-x.ndim, x.ndim):
            got = chunk_views(np, x, chunks, d)
            want = _split(np, x, _chunk_size(x.shape[d], chunks), d)
            assert len(got) == len(want)
            for g, w in zip(got, want):
                same_view(g, w, x)


def test_chunk_views_keep_the_errors():
    x = np.zeros((3, 4), np.float32)
    with pytest.raises(RuntimeError, match="chunk expects `chunks` to be greater than 0"):
        chunk_views(np, x, 0, 1)
    with pytest.raises(IndexError):
        chunk_views(np, x, 2, 2)
