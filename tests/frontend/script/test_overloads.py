"""``graphtorch.jit._overload``: declarations give signatures, the next def of the name is the
implementation; a scripted call compiles the implementation typed by the one declaration its
arguments match. Compared with Python and with torch.jit on the same programs; every call that
does not match exactly one declaration is a ScriptError with a caret."""

# ruff: noqa: F811 - a name declared several times is what overloads are

from typing import Optional, Tuple, Union  # noqa: F401, UP035 - named by type comments below

import pytest

import graphtorch as gt
from graphtorch.errors import ScriptError


def _programs(lib):
    """Callers of overloaded functions, built with ``lib`` as torch (graphtorch or torch)."""
    @lib.jit._overload
    def ident(x):
        # type: (int) -> int
        pass

    @lib.jit._overload
    def ident(x):
        # type: (float) -> float
        pass

    @lib.jit._overload
    def ident(x: str) -> str:
        ...

    def ident(x=1.0):
        return x

    @lib.jit._overload
    def total(x):
        # type: (float) -> float
        pass

    @lib.jit._overload
    def total(x, y):
        # type: (int, int) -> int
        pass

    def total(x, y=2, z=3):
        # type: (Union[float, int], int, int)
        return x + y + z

    @lib.jit._overload
    def conv(x: float, y: str) -> float:
        pass

    @lib.jit._overload
    def conv(x: float, y: float) -> float:
        pass

    def conv(x, y=2.0):
        if isinstance(y, str):
            return 4.0 - x if y == "hi" else 5.0 - x
        return 2.0 + x

    @lib.jit._overload
    def scale(t, k):
        # type: (Tensor, int) -> Tensor
        pass

    @lib.jit._overload
    def scale(t, k):
        # type: (Tensor, float) -> Tensor
        pass

    def scale(t, k):
        return t * k

    def idents():
        return ident(), ident(0.5), ident(3), ident("hi")

    def totals():
        return total(1.0), total(1, 2), total(1), total(1, 2, 3), total(2.5)

    def convs():
        return conv(1.5), conv(1.5, "hi"), conv(1.5, "ho"), conv(1.5, 5.0)

    def scales(t):
        return scale(t, 2), scale(t, 0.5)

    return [idents, totals, convs], scales


@pytest.mark.parametrize("i", range(3))
def test_scalar_overloads_match_python(i):
    fn = _programs(gt)[0][i]
    assert gt.jit.script(fn)() == fn()


@pytest.mark.parametrize("i", range(3))
def test_scalar_overloads_match_torch_jit(i):
    torch = pytest.importorskip("torch")
    ours = gt.jit.script(_programs(gt)[0][i])()
    theirs = torch.jit.script(_programs(torch)[0][i])()
    assert ours == theirs
    assert [type(v) for v in ours] == [type(v) for v in theirs]


def test_tensor_overloads_match_torch_jit():
    torch = pytest.importorskip("torch")
    ours = gt.jit.script(_programs(gt)[1])(gt.tensor([1.0, 2.0]))
    theirs = torch.jit.script(_programs(torch)[1])(torch.tensor([1.0, 2.0]))
    for a, b in zip(ours, theirs):
        assert a.tolist() == b.tolist()


def test_a_declaration_is_compiled_once():
    @gt.jit._overload
    def twice(x: int) -> int:
        pass

    def twice(x):
        return 2 * x

    def one():
        return twice(4)

    def two():
        return twice(5)

    g1 = gt.jit.script(one).graph
    g2 = gt.jit.script(two).graph
    callee = [n.attrs["name"] for g in (g1, g2) for n in g.nodes()
              if n.kind == "prim::CallFunction"]
    assert len(callee) == 2 and callee[0] == callee[1]
    assert gt.jit.script(one)() == 8 and gt.jit.script(two)() == 10


def _later_declarations(lib):
    @lib.jit._overload
    def f(x: int) -> int:
        pass

    def f(x):
        return x

    first = f

    def use_first():
        return first(1)

    one = lib.jit.script(use_first)()   # first now owns the declaration above

    @lib.jit._overload
    def f(x: str) -> str:   # declared after first: the next implementation called claims it
        pass

    def use_first_str():
        return first("hi")

    text = lib.jit.script(use_first_str)()

    @lib.jit._overload
    def f(x: int, y: int) -> int:
        pass

    def f(x, y):
        return x * y

    def use_new():
        return f(3, 4)

    return one, text, lib.jit.script(use_new)()


def test_later_declarations_go_to_the_next_implementation_called():
    assert _later_declarations(gt) == (1, "hi", 12)


def test_later_declarations_match_torch_jit():
    torch = pytest.importorskip("torch")
    assert _later_declarations(gt) == _later_declarations(torch)


def _error(fn) -> ScriptError:
    with pytest.raises(ScriptError) as info:
        gt.jit.script(fn)
    return info.value


