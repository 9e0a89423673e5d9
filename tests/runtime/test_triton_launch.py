"""The thin launcher (runtime/triton/thin_launch.py) with a stand-in for Triton's compiled
kernel: which calls take Triton's launch, which the precompiled one, with what arguments."""

from __future__ import annotations

import pytest
from test_triton import chain_graph

import graphtorch
from graphtorch.runtime.triton import run_fusion_group
from graphtorch.runtime.triton.launch import _KERNELS
from graphtorch.runtime.triton.rows import kernel_for, plan_launch
from graphtorch.runtime.triton.thin_launch import Launch, arg_key, int_class


class Ptr:
    def __init__(self, address: int):
        self.address = address

    def data_ptr(self) -> int:
        return self.address


class FakeCompiled:
    function = "fn-handle"
    packed_metadata = ("meta",)

    def __init__(self, log: list):
        self.log = log

    def run(self, *args):
        self.log.append(("thin", args))


class FakeJit:
    """``fn[grid](*args, **kw)`` as Triton's JITFunction: launches and returns the kernel."""

    def __init__(self, compiled_cls=FakeCompiled):
        self.log: list = []
        self.compiled_cls = compiled_cls

    def __getitem__(self, grid):
        def launch(*args, **kwargs):
            self.log.append(("triton", grid, args, kwargs))
            return self.compiled_cls(self.log)

        return launch


def _launch(fn, device=lambda: 0):
    return Launch(fn, "cuda", stream=lambda: 77, device=device)


def test_first_call_compiles_then_thin():
    fn = FakeJit()
    launch = _launch(fn)
    ptrs, ints = [Ptr(4096), Ptr(8192)], [1008, 7]
    launch((3,), ptrs, ints, {"BLOCK": 1024}, 4)
    launch((5,), ptrs, [2000, 7], {"BLOCK": 1024}, 4)
    assert [e[0] for e in fn.log] == ["triton", "thin"]
    assert fn.log[0][3] == {"BLOCK": 1024, "num_warps": 4}
    # grid padded to 3 dims, the current stream, the handles, no hooks, then every argument
    assert fn.log[1][1] == (5, 1, 1, 77, "fn-handle", ("meta",), None, None, None,
                            *ptrs, 2000, 7, 1024)
    assert launch.describe() == "1 thin / 1 Triton launches"


def test_specialization_key_follows_triton():
    assert int_class(1) != int_class(2) and int_class(16) != int_class(32 + 1)
    assert int_class(2**31) != int_class(2**31 - 1)
    aligned, odd = Ptr(64), Ptr(68)
    assert arg_key([aligned], []) != arg_key([odd], [])
    fn = FakeJit()
    launch = _launch(fn)
    for p, n in [(aligned, 32), (odd, 32), (aligned, 1), (aligned, 48), (odd, 33)]:
        launch((1,), [p], [n], {"BLOCK": 8}, 4)
    # 64 / 68 alignment, 1 (a constant to Triton), 32 and 48 (both multiples of 16): 4 keys
    assert [e[0] for e in fn.log] == ["triton", "triton", "triton", "thin", "triton"]


def test_constexprs_and_warps_are_part_of_the_key():
    fn = FakeJit()
    launch = _launch(fn)
    launch((1,), [Ptr(0)], [5], {"BLOCK": 8}, 4)
    launch((1,), [Ptr(0)], [5], {"BLOCK": 16}, 4)
    launch((1,), [Ptr(0)], [5], {"BLOCK": 16}, 8)
    assert [e[0] for e in fn.log] == ["triton"] * 3


def _profiler_hook(metadata) -> None:
    pass


class Bare:
    """A compiled kernel without the attributes the thin path calls (another Triton)."""

    def __init__(self, log):
        pass


def test_falls_back_to_tritons_launch(monkeypatch):
    fn = FakeJit(Bare)
    launch = _launch(fn)
    for _ in range(3):
        launch((1,), [Ptr(0)], [5], {"BLOCK": 8}, 4)
    assert [e[0] for e in fn.log] == ["triton"] * 3
    monkeypatch.setenv("GT_TRITON_THIN", "0")
    fn = FakeJit()
    launch = _launch(fn)
    for _ in range(2):
        launch((1,), [Ptr(0)], [5], {"BLOCK": 8}, 4)
    assert [e[0] for e in fn.log] == ["triton"] * 2


