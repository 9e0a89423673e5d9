"""The generated kernels compile for a GPU without one: Triton's own compiler (its bundled ptxas)
builds them for Hopper (sm_90) here, as a lent H100/H200 would at its first launch. Row kernels
in every storage dtype, persistent and looped, and fusion-group kernels of each access kind;
``benchmarks``-free, no launch. (Run once over the whole registry matrix: all 364 distinct
fusion kernels and all 56 row kernel variants compiled.)"""

from __future__ import annotations

import pytest
from test_triton import chain_graph

import graphtorch
from graphtorch import dtypes
from graphtorch.ops.meta import broadcast_shapes
from graphtorch.runtime.triton import launch, source_cache
from graphtorch.runtime.triton.expr_emit import storage_tl
from graphtorch.runtime.triton.row_source import OPS, RowSpec, generate

triton = pytest.importorskip("triton")
compiler = pytest.importorskip("triton.compiler")
backends = pytest.importorskip("triton.backends.compiler")

HOPPER = backends.GPUTarget("cuda", 90, 32)
PTR = {"tl.float16": "*fp16", "tl.bfloat16": "*bf16", "tl.float32": "*fp32",
       "tl.float64": "*fp64", "tl.uint8": "*u8", "tl.int8": "*i8", "tl.int16": "*i16",
       "tl.int32": "*i32", "tl.int64": "*i64"}


