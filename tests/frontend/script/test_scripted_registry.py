"""The registry matrix's "scripted" column: for every op's float32 samples, a small function that
calls the op -- through ``graphtorch.<name>``, else the Tensor method, else the registry entry --
with its non-tensor arguments written as constants, scripted from source, equals eager."""

from __future__ import annotations

import linecache
import math

import numpy as np
import pytest

import graphtorch as gt
from graphtorch.frontend.script import script_function
from graphtorch.ops.registry import REGISTRY
from tests.ops.registry_matrix import case_id, graph_cases, outputs

CASES = graph_cases()


class _Source:
    """Writes one call expression: tensors become parameters, other values constants."""

    def __init__(self):
        self.params: list[str] = []
        self.tensors: list = []
        self.globals: dict[str, object] = {"graphtorch": gt}

    def value(self, v) -> str:
        if isinstance(v, gt.Tensor):
            name = f"t{len(self.tensors)}"
            self.params.append(name)
            self.tensors.append(v)
            return name
        if v is None or isinstance(v, (bool, int, str)) or \
                isinstance(v, float) and math.isfinite(v):
            return repr(v)
        if isinstance(v, list):
            return "[" + ", ".join(self.value(x) for x in v) + "]"
        if isinstance(v, tuple):
            inner = ", ".join(self.value(x) for x in v)
            return f"({inner},)" if len(v) == 1 else f"({inner})"
        name = f"C{len(self.globals)}"     # dtypes, devices, inf: module-level constants
        self.globals[name] = v
        return name


def _callee(name: str, args) -> tuple[str, bool]:
    """(how the source calls the op, whether the first argument is the receiver)."""
    fn = getattr(gt, name, None)
    if callable(fn) and not isinstance(fn, type):
        return f"graphtorch.{name}", False
    if args and isinstance(args[0], gt.Tensor) and callable(getattr(gt.Tensor, name, None)):
        return name, True
    return "OP", False


def _scripted(name: str, sample):
    src = _Source()
    callee, method = _callee(name, sample.args)
    parts = [src.value(a) for a in sample.args]
    parts += [f"{k}={src.value(v)}" for k, v in sample.kwargs.items()]
    if method:
        call = f"{parts[0]}.{callee}({', '.join(parts[1:])})"
    else:
        call = f"{callee}({', '.join(parts)})"
    src.globals["OP"] = REGISTRY[name]
    text = f"def f({', '.join(src.params)}):\n    return {call}\n"
    filename = f"<scripted-matrix {name}>"
    linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)
    exec(compile(text, filename, "exec"), src.globals)
    return script_function(src.globals["f"]), src.tensors, text


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_scripted_op_matches_eager(case):
    name, _, _, sample = case
    op = REGISTRY[name]
    sf, tensors, text = _scripted(name, sample)
    assert f"op::{name}" in str(sf.graph), (text, str(sf.graph))
    want = outputs(op(*sample.args, **sample.kwargs))
    got = outputs(sf(*tensors))
    assert len(want) == len(got), text
    for a, b in zip(got, want):
        assert a.dtype is b.dtype and tuple(a.shape) == tuple(b.shape), text
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-6, atol=1e-6,
                                   err_msg=text)
