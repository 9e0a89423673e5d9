"""The Triton backend on an NVIDIA GPU (CuPy arrays, the CuPy-backed driver, no torch).

Skipped without CUDA. Written without pytest fixtures or parametrization so that
scripts/gpu_check.sh can also run these functions with a plain Python loop.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from test_triton import chain_graph, lowered_ops, reference, sample_graph, samples_of
from test_triton_registry import _non_default

import graphtorch
from graphtorch import dtypes
from graphtorch.runtime.triton import run_fusion_group

# NOTE: GPU math (approximate exp/log/div in float32) differs from numpy by a few ulp more
GPU_RTOL, GPU_ATOL = 1e-4, 1e-5

pytestmark = pytest.mark.gpu


def _cuda(x):
    return x.to("cuda") if hasattr(x, "to") else x


def _compare(g, inputs, rtol=GPU_RTOL, atol=GPU_ATOL) -> None:
    want = reference(g, inputs)
    got = run_fusion_group(g, [_cuda(x) for x in inputs])
    for a, b in zip(got, want):
        assert a.device.type == "cuda"
        a = a.cpu().numpy()
        assert a.dtype == b.dtype and a.shape == b.shape
        if b.dtype.kind in "biu":
            np.testing.assert_array_equal(a, b)
        else:
            np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, equal_nan=True)


def test_registry_ops_on_gpu_match_the_reference_interpreter():
    for name in lowered_ops():
        for chained in (False, True):
            for sample in samples_of(name):
                if _non_default(name, sample):
                    continue
                g, inputs = sample_graph(name, sample, chained)
                _compare(g, inputs)


def test_strided_broadcast_float16_and_large_inputs_on_gpu():
    g = chain_graph("mul", "tanh", "add")
    base = graphtorch.randn(64, 96)
    _compare(g, [base.t(), graphtorch.randn(64)])                           # transposed
    _compare(g, [graphtorch.randn(8, 1, 5).half(), graphtorch.randn(7, 1).half()],
             rtol=2e-3, atol=1e-3)
    _compare(g, [graphtorch.randn(3_000_001), graphtorch.tensor(0.5)])     # many programs
    f64 = [graphtorch.randn(5, dtype=dtypes.float64), graphtorch.randn(5, dtype=dtypes.float64)]
    _compare(g, f64, rtol=1e-12, atol=1e-14)


def test_gpu_launch_never_imports_torch():
    # NOTE: a fresh interpreter: other tests of this session may have imported torch already
    code = ("import sys; import graphtorch\n"
            "from graphtorch.runtime.triton import run_fusion_group\n"
            "from test_triton import chain_graph\n"
            "out = run_fusion_group(chain_graph('sin', n_inputs=1),"
            " [graphtorch.randn(10).to('cuda')])\n"
            "assert out[0].device.type == 'cuda'\n"
            "assert 'torch' not in sys.modules, 'a GPU launch imported torch'\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parent,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
