"""Layout flags PyTorch code reads (is_sparse, is_mkldnn, is_quantized ...): False in eager and
in script (graphtorch tensors are dense, strided and unquantized)."""

from __future__ import annotations

import graphtorch as gt
from graphtorch import Tensor

FLAGS = ("is_sparse", "is_sparse_csr", "is_mkldnn", "is_quantized", "is_meta")


def _flags(x: Tensor):
    return x.is_sparse, x.is_sparse_csr, x.is_mkldnn, x.is_quantized, x.is_meta, x.is_cuda


def test_flags_in_eager_and_script():
    x = gt.rand(3, 4)
    assert [getattr(x, f) for f in FLAGS] == [False] * len(FLAGS)
    assert gt.jit.script(_flags)(x) == _flags(x) == (False,) * 6


def _sizes(x: Tensor):
    return x.element_size(), x.is_complex(), x.is_floating_point()


def test_element_size_and_is_complex_in_script():
    scripted = gt.jit.script(_sizes)
    for x in (gt.rand(2), gt.ones(2, dtype=gt.int16), gt.tensor([1j], dtype=gt.cdouble)):
        assert scripted(x) == _sizes(x)
    assert scripted(gt.tensor([1j], dtype=gt.cdouble)) == (16, True, False)
