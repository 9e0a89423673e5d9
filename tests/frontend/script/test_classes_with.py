"""``with`` on objects of script classes (classes.py, with_stmt.py, runtime/objects.py):
``__exit__`` runs on every way out of the body (falling off the end, return, break, continue,
an exception, also one raised in a called scripted function), compared with Python; plus a
property test: random programs of nested with / if / for / while with return / break / continue /
raise, whose enter/exit log must equal Python's."""

from __future__ import annotations

import itertools
import linecache
import os
import random
from typing import Any  # noqa: UP035 - script reads typing's names

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import graphtorch as gt
from graphtorch.errors import ScriptError
from graphtorch.ir.verifier import verify
from graphtorch.runtime.interpreter import ScriptRuntimeError
from graphtorch.runtime.objects import context_depth


class Tracker:
    def __init__(self):
        self.log: list[int] = []


class Ctx:
    def __init__(self, t: Tracker, tag: int):
        self.t = t
        self.tag = tag

    def __enter__(self) -> int:
        self.t.log.append(self.tag)
        return self.tag

    def __exit__(self, type: Any, value: Any, tb: Any) -> None:
        self.t.log.append(-self.tag)


class Scaled:
    """A context whose state is a tensor updated in place (visible outside the call)."""

    def __init__(self, start: float):
        self.count = gt.tensor([start], dtype=gt.float64)

    def __enter__(self) -> gt.Tensor:
        self.count.add_(0.5)
        return self.count

    def __exit__(self, type: Any, value: Any, tb: Any) -> None:
        self.count.sub_(0.5)


def basic(x: gt.Tensor) -> gt.Tensor:
    c = Scaled(1.0)
    with c as m:
        y = x + m
    return y * c.count


def early_return(x: gt.Tensor, c: Scaled) -> gt.Tensor:
    with c as m:
        y = x * m
        if bool(m.sum() > 0):
            return y
    return y + y


def loop_exits(t: Tracker, items: list[int]) -> int:
    total = 0
    for i in items:
        with Ctx(t, i + 100) as k:
            if i == 0:
                continue
            if i < 0:
                break
            total += k
    return total


def nested_and_combined(t: Tracker) -> list[int]:
    with Ctx(t, 1) as a, Ctx(t, 2) as b:
        with Ctx(t, 3):
            t.log.append(a + b)
    return t.log


def raises_inside(t: Tracker, n: int) -> int:
    with Ctx(t, 7):
        if n > 2:
            raise ValueError("too big")
        t.log.append(n)
    return n


@gt.jit.script
def inner_raises(t: Tracker, n: int) -> int:
    with Ctx(t, 20):
        if n > 0:
            raise RuntimeError("inner")
    return n


def outer_calls_raising(t: Tracker, n: int) -> int:
    with Ctx(t, 10):
        r = inner_raises(t, n)
    return r


def test_tensor_state_context_matches_python():
    x = gt.randn(2, 2)
    gt.testing.assert_close(gt.jit.script(basic)(x), basic(x))
    c_script, c_py = Scaled(2.0), Scaled(2.0)
    for _ in range(3):    # the interpreter's plan, then repeated calls
        gt.testing.assert_close(gt.jit.script(early_return)(x, c_script), early_return(x, c_py))
    assert c_script.count.item() == c_py.count.item() == 2.0   # every exit ran


@pytest.mark.parametrize("items", [[1, 2, 3], [1, 0, 2], [3, -1, 5], [], [0, 0]])
def test_break_and_continue_leave_the_context(items):
    t_s, t_p = Tracker(), Tracker()
    assert gt.jit.script(loop_exits)(t_s, items) == loop_exits(t_p, items)
    assert t_s.log == t_p.log


def test_nested_and_combined_items_exit_innermost_first():
    t_s, t_p = Tracker(), Tracker()
    assert gt.jit.script(nested_and_combined)(t_s) == nested_and_combined(t_p)
    assert t_s.log == t_p.log == [1, 2, 3, 3, -3, -2, -1]


@pytest.mark.parametrize("n", [1, 5])
def test_exception_runs_exit_and_propagates(n):
    t_s, t_p = Tracker(), Tracker()
    sf = gt.jit.script(raises_inside)
    if n > 2:
        with pytest.raises(ScriptRuntimeError, match="too big"):
            sf(t_s, n)
        with pytest.raises(ValueError):
            raises_inside(t_p, n)
    else:
        assert sf(t_s, n) == raises_inside(t_p, n)
    assert t_s.log == t_p.log
    assert context_depth() == 0


def test_exception_in_a_called_function_exits_both_frames():
    t = Tracker()
    with pytest.raises(ScriptRuntimeError, match="inner"):
        gt.jit.script(outer_calls_raising)(t, 1)
    assert t.log == [10, 20, -20, -10] and context_depth() == 0
    t = Tracker()
    assert gt.jit.script(outer_calls_raising)(t, 0) == 0 and t.log == [10, 20, -20, -10]


def test_graph_has_enter_and_exit_nodes():
    g = gt.jit.script(loop_exits).graph
    kinds = [n.kind for n in g.walk()]
    assert kinds.count("prim::enter_context") == 1 and kinds.count("prim::exit_context") == 1
    verify(g)


class NoExit:
    def __init__(self):
        self.a = 1

    def __enter__(self) -> int:
        return self.a


def without_exit() -> int:
    with NoExit() as a:
        b = a
    return b


def not_a_context(x: int) -> int:
    with x:
        y = x
    return y