@pytest.fixture(autouse=True)
def _cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("GT_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "triton_compile"))
    monkeypatch.setenv("TRITON_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "triton_bin"))
    monkeypatch.setenv("TRITON_DEFAULT_FP_FUSION", "1")


def compile_for_hopper(fn, signature: dict, constexprs: dict, num_warps: int,
                       divisible: tuple = ()):
    """``fn`` built for sm_90; ``divisible``: the parameters a launch would find 16-divisible
    (pointers of fresh allocations, sizes like 8192), as Triton's specialization marks them."""
    attrs = {(fn.arg_names.index(a),): [["tt.divisibility", 16]] for a in divisible}
    src = compiler.ASTSource(fn, signature, constexprs=constexprs, attrs=attrs)
    try:
        return triton.compile(src, target=HOPPER, options={"num_warps": num_warps})
    except FileNotFoundError as e:   # pragma: no cover - a Triton wheel without ptxas
        pytest.skip(f"Triton's CUDA toolchain is not installed here: {e}")


def _row(op: str, dtype: str, persistent: bool):
    spec = RowSpec(op, dtype, persistent, weight=op in ("layer_norm", "rms_norm"),
                   bias=op == "layer_norm")
    path = source_cache.write_source(f"compile_{spec.name()}", generate(spec))
    fn = getattr(source_cache.load_module(path, triton.jit, "compile-check"), spec.name())
    ptr = PTR["tl.bfloat16" if dtype == "bfloat16" else f"tl.{dtype}"]
    sig = {"x": ptr, "y": ptr} | ({"w": ptr} if spec.weight else {}) \
        | ({"b": ptr} if spec.bias else {}) | {"rows": "i32", "n": "i32", "sx": "i32"}
    # an 8192-column matrix: every pointer, n and the row stride divisible by 16
    divisible = tuple(k for k, v in sig.items() if v.startswith("*")) + ("n", "sx")
    if persistent:
        block = 4096 if dtype == "float64" else 8192
        sig |= {"BLOCK_R": "constexpr", "BLOCK_N": "constexpr"}
        return compile_for_hopper(fn, sig, {"BLOCK_R": 1, "BLOCK_N": block}, 16, divisible)
    sig |= {"BLOCK_N": "constexpr", "N_CHUNKS": "constexpr"}
    return compile_for_hopper(fn, sig, {"BLOCK_N": 2048, "N_CHUNKS": 25}, 8, divisible)


ROW_CASES = [(op, "float32", True) for op in OPS] + [(op, "bfloat16", False) for op in OPS] \
    + [(op, dt, p) for op in ("softmax", "layer_norm") for dt in ("float16", "float64")
       for p in (True, False)]


@pytest.mark.parametrize("op,dtype,persistent", ROW_CASES)
def test_row_kernel_compiles_for_hopper(op, dtype, persistent):
    kernel = _row(op, dtype, persistent)
    assert "cubin" in kernel.asm and kernel.asm["ptx"].count(".entry") == 1
    if persistent and dtype == "float32" and op == "softmax":
        # one read and one write of the row: 128-bit vector loads of the 8192 fp32 values
        assert "ld.global.v4" in kernel.asm["ptx"] and kernel.metadata.num_warps == 16


def _fusion_kernels(g, inputs):
    """(kernel, layout, values) of each launch ``run_fusion_group`` would make for ``inputs``
    on a GPU (its planning steps, without a launch)."""
    # NOTE: launch's private planning steps: the public entry point launches
    info = launch._info(g)
    values, _, _ = launch._unwrap(inputs)
    shapes = [tuple(broadcast_shapes(*[tuple(values[i].shape) for i in dep
                                        if hasattr(values[i], "shape")])) for dep in info.deps]
    found = []
    for shape in dict.fromkeys(shapes):
        outs = tuple(j for j, s in enumerate(shapes) if s == shape)
        used = frozenset().union(*(info.deps[j] for j in outs))
        layout, _, kernel = launch._plan(g, values, used, shape, outs, "cuda")
        found.append((kernel, layout, values))
    return found


def _fusion_signature(kernel, layout, values) -> dict:
    src = kernel.source
    sig = {f"in{i}": PTR[storage_tl(dtypes.from_numpy(values[i].dtype))]
           for i in src.tensor_args}
    sig |= {f"out{j}": PTR[storage_tl(dt)] for j, dt in enumerate(src.out_dtypes)}
    if src.float_args:
        sig["scalars"] = "*fp64"
    sig |= {f"s{i}": "i64" for i in src.int_args}
    index = "i64" if layout.wide_index else "i32"
    sig["n"] = index
    if src.strided_args:
        sig |= {f"size{d}": index for d in range(len(layout.sizes))}
        sig |= {f"st{i}_{d}": index for i in src.strided_args for d in range(len(layout.sizes))}
    return sig | {"BLOCK": "constexpr"}


FUSION_CASES = {
    "contiguous float32": (("mul", "tanh", "add"), lambda: [graphtorch.randn(64),
                                                            graphtorch.randn(64)]),
    "strided + scalar": (("mul", "tanh", "add"), lambda: [graphtorch.randn(8, 6).t(),
                                                          graphtorch.tensor(0.5)]),
    "float16 broadcast": (("mul", "sigmoid", "sub"),
                          lambda: [graphtorch.randn(4, 1, 5).half(),
                                   graphtorch.randn(3, 1).half()]),
    "float64": (("add", "exp", "mul"), lambda: [graphtorch.randn(9, dtype=dtypes.float64),
                                                graphtorch.randn(9, dtype=dtypes.float64)]),
    "int64": (("add", "mul", "sub"), lambda: [graphtorch.arange(10), graphtorch.arange(10)]),
}


@pytest.mark.parametrize("case", list(FUSION_CASES))
def test_fusion_kernel_compiles_for_hopper(case):
    ops, make = FUSION_CASES[case]
    g = chain_graph(*ops)
    kernels = _fusion_kernels(g, make())
    assert kernels
    for kernel, layout, values in kernels:
        sig = _fusion_signature(kernel, layout, values)
        # fresh allocations and a size divisible by 16, as a large launch finds them
        divisible = tuple(k for k, v in sig.items() if v.startswith("*")) + ("n",)
        compiled = compile_for_hopper(kernel.fn, sig, {"BLOCK": 1024}, 4, divisible)
        assert "cubin" in compiled.asm
        if case == "contiguous float32":   # 128-bit loads and stores: bandwidth-bound code
            ptx = compiled.asm["ptx"]
            assert "ld.global.v4" in ptx and "st.global.v4" in ptx


def test_float_scalar_kernel_reads_the_float64_buffer():
    g = chain_graph("mul", "tanh", "add")
    x = graphtorch.randn(16)
    (kernel, layout, values), = _fusion_kernels(g, [x, 0.25])
    assert kernel.source.float_args == (1,)
    compiled = compile_for_hopper(kernel.fn, _fusion_signature(kernel, layout, values),
                                  {"BLOCK": 1024}, 4)
    assert "ld.global.b64" in compiled.asm["ptx"] or "ld.global.f64" in compiled.asm["ptx"]
