"""``graphtorch.jit.CompilationUnit``: functions compiled from source text (never run by Python),
calling each other in any order; names resolve to graphtorch (as ``torch``), the caller's names
and builtins. Results compared with Python running the same text and with torch.jit's
CompilationUnit; refusals are ScriptErrors with a caret."""

import numpy as np
import pytest

import graphtorch as gt
from graphtorch.errors import ScriptError

UNIT = '''
def double_relu(y):
    return shifted(y) * 2

def shifted(x):
    return torch.relu(x) + 1

def drop_second(x: List[int], k: int = -1) -> List[int]:
    del x[1]
    x.append(k)
    return x

def add_typed(a, b):
    # type: (int, float) -> float
    return a + b

def loop_sum(x, n: int):
    acc = torch.zeros_like(x)
    for i in range(n):
        if i % 2 == 0:
            acc = acc + shifted(x)
        else:
            acc = acc - x
    return acc
'''

CASES = [
    ("double_relu", lambda lib: (lib.tensor([-1.0, 2.0, 0.5]),)),
    ("shifted", lambda lib: (lib.tensor([[-3.0, 4.0]]),)),
    ("drop_second", lambda lib: ([1, 2, 3],)),
    ("drop_second", lambda lib: ([4, 5], 9)),
    ("add_typed", lambda lib: (2, 1.5)),
    ("loop_sum", lambda lib: (lib.tensor([1.0, -2.0]), 5)),
]


def _python(lib) -> dict:
    """The same text run by Python with ``lib`` as torch (the reference)."""
    scope = {"torch": lib, "List": list}
    exec(UNIT, scope)  # noqa: S102 - the reference semantics of the text
    return scope


def _plain(v):
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    return v.numpy() if hasattr(v, "numpy") else v


@pytest.mark.parametrize("name,make", CASES)
def test_unit_matches_python(name, make):
    cu = gt.jit.CompilationUnit(UNIT)
    expected = _python(gt)[name](*make(gt))
    got = getattr(cu, name)(*make(gt))
    np.testing.assert_allclose(np.asarray(_plain(got)), np.asarray(_plain(expected)))
    assert isinstance(getattr(cu, name), gt.jit.ScriptFunction)


@pytest.mark.parametrize("name,make", CASES)
def test_unit_matches_torch_jit(name, make):
    torch = pytest.importorskip("torch")
    ours = getattr(gt.jit.CompilationUnit(UNIT), name)(*make(gt))
    theirs = getattr(torch.jit.CompilationUnit(UNIT), name)(*make(torch))
    np.testing.assert_allclose(np.asarray(_plain(ours)), np.asarray(_plain(theirs)))


def test_define_adds_functions_and_calls_earlier_ones():
    cu = gt.jit.CompilationUnit()
    cu.define("def inc(n: int) -> int:\n    return n + 1\n")
    cu.define("def twice(n: int) -> int:\n    return inc(inc(n))\n")
    assert cu.twice(3) == 5
    assert cu.find_function("inc") is cu.inc
    assert cu.find_function("nope") is None
    assert {f.name for f in cu.get_functions()} == {cu.inc.name, cu.twice.name}


def test_names_resolve_to_the_callers_scope():
    scale = 3   # read by the text below, as TorchScript's resolution callback does

    cu = gt.jit.CompilationUnit("def f(x: int) -> int:\n    return x * scale + len([1, 2])\n")
    assert cu.f(2) == 2 * scale + 2


def test_a_rcb_resolves_names():
    cu = gt.jit.CompilationUnit()
    cu.define("def f(x: int) -> int:\n    return x + offset\n",
              rcb=lambda name: {"offset": 10}.get(name))
    assert cu.f(1) == 11


def test_the_unit_text_is_never_run_by_python(capsys):
    cu = gt.jit.CompilationUnit("def f(x):\n    print('ran')\n    return x\n")
    assert capsys.readouterr().out == ""
    t = gt.tensor([1.0])
    assert cu.f(t) is t or np.array_equal(cu.f(t).numpy(), t.numpy())


def _refused(text: str, *, message: str, line: int, caret_under: str):
    with pytest.raises(ScriptError) as info:
        gt.jit.CompilationUnit(text)
    err = info.value
    assert message in str(err)
    assert err.line == line
    assert err.source_line is not None and caret_under in err.source_line
    return err


def test_recursion_is_refused_at_the_call():
    _refused("def ok(x):\n    return x\n\ndef f(x):\n    return f(x)\n",
             message="recursive call of f", line=5, caret_under="f(x)")


def test_error_lines_count_from_the_units_first_line():
    _refused("def ok(x):\n    return x\n\ndef bad(x):\n    return x.nope_method()\n",
             message="nope_method", line=5, caret_under="x.nope_method()")


def test_redefinition_and_non_functions_are_refused():
    cu = gt.jit.CompilationUnit("def f(x):\n    return x\n")
    with pytest.raises(ScriptError, match="already defined"):
        cu.define("def f(x):\n    return x + 1\n")
    with pytest.raises(ScriptError):
        gt.jit.CompilationUnit("x = 1\n")
    with pytest.raises(ScriptError, match="CompilationUnit.define takes source text"):
        cu.define(lambda x: x)


def test_a_failed_define_leaves_no_function_behind():
    cu = gt.jit.CompilationUnit()
    with pytest.raises(ScriptError):
        cu.define("def good(x):\n    return x\n\ndef bad(x):\n    return undefined_name(x)\n")
    assert cu.find_function("good") is None
    with pytest.raises(AttributeError, match="no function 'good'"):
        cu.good  # noqa: B018 - the attribute access is the test


def test_non_constant_defaults_are_refused():
    _refused("def f(x, k=len([1])):\n    return x\n",
             message="must be a constant", line=1, caret_under="len([1])")