def test_a_launch_hook_keeps_tritons_launch(monkeypatch):
    knobs = pytest.importorskip("triton").knobs
    hook = knobs.runtime.launch_enter_hook
    if hasattr(hook, "add"):      # Triton 3.9: a chain of hooks
        monkeypatch.setattr(hook, "calls", [_profiler_hook])
    else:                         # Triton 3.6: one function or None
        monkeypatch.setattr(knobs.runtime, "launch_enter_hook", _profiler_hook)
    fn = FakeJit()
    launch = _launch(fn)
    for _ in range(2):
        launch((1,), [Ptr(0)], [5], {"BLOCK": 8}, 4)
    assert [e[0] for e in fn.log] == ["triton"] * 2


def test_another_device_compiles_again():
    fn = FakeJit()
    current = [0]
    launch = _launch(fn, device=lambda: current[0])
    for dev in (0, 0, 1, 1, 0):
        current[0] = dev
        launch((1,), [Ptr(0)], [5], {"BLOCK": 8}, 4)
    assert [e[0] for e in fn.log] == ["triton", "thin", "triton", "thin", "thin"]


def test_key_separates_what_triton_specializes_on():
    # the thin key must tell apart any two arguments that Triton's own specializer (the one
    # JITFunction.run consults) compiles differently, or a thin launch would reuse a kernel
    # compiled for the other case
    libtriton = pytest.importorskip("triton._C.libtriton")
    specialize = getattr(libtriton, "native_specialize_impl", None)
    if specialize is None:   # pragma: no cover - a Triton before the native specializer
        pytest.skip("this Triton has no native_specialize_impl to compare with")
    base = pytest.importorskip("triton.backends.compiler").BaseBackend

    def triton_view(arg):
        return specialize(base, arg, False, True, True)

    ints = [0, 1, 2, 15, 16, 17, 32, 1000, 1008, 2**31 - 16, 2**31 - 1, 2**31, 2**40, -1, -16]
    for a in ints:
        for b in ints:
            if arg_key([], [a]) == arg_key([], [b]):
                assert triton_view(a) == triton_view(b), (a, b)

    class Arg(Ptr):
        dtype = "float32"

    ptrs = [0, 8, 16, 64, 4096 + 4, 4096 + 16]
    for a in ptrs:
        for b in ptrs:
            if arg_key([Arg(a)], []) == arg_key([Arg(b)], []):
                assert triton_view(Arg(a)) == triton_view(Arg(b)), (a, b)


def test_parameters_out_of_order_keep_tritons_launch():
    fn = FakeJit()
    fn.arg_names = ["x", "BLOCK", "n"]    # a constexpr before a positional parameter
    launch = _launch(fn)
    for _ in range(2):
        launch((1,), [Ptr(0)], [5], {"BLOCK": 8}, 4)
    assert [e[0] for e in fn.log] == ["triton"] * 2
    fn = FakeJit()
    fn.arg_names = ["x", "n", "BLOCK"]
    launch = _launch(fn)
    for _ in range(2):
        launch((1,), [Ptr(0)], [5], {"BLOCK": 8}, 4)
    assert [e[0] for e in fn.log] == ["triton", "thin"]


def test_generated_kernels_take_their_arguments_in_launch_order(tmp_path, monkeypatch):
    monkeypatch.setenv("GT_CACHE_DIR", str(tmp_path))
    spec, _, consts, _ = plan_launch("layer_norm", (4, 100), "float32", "interpreter",
                                     weight=True, bias=True)
    rows = kernel_for(spec, "interpreter")
    assert Launch(rows.fn, "cuda")._in_order(4 + 3, consts)        # x y w b, rows n sx
    g = chain_graph("mul", "tanh", "add")
    x = graphtorch.randn(4, 3)
    run_fusion_group(g, [x.t(), 0.5])                                # strided, a float scalar
    (kernel,) = [k for k in _KERNELS.values() if k.path.startswith(str(tmp_path))]
    assert kernel.source.strided_args and kernel.source.float_args
    src = kernel.source
    n_positional = len(src.tensor_args) + len(src.out_dtypes) + 1 + len(src.int_args) + 1 \
        + 2 + 2 * len(src.strided_args)   # pointers, scalars buffer, ints, n, sizes, strides
    assert Launch(kernel.fn, "cuda")._in_order(n_positional, {"BLOCK": 1024})
