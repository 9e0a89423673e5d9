"""The Triton backend on an NVIDIA GPU (CuPy arrays, the CuPy-backed driver, no torch): the
elementwise matrix, row kernels, the compiled plan on CUDA tensors, thin launches, CUDA graphs.

Skipped without CUDA. Written without pytest fixtures so that scripts/gpu_check.sh can also run
them with a plain Python loop (the registry matrix through ``check_registry_op``).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from test_triton import chain_graph, lowered_ops, reference, sample_graph, samples_of
from test_triton_plan import model as plan_model
from test_triton_registry import _non_default
from test_triton_rows import BF16
from test_triton_rows import DTYPES as ROW_DTYPES
from test_triton_rows import TOL as ROW_TOL
from test_triton_rows import _inputs as row_inputs
from test_triton_rows import reference as row_reference

import graphtorch
from graphtorch import dtypes
from graphtorch.runtime.executor import explain_plans, plans_of
from graphtorch.runtime.triton import cuda_graph, device_plan, run_fusion_group
from graphtorch.runtime.triton import launch as launch_module
from graphtorch.runtime.triton.row_source import OPS as ROW_OPS_ALL
from graphtorch.runtime.triton.rows import run_rows

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


def check_registry_op(name: str) -> None:
    """``name``'s samples, one-op and chained, on the GPU vs the reference interpreter."""
    for chained in (False, True):
        for sample in samples_of(name):
            if _non_default(name, sample):
                continue
            g, inputs = sample_graph(name, sample, chained)
            _compare(g, inputs)


# NOTE: one case per op, so that pytest-xdist spreads the ~270 kernel compilations
@pytest.mark.parametrize("name", lowered_ops())
def test_registry_op_on_gpu_matches_the_reference_interpreter(name):
    check_registry_op(name)


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


# --- row kernels, the device plan, thin launches, CUDA graphs (issue 15) ------------------------
def _device(a, dt):
    import cupy  # NOTE: GPU tests only; the module must import without CuPy (skipped there)

    return cupy.asarray(a.view(np.uint16) if dt == BF16 else a)


def _host(a, dt):
    import cupy  # NOTE: as in _device

    h = cupy.asnumpy(a)
    return h.view(BF16) if dt == BF16 else h


def test_row_kernels_on_gpu():
    rng = np.random.default_rng(0)
    shapes = [((5, 37), None), ((3, 100), 16), ((64, 8192), None), ((2, 20000), None)]
    for dt in ROW_DTYPES:
        name = "bfloat16" if dt == BF16 else None   # CuPy has no bfloat16: uint16 bits
        for op in ROW_OPS_ALL:
            for shape, max_block in shapes:
                x, w, b = row_inputs(op, shape, dt, rng)
                args = [_device(t, dt) if t is not None else None for t in (x, w, b)]
                got = run_rows(op, *args, dtype=name, max_block=max_block)
                want = row_reference(op, x, w, b)
                tol = max(ROW_TOL[dt.name], 1e-4)
                np.testing.assert_allclose(_host(got, dt).astype(np.float64), want,
                                           rtol=tol, atol=tol, err_msg=f"{op} {dt} {shape}")


def test_compiled_plan_on_gpu_picks_triton_kernels():
    scripted = graphtorch.jit.script(plan_model)
    x, w, b = graphtorch.randn(6, 300), graphtorch.randn(300), graphtorch.randn(300)
    with graphtorch.no_grad():
        want = plan_model(x, w, b)
        for _ in range(3):
            got = scripted(_cuda(x), _cuda(w), _cuda(b))
    for a, r in zip(got, want):
        assert a.device.type == "cuda"
        np.testing.assert_allclose(a.cpu().numpy(), r.numpy(), rtol=1e-4, atol=1e-4)
    text = explain_plans(scripted)
    assert "[triton] fusion group" in text and "[triton] softmax (row kernel)" in text


def test_thin_launches_on_gpu():
    g = chain_graph("mul", "tanh", "add")
    for n in (1000, 1000, 4096, 1000, 3):
        x, y = graphtorch.randn(n), graphtorch.randn(n)
        _compare(g, [x, y])
    kernels = [k for k in launch_module._KERNELS.values() if k.launch.backend == "cuda"]
    assert any(k.launch.thin_calls for k in kernels), [k.launch.describe() for k in kernels]


def test_cuda_graph_capture_and_replay_on_gpu():
    def chain(x):
        for i in range(25):
            x = graphtorch.sin(x * 1.001 + 0.001 * i) - x * 0.5
        return x

    device_plan.set_cuda_graphs(True)
    try:
        t = graphtorch.randn(32, 32)
        traced = graphtorch.jit.trace(chain, (t,))
        with graphtorch.no_grad():
            for _ in range(4):
                t = graphtorch.randn(32, 32)
                got = traced(_cuda(t))
                np.testing.assert_allclose(got.cpu().numpy(), chain(t).numpy(), rtol=1e-4,
                                           atol=1e-5)
            t = graphtorch.randn(8, 3)       # another shape: captured again
            np.testing.assert_allclose(traced(_cuda(t)).cpu().numpy(), chain(t).numpy(),
                                       rtol=1e-4, atol=1e-5)
    finally:
        device_plan.set_cuda_graphs(False)
    runners = [p.runner for p in plans_of(traced).plans.values()]
    graphed = [r for r in runners if isinstance(r, cuda_graph.GraphedCall)]
    assert graphed and graphed[0].why is None, [r.explain() for r in graphed]
    assert graphed[0].captures == 2 and graphed[0].replays >= 3, graphed[0].explain()
