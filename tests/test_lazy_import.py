"""`import graphtorch` loads the eager core only; heavy subpackages load on first attribute use."""

import subprocess
import sys

import pytest

import graphtorch

# Public submodules and functions that must stay reachable as `graphtorch.X` and importable as
# `from graphtorch import X`, whether they load eagerly or lazily.
PUBLIC = ["nn", "optim", "jit", "distributed", "utils", "testing", "serialization", "profiler",
          "accelerator", "futures", "linalg", "autograd", "errors", "ir", "passes", "runtime",
          "frontend", "checkpoint", "load", "save", "tensor", "Tensor", "zeros", "einsum",
          "no_grad", "manual_seed", "cuda", "float32", "LongTensor", "unique", "cdist", "cummax"]


def _fresh(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, timeout=120)
    return done.stdout.strip()


@pytest.mark.parametrize("name", PUBLIC)
def test_public_name_reachable(name):
    value = getattr(graphtorch, name)
    assert value is not None
    assert name in dir(graphtorch)


def test_from_import_in_a_fresh_interpreter():
    names = ", ".join(PUBLIC)
    out = _fresh(f"from graphtorch import {names}; "
                 f"print(' '.join(type(v).__name__ for v in ({names},)))")
    assert out.split() == [type(getattr(graphtorch, n)).__name__ for n in PUBLIC]


def test_import_ir_leaves_heavy_packages_unloaded():
    loaded = _fresh("import sys, graphtorch.ir; "
                    "print(' '.join(m for m in sys.modules if m.startswith('graphtorch')))")
    mods = set(loaded.split())
    assert "graphtorch.ir" in mods
    for heavy in ("graphtorch.nn", "graphtorch.jit", "graphtorch.frontend", "graphtorch.optim",
                  "graphtorch.runtime", "graphtorch.distributed"):
        assert heavy not in mods, f"import graphtorch.ir loaded {heavy}"


def test_lazy_submodule_is_the_real_module():
    assert graphtorch.nn is sys.modules["graphtorch.nn"]
    assert graphtorch.load is sys.modules["graphtorch.checkpoint"].load


def test_unknown_attribute_raises_attribute_error():
    with pytest.raises(AttributeError, match="no_such_name"):
        graphtorch.no_such_name  # noqa: B018 - the attribute access is the test


def test_ir_knows_scalar_prim_kinds_without_the_script_compiler():
    out = _fresh("import sys, graphtorch.ir.kinds as k; "
                 "print('prim::floordiv' in k.EXTRA_PRIM_KINDS, "
                 "'graphtorch.frontend' in sys.modules)")
    assert out == "True False"