def test_no_matching_declaration_is_refused_with_a_caret():
    @gt.jit._overload
    def g(x: str) -> str:
        pass

    @gt.jit._overload
    def g(x: float) -> float:
        pass

    def g(x):
        return x

    def call():
        return g((1, 2))

    err = _error(call)
    assert "Arguments for call are not valid" in str(err)

    def int_for_float():   # no int -> float conversion picks a declaration (torch.jit refuses)
        return g(2)

    assert "of type 'float' was given a value of type 'int'" in str(_error(int_for_float))
    assert "of type 'str'" in str(err) and "of type 'float'" in str(err)
    assert "g((1, 2))" in err.source_line and err.hint


def test_a_call_matching_two_declarations_is_refused():
    @gt.jit._overload
    def h(x: gt.Tensor) -> gt.Tensor:
        pass

    @gt.jit._overload
    def h(x: Optional[gt.Tensor]) -> gt.Tensor:  # noqa: UP045 - typing's form on purpose
        pass

    def h(x):
        return x if x is not None else gt.zeros(1)

    def call(t):
        return h(t)

    err = _error(call)
    assert "matches 2 overloads" in str(err) and "h(t)" in err.source_line and err.hint


def test_misuse_is_refused():
    @gt.jit._overload
    def only_declared(x: int) -> int:
        pass

    def call():
        return only_declared(1)

    assert 'Implementation for the function' in str(_error(call))

    @gt.jit._overload
    def impl(x: int) -> int:
        pass

    def impl(x):
        return x

    assert "cannot be directly compiled" in str(_error(impl))

    with pytest.raises(ScriptError, match="must be `pass` or `...`"):
        @gt.jit._overload
        def bad_body(x: int) -> int:
            return x


def test_declarations_must_fit_the_implementation():
    @gt.jit._overload
    def d(x: int, y: int = 2) -> int:
        pass

    def d(x, y=1):
        return x + y

    def call():
        return d(1, 2)

    assert "must equal to the default parameter" in str(_error(call))

    @gt.jit._overload
    def e() -> int:
        pass

    def e(x=1):
        return x

    def call_e():
        return e()

    assert "must have a type" in str(_error(call_e))

    @gt.jit._overload
    def r(a: int) -> int:
        pass

    def r(b):
        return b

    def call_r():
        return r(1)

    assert "not the first of the implementation's" in str(_error(call_r))


def test_python_runs_the_implementation():
    fns, scales = _programs(gt)
    assert fns[0]() == (1.0, 0.5, 3, "hi")
    assert scales(gt.tensor([2.0]))[1].tolist() == [1.0]



def _over(lib):
    class Over(lib.nn.Module):
        @lib.jit._overload_method
        def forward(self, x):
            # type: (Tuple[Tensor, Tensor]) -> Tensor
            pass

        @lib.jit._overload_method
        def forward(self, x):
            # type: (Tensor) -> Tensor
            pass

        def forward(self, x):
            if isinstance(x, lib.Tensor):
                return x + 20
            return x[0] * 5

    class Outer(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.weak = Over()

        def forward(self, x):
            return self.weak(x) * self.weak((x, x))

    return Over, Outer


def test_overloaded_methods_match_python_and_torch_jit():
    torch = pytest.importorskip("torch")
    _, outer = _over(gt)
    _, theirs = _over(torch)
    x = [1.0, 2.0]
    ours = gt.jit.script(outer())(gt.tensor(x))
    assert ours.tolist() == outer()(gt.tensor(x)).tolist()
    assert ours.tolist() == torch.jit.script(theirs())(torch.tensor(x)).tolist()


def test_overloaded_methods_in_a_legacy_script_module():
    over, _ = _over(gt)

    class Legacy(gt.jit.ScriptModule):
        def __init__(self):
            super().__init__()
            self.weak = over()

        @gt.jit.script_method
        def forward(self, x):
            return self.weak(x) + self.weak((x, x))

    x = gt.ones(1)
    assert Legacy()(x).tolist() == [26.0]


def test_overloaded_method_misuse():
    over, _ = _over(gt)

    class Caller(gt.nn.Module):
        def __init__(self):
            super().__init__()
            self.weak = over()

        def forward(self, x):
            return self.weak(3)

    with pytest.raises(ScriptError, match="Arguments for call are not valid") as info:
        gt.jit.script(Caller())
    assert "self.weak(3)" in info.value.source_line

    class NoImpl(gt.nn.Module):
        @gt.jit._overload_method
        def forward(self, x: int) -> int:
            pass

    with pytest.raises(ScriptError, match='Implementation for the method ".+" is missing'):
        gt.jit.script(NoImpl())

    with pytest.raises(ScriptError, match="must be `pass` or `...`"):
        class BadBody(gt.nn.Module):
            @gt.jit._overload_method
            def forward(self, x: int) -> int:
                return x


def test_get_overloads_compiles_each_declaration_once():
    @gt.jit._overload
    def f(x: int) -> int:
        pass

    @gt.jit._overload
    def f(x: str) -> str:
        pass

    def f(x):
        return x

    first = gt.jit._script._get_overloads(f)
    second = gt.jit._script._get_overloads(f)
    assert len(first) == 2 and all(a.graph is b.graph for a, b in zip(first, second))
    assert [sf(v) for sf, v in zip(first, (3, "a"))] == [3, "a"]

    def plain(x):
        return x

    assert gt.jit._script._get_overloads(plain) is None
