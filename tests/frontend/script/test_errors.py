"""Golden ScriptErrors: every unsupported construct names its line, shows a caret and a hint."""

from __future__ import annotations

import pytest

from graphtorch.errors import ScriptError
from graphtorch.frontend.script.build_ast import build
from graphtorch.frontend.script.parser import parse_module
from graphtorch.frontend.script.source import from_string

CASES = [
    ("try:\n        x = 1\n    except Exception:\n        pass", "try/except is not supported"),
    ("with x:\n        pass", "with statements are not supported"),
    ("f = lambda y: y", "lambda is not supported"),
    ("global g", "global is not supported"),
    ("nonlocal g", "nonlocal is not supported"),
    ("yield x", "generators (yield) are not supported"),
    ("class A:\n        pass", "class definitions inside"),
    ("del x", "del is not supported"),
    ("if (y := x):\n        pass", "assignment expressions (:=)"),
    ("s = {1, 2}", "set literals are not supported"),
    ("f(**x)", "calls with **kwargs are not supported"),
    ("f(*x)", "calls with *args are not supported"),
    ("import os", "import statements are not supported"),
    ("g = (i for i in x)", "generator expressions are not supported"),
]


@pytest.mark.parametrize("body,message", CASES, ids=[c[1] for c in CASES])
def test_unsupported_construct_is_a_script_error(body, message):
    text = f"def f(x):\n    {body}\n    return x\n"
    src = from_string(text, "prog.py")
    with pytest.raises(ScriptError) as info:
        build(src, parse_module(src))
    err = info.value
    assert message in str(err)
    assert err.filename == "prog.py" and err.line == 2
    assert err.hint
    lines = str(err).splitlines()
    caret = next(ln for ln in lines if ln.strip() == "^")
    assert caret.index("^") - 4 == err.column - 1


def test_parse_error_is_labelled():
    src = from_string("def f(x)\n    return x\n", "bad.py")
    with pytest.raises(ScriptError, match="expected ':'"):
        parse_module(src)


def test_type_mismatch_on_branches():
    from graphtorch.frontend.script import script_function

    def f(x, c: bool):
        if c:
            y = 1
        else:
            y = "a"
        return y

    with pytest.raises(ScriptError, match="'y' has type int on one branch and str"):
        script_function(f)
