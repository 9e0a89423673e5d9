"""Golden ScriptErrors: every unsupported construct names its line, shows a caret and a hint."""

from __future__ import annotations

import inspect

import pytest

import graphtorch
from graphtorch.errors import ScriptError
from graphtorch.frontend.script import script_function
from graphtorch.frontend.script.build_ast import build
from graphtorch.frontend.script.parser import parse_module
from graphtorch.frontend.script.source import from_string

CASES = [
    ("try:\n        x = 1\n    except Exception:\n        pass", "try/except is not supported"),
    ("f = lambda y: y", "lambda is not supported"),
    ("global g", "global is not supported"),
    ("nonlocal g", "nonlocal is not supported"),
    ("yield x", "generators (yield) are not supported"),
    ("class A:\n        pass", "class definitions inside"),
    ("if (y := x):\n        pass", "assignment expressions (:=)"),
    ("s = {1, 2}", "set literals are not supported"),
    ("f(**x)", "calls with **kwargs are not supported"),
    ("f(*x, 1)", "calls with *args are not supported"),
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


def test_lone_starred_call_is_refused_while_compiling():
    """``f(*t)`` parses (named-tuple constructors take it); any other callee is refused."""
    def g(a, b):
        return a + b

    def f(x):
        t = (x, x)
        return g(*t)

    with pytest.raises(ScriptError, match=r"calls with \*args are not supported") as info:
        script_function(f)
    assert info.value.hint == "pass each argument explicitly"


def test_with_as_name_is_refused_while_compiling():
    """``as`` targets parse (a user context manager is refused by name first: with_stmt.py);
    with a grad-mode context the name itself is refused, the caret under it."""
    def f(x):
        with graphtorch.no_grad() as ctx:  # noqa: F841
            x = x * 2
        return x

    with pytest.raises(ScriptError, match=r"'with ... as name' is not supported") as info:
        script_function(f)
    err = info.value
    assert err.source_line[err.column - 1:] == "ctx:  # noqa: F841"
    assert "drop 'as name'" in info.value.hint


def test_parse_error_is_labelled():
    src = from_string("def f(x)\n    return x\n", "bad.py")
    with pytest.raises(ScriptError, match="expected ':'"):
        parse_module(src)


def test_type_mismatch_on_branches():
    def f(x, c: bool):
        if c:
            y = 1
        else:
            y = "a"
        return y

    with pytest.raises(ScriptError, match="'y' has type int on one branch and str"):
        script_function(f)


# (program in bad_programs.py, first line of the message, text the caret points at, hint part)
SEMANTIC = [
    ("branch_types_differ", "'y' has type int on one branch and str on the other", "if c:",
     "same type on every path"),
    ("maybe_undefined", "'y' may be undefined here: it is not assigned in the false branch of "
     "the if at line 20", "y", "assign it before"),
    ("defined_in_loop_only", "'y' may be undefined here: it is first assigned inside a loop, "
     "which may run zero times", "y", "assign it before"),
    ("unknown_name", "name 'missing_name' is not defined", "missing_name", "module globals"),
    ("bad_operand", "unsupported operand types for -: str and int", "- 1", None),
    ("tuple_variable_index", "a tuple whose items have different types can only be indexed "
     "by an integer literal", "t[i]", "use a list"),
    ("string_indexing", "string indices must be integers, not str", '"0"', None),
    ("percent_format", "unsupported operand types for %: int and str", '% "%d"', None),
    ("range_as_value", "range() is only supported as the iterable of a for loop, in "
     "zip()/enumerate() there, and in list()", "range(n)", "list(range(...))"),
    ("wrong_return_annotation", "the return value is declared as int, but the value has type "
     "str", "return", None),
    ("annotated_mismatch", "'n' is declared as int, but the value has type str", '"three"',
     None),
    ("loop_type_change", "'y' has type int before the loop and str after an iteration",
     "for i", "one type in every iteration"),
    ("unknown_keyword", "sum() got an unexpected keyword argument 'dimension'", "torch.sum",
     None),
    ("too_many_arguments", "relu() takes 1 positional argument(s) but 3 were given",
     "torch.relu", None),
    ("missing_argument", "transpose() missing required argument 'dim1'", "torch.transpose",
     None),
    ("tensor_has_no_method", "Tensor has no method 'frobnicate' in script", "x.frobnicate",
     None),
    ("unpack_count", "cannot unpack a tuple of 3 values into 2 names", "(x, x, x)", None),
    ("not_callable", "a value of type int is not callable", "n(x)", None),
    ("python_class_call", "builtin 'set' is not supported in script", "set(", None),
    ("recursive", "recursive call of recursive is not supported in script", "recursive(x",
     None),
    ("optional_misuse", "add(): argument 'other' must be Tensor, not int?", "+ y",
     "test it first"),
]


@pytest.mark.parametrize("name,message,at,hint", SEMANTIC, ids=[c[0] for c in SEMANTIC])
def test_semantic_error_is_golden(name, message, at, hint):
    from tests.frontend.script import bad_programs

    fn = getattr(bad_programs, name)
    with pytest.raises(ScriptError) as info:
        script_function(fn)
    err = info.value
    assert str(err).splitlines()[0] == message
    assert err.filename == inspect.getsourcefile(bad_programs)
    lines, first = inspect.getsourcelines(fn)
    assert first <= err.line < first + len(lines)
    assert err.source_line == lines[err.line - first].rstrip("\n")
    assert err.source_line[err.column - 1:].startswith(at), (err.source_line, err.column)
    text = str(err)
    assert f'File "{err.filename}", line {err.line}' in text
    assert text.splitlines()[text.splitlines().index("    " + err.source_line) + 1] == \
        "    " + " " * (err.column - 1) + "^"
    if hint is not None:
        assert hint in err.hint
    assert "Traceback" not in text and "lark" not in text.lower()


class ReadsMissing(graphtorch.nn.Module):
    @property
    def scale(self) -> float:
        return 2.0

    def forward(self, x, which: bool):
        if which:
            return x * self.scale
        return x * self.missing


def test_unknown_module_attribute_is_refused_with_a_hint():
    """The property compiles (its getter is a method); the missing attribute is refused."""
    with pytest.raises(ScriptError, match="has no attribute 'missing'") as e:
        graphtorch.jit.script(ReadsMissing())
    assert "attributes set in __init__" in e.value.hint


class ReadsUnset(graphtorch.nn.Module):
    def forward(self, x):
        return x * self.factor


def test_an_attribute_never_set_is_refused_with_a_hint():
    with pytest.raises(ScriptError, match="has no attribute 'factor'") as e:
        graphtorch.jit.script(ReadsUnset())
    assert "set in __init__" in str(e.value)
