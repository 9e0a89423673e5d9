"""Triton backend: layouts, dtypes, caching, errors; helpers shared by the other Triton tests."""

from __future__ import annotations

import numpy as np

from graphtorch import dtypes
from graphtorch.ir.graph import Graph
from graphtorch.ir.types import TensorType
from graphtorch.ops.lowering import args_used, lowering_of
from graphtorch.ops.registry import REGISTRY, OpKind
from graphtorch.runtime.interpreter import Interpreter
from graphtorch.tensor import Tensor

T = TensorType()


def lowered_ops() -> list[str]:
    return sorted(n for n, op in REGISTRY.items()
                  if op.kind is OpKind.ELEMENTWISE and isinstance(op.lowering, str))


def samples_of(name: str) -> list:
    """The op's float32 samples (int64 ones for integer-only ops such as bitwise_and)."""
    op = REGISTRY[name]
    return list(op.samples(dtypes.float32)) or list(op.samples(dtypes.int64))


def sample_graph(name: str, sample, chained: bool = False) -> tuple[Graph, list]:
    """``op(sample)`` as a subgraph; ``chained``: followed by two more ops reading the result,
    with the sample's Python numbers as subgraph inputs instead of constants."""
    op = REGISTRY[name]
    vals = op.binder.bind(sample.args, sample.kwargs)
    read = args_used(lowering_of(op))
    g, inputs, args = Graph(), [], []
    for i, v in enumerate(vals):
        runtime_scalar = (chained and i in read and isinstance(v, (int, float))
                          and not isinstance(v, bool))
        if isinstance(v, Tensor) or runtime_scalar:
            args.append(g.add_input(f"a{i}"))
            inputs.append(v)
        else:
            args.append(g.constant(v))
    y = g.emit(f"op::{name}", args, [T]).output
    if chained:
        first = next(a for a, v in zip(args, vals) if isinstance(v, Tensor))
        if _is_bool_result(op, vals):
            z = g.emit("op::logical_not", [y], [T]).output
            w = g.emit("op::logical_xor", [z, first], [T]).output
        else:
            z = g.emit("op::mul", [y, g.constant(2.0)], [T]).output
            w = g.emit("op::add", [z, first, g.constant(1)], [T]).output
        g.set_outputs([w, y])
    else:
        g.set_outputs([y])
    return g, inputs


def _is_bool_result(op, vals) -> bool:
    npos, names = op.binder.n_positional, op.binder.names
    kwargs = {names[i]: vals[i] for i in range(npos, len(vals))}
    return op(*vals[:npos], **kwargs).dtype is dtypes.bool_


def reference(g: Graph, inputs: list) -> list:
    return [t.numpy() for t in Interpreter().run(g, list(inputs))]


def assert_close(got, want, rtol=2e-5, atol=2e-6) -> None:
    got = got.numpy() if isinstance(got, Tensor) else np.asarray(got)
    assert got.dtype == want.dtype, (got.dtype, want.dtype)
    assert got.shape == want.shape, (got.shape, want.shape)
    if want.dtype == np.bool_ or want.dtype.kind in "iu":
        np.testing.assert_array_equal(got, want)
    else:
        np.testing.assert_allclose(got, want, rtol=rtol, atol=atol, equal_nan=True)