@pytest.mark.parametrize("fn,message,at", [
    (without_exit, "NoExit is not a context manager: it has no __exit__", "NoExit()"),
    (not_a_context, "only grad-mode contexts and objects of classes with __enter__/__exit__ "
                    "are supported in a script 'with': this is a value of type int", "x:"),
])
def test_context_refusals(fn, message, at):
    with pytest.raises(ScriptError) as info:
        gt.jit.script(fn)
    err = info.value
    assert str(err).splitlines()[0] == message
    assert err.source_line[err.column - 1:].startswith(at) and err.hint


# --- property test ----------------------------------------------------------------------------
INPUTS = list(itertools.product(range(-1, 6), (0, 3)))
MAX_DEPTH = 3
N_PROGRAMS = int(os.environ.get("GT_WITH_PROPERTY_PROGRAMS", "400"))
_COUNTER = itertools.count()


class _Generator:
    """Random programs from a seeded ``random.Random`` (hypothesis draws the seed)."""

    def __init__(self, rnd: random.Random):
        self.r = rnd
        self.tags = itertools.count(1)

    def operand(self, names: list[str]) -> str:
        if self.r.random() < 0.3:
            return str(self.r.randint(-2, 6))
        return self.r.choice(["a", "b", "x", "y"] + names)

    def condition(self, names: list[str]) -> str:
        return f"{self.operand(names)} {self.r.choice(['<', '>', '==', '!='])} " \
               f"{self.operand(names)}"

    def simple(self, names: list[str], in_loop: bool) -> list[str]:
        kinds = ["assign", "assign", "log", "return", "raise"] + \
            (["break", "continue"] if in_loop else [])
        kind = self.r.choice(kinds)
        if kind == "assign":
            target = self.r.choice("ab")
            return [f"{target} = ({target} + {self.operand(names)}) % 53"]
        if kind == "log":
            return [f"t.log.append({self.operand(names)})"]
        if kind == "return":
            return ["return a, b"]
        if kind == "raise":
            return [f"if {self.condition(names)}:", '    raise ValueError("boom")']
        return [kind]

    def block(self, depth: int, names: list[str], in_loop: bool) -> list[str]:
        lines: list[str] = []
        for _ in range(self.r.randint(1, 3 if depth == 0 else 2)):
            lines += self.statement(depth, names, in_loop)
        return lines

    def statement(self, depth: int, names: list[str], in_loop: bool) -> list[str]:
        kind = "simple" if depth >= MAX_DEPTH else \
            self.r.choice(["simple", "with", "with", "if", "for", "while"])
        if kind == "simple":
            return self.simple(names, in_loop)
        if kind == "with":
            var = f"k{depth}"
            head = f"with Ctx(t, {next(self.tags)}) as {var}:"
            return [head] + _indent(self.block(depth + 1, names + [var], in_loop))
        if kind == "if":
            lines = [f"if {self.condition(names)}:"] + \
                _indent(self.block(depth + 1, names, in_loop))
            if self.r.random() < 0.5:
                lines += ["else:"] + _indent(self.block(depth + 1, names, in_loop))
            return lines
        if kind == "for":
            var = f"i{depth}"
            bound = self.r.choice(["3", "x % 3", "y", "0"])
            return [f"for {var} in range({bound}):"] + \
                _indent(self.block(depth + 1, names + [var], True))
        var = f"w{depth}"
        return [f"{var} = 0", f"while {var} < {self.r.randint(0, 3)}:", f"    {var} += 1"] + \
            _indent(self.block(depth + 1, names + [var], True))

    def program(self) -> str:
        lines = ["def f(x: int, y: int, t: Tracker):", "    a = x", "    b = y"]
        lines += _indent(self.block(0, [], False)) + ["    return a, b"]
        return "\n".join(lines) + "\n"


def _indent(lines: list[str]) -> list[str]:
    return ["    " + x for x in lines]


programs = st.integers(0, 2**63).map(lambda seed: _Generator(random.Random(seed)).program())


def _define(src: str):
    filename = f"<with-property-{next(_COUNTER)}>"
    linecache.cache[filename] = (len(src), None, src.splitlines(True), filename)
    namespace: dict = {"Ctx": Ctx, "Tracker": Tracker}
    exec(compile(src, filename, "exec"), namespace)
    return namespace["f"]


def _outcome(fn, x: int, y: int) -> tuple:
    t = Tracker()
    try:
        out = fn(x, y, t)
    except (ValueError, ScriptRuntimeError):
        out = "raised"
    return out, t.log


def _check(src: str, stats: dict) -> None:
    fn = _define(src)
    stats["programs"] += 1
    try:
        sf = gt.jit.script(fn)
    except ScriptError:
        stats["refused"] += 1
        return
    verify(sf.graph)
    for x, y in INPUTS:
        assert _outcome(sf, x, y) == _outcome(fn, x, y), f"f({x}, {y}) differs for\n{src}"
        assert context_depth() == 0


def test_random_with_programs_match_python():
    stats = {"programs": 0, "refused": 0}

    @settings(max_examples=N_PROGRAMS, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(programs)
    def check(src):
        _check(src, stats)

    check()
    assert stats["programs"] >= N_PROGRAMS
    assert stats["refused"] <= stats["programs"] // 100, stats


def test_generator_covers_every_exit_from_a_with():
    seen: set[str] = set()

    @settings(max_examples=200, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(programs)
    def collect(src):
        lines = src.splitlines()
        for i, line in enumerate(lines):
            if line.strip().startswith("with "):
                indent = len(line) - len(line.lstrip())
                body = list(itertools.takewhile(
                    lambda s, d=indent: len(s) - len(s.lstrip()) > d, lines[i + 1:]))
                seen.update(w for w in ("return", "break", "continue", "raise")
                            if any(w in s for s in body))

    collect()
    assert seen == {"return", "break", "continue", "raise"}
