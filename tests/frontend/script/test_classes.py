"""Script classes (frontend/script/classes.py): user classes compiled on first use, their objects
shared with Python; every scripted result is compared with Python running the same code."""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

import pytest

import graphtorch as gt
from graphtorch.errors import ArgumentError, ScriptError, UnsupportedError
from graphtorch.ir import types as T
from graphtorch.runtime.executor import explain_plans
from graphtorch.runtime.objects import CREATE_OBJECT, GET_FIELD, IS_OBJECT, SET_FIELD


@gt.jit.script
class Counter:
    def __init__(self, start: int, step: int = 1):
        self.value = start
        self.step = step
        self.history: list[int] = []

    def bump(self, times: int = 1) -> int:
        for _ in range(times):
            self.history.append(self.value)
            self.value += self.step
        return self.value

    def copy(self) -> Counter:
        c = Counter(self.value, self.step)
        return c

    def __lt__(self, other: Counter) -> bool:
        return self.value < other.value

    def __eq__(self, other: Counter) -> bool:
        return self.value == other.value

    def __add__(self, other: Counter) -> Counter:
        return Counter(self.value + other.value, self.step)

    def __iadd__(self, n: int) -> Counter:
        self.value += n
        return self

    def __len__(self) -> int:
        return len(self.history)

    def __contains__(self, v: int) -> bool:
        return v in self.history

    def __getitem__(self, i: int) -> int:
        return self.history[i]

    def __setitem__(self, i: int, v: int) -> None:
        self.history[i] = v

    @staticmethod
    def twice(x: int) -> int:
        return 2 * x

    @classmethod
    def from_pair(cls, a: int, b: int) -> Counter:
        return cls(a, b)

    @property
    def doubled(self) -> int:
        return self.value * 2


class Untagged:   # no decorator: compiled when scripted code first uses it
    def __init__(self, x: gt.Tensor, scale: float | None = None):
        self.x = x
        self.scale = scale
        self.seen = {"calls": 0}

    def forward(self, y: gt.Tensor) -> gt.Tensor:
        self.seen["calls"] = self.seen["calls"] + 1
        s = self.scale
        if s is not None:
            return self.x * s + y
        return self.x + y


def construct_and_call(a: int, b: int) -> int:
    c = Counter(a)
    c.bump()
    c.bump(b)
    return c.value * 100 + len(c)


def operators(a: int, b: int) -> list[int]:
    x, y = Counter(a, 2), Counter(b)
    z = x + y
    z += 5
    out = [z.value, int(x < y), int(x == y), int(x != y), int(y > x)]
    z.bump(3)
    out.append(int(z.history[0] in z))
    out.append(int(-1 in z))
    z[0] = 42
    out.append(z[0])
    return out


def statics(a: int) -> int:
    c = Counter.from_pair(a, 3)
    c.bump()
    return Counter.twice(c.value) + c.doubled + c.twice(1)


def references(a: int) -> list[int]:
    c = Counter(a)
    alias = c
    alias.bump()
    copied = c.copy()
    copied.bump(5)
    lst = [c, alias, copied]
    lst[1].bump()
    return [c.value, alias.value, copied.value, int(lst[0] is c)]


def sorting(values: list[int]) -> list[int]:
    objs = [Counter(v) for v in values]
    ordered = sorted(objs)
    objs.sort(reverse=True)
    return [o.value for o in ordered] + [o.value for o in objs]


def untagged(x: gt.Tensor, y: gt.Tensor) -> gt.Tensor:
    a = Untagged(x)
    b = Untagged(x, 2.0)
    return a.forward(y) + b.forward(y) * b.seen["calls"]


def optional_objects(flag: bool) -> int:
    c: Counter | None = None
    if flag:
        c = Counter(7)
    if c is not None:
        return c.bump()
    return -1


def dict_of_objects(n: int) -> dict[str, int]:
    d: dict[str, Counter] = {}
    for i in range(n):
        d[str(i)] = Counter(i)
    out: dict[str, int] = {}
    for k, v in d.items():
        out[k] = v.bump(2)
    return out


@pytest.mark.parametrize("fn,args", [
    (construct_and_call, (3, 4)), (construct_and_call, (-2, 0)),
    (operators, (1, 2)), (operators, (5, 5)),
    (statics, (4,)),
    (references, (1,)),
    (sorting, ([3, 1, 2, 1, -5],)), (sorting, ([],)),
    (optional_objects, (True,)), (optional_objects, (False,)),
    (dict_of_objects, (3,)),
])
def test_scripted_equals_python(fn, args):
    assert gt.jit.script(fn)(*args) == fn(*args)


def test_untagged_class_with_tensors_and_optional_attribute():
    x, y = gt.randn(3), gt.randn(3)
    gt.testing.assert_close(gt.jit.script(untagged)(x, y), untagged(x, y))


def test_objects_pass_between_python_and_script():
    def bump_and_return(c: Counter, n: int) -> Counter:
        c.bump(n)
        return c

    def make(a: int) -> Counter:
        return Counter(a, 10)

    sf = gt.jit.script(bump_and_return)
    obj = Counter(1)                   # made in Python: its Python __init__ ran
    out = sf(obj, 2)
    assert out is obj and obj.value == 3 and obj.history == [1, 2]
    made = gt.jit.script(make)(5)      # made in script, an object of the Python class
    assert type(made) is Counter and made.value == 5 and made.step == 10
    assert made.bump() == 15           # its Python methods work on it
    with pytest.raises(ArgumentError, match="expected an object of class Counter"):
        sf(Untagged(gt.zeros(1)), 1)


def test_graph_uses_the_object_node_kinds_and_a_class_type():
    g = gt.jit.script(construct_and_call).graph
    kinds = {n.kind for n in g.walk()}
    assert CREATE_OBJECT in kinds and GET_FIELD in kinds
    obj = next(n for n in g.walk() if n.kind == CREATE_OBJECT).output
    assert obj.type == T.ClassType(obj.type.name) and obj.type.py_class is Counter
    assert "prim::CreateObject()" in str(g)
    init = gt.jit.script(make_counter_in_init).graph
    assert any(n.kind == "prim::CallFunction" for n in init.walk())
    sets = [n for fn in init.functions.values() for n in fn.graph.walk() if n.kind == SET_FIELD]
    assert {n.attrs["name"] for n in sets} >= {"value", "step", "history"}


def make_counter_in_init(a: int) -> int:
    return Counter(a).value


def test_saving_a_graph_with_objects_is_refused(tmp_path):
    """A loaded file never names a Python class to create: objects are not archived."""
    for fn in (construct_and_call, sorting):
        with pytest.raises(UnsupportedError, match="not archived, nor objects of script "
                                                   "classes"):
            gt.jit.script(fn).save(str(tmp_path / "f.gt"))
    assert not (tmp_path / "f.gt").exists()


# -- refusals --------------------------------------------------------------------------------------
class Base:
    def __init__(self):
        self.a = 1


class Derived(Base):
    pass


class LateAttribute:
    def __init__(self):
        self.a = 1

    def set_b(self):
        self.b = 2


class WrongType:
    def __init__(self, x: gt.Tensor):
        self.x = x
        self.x = 10


def uses_derived() -> int:
    return Derived().a


def uses_late() -> int:
    o = LateAttribute()
    o.set_b()
    return o.a


def uses_wrong_type(x: gt.Tensor) -> gt.Tensor:
    return WrongType(x).x


def reads_missing(a: int) -> int:
    return Counter(a).nothing


def sorts_untagged(x: gt.Tensor) -> int:
    lst = [Untagged(x)]
    lst.sort()
    return len(lst)


@pytest.mark.parametrize("fn,message,at", [
    (uses_derived, "the class Derived cannot be scripted: it derives from Base", "Derived()"),
    (uses_late, "the LateAttribute object has no attribute 'b'", "self.b = 2"),
    (uses_wrong_type, "wrong type for attribute assignment: WrongType.x is Tensor", "self.x = 10"),
    (reads_missing, "the Counter object has no attribute or method 'nothing'", "Counter(a)"),
    (sorts_untagged, "sorting a list of Untagged needs Untagged.__lt__", "lst.sort()"),
])
def test_refusals_name_the_class_and_point_at_the_code(fn, message, at):
    with pytest.raises(ScriptError) as info:
        gt.jit.script(fn)
    err = info.value
    assert str(err).splitlines()[0].startswith(message)
    assert err.source_line[err.column - 1:].startswith(at) or at in err.source_line
    assert err.hint


# -- more dunders, properties, module attributes, augmented assignment -----------------------------
class Vec:
    def __init__(self, xs: list[int]):
        self.xs = xs

    def __neg__(self) -> Vec:
        return Vec([-x for x in self.xs])

    def __bool__(self) -> bool:
        return len(self.xs) > 1

    def __delitem__(self, i: int) -> None:
        self.xs.pop(i)

    def __call__(self, k: int) -> int:
        return self.xs[k] * 10

    def __iadd__(self, v: int) -> Vec:
        self.xs.append(v)
        return self

    @property
    def total(self) -> int:
        return sum(self.xs)

    @total.setter
    def total(self, v: int) -> None:
        self.xs = [v]

    @gt.jit.unused
    def not_compiled(self) -> int:
        return next(iter(self.xs))   # noqa: RUF015 - never compiled


def vec_ops(xs: list[int]) -> list[int]:
    v = Vec(xs)
    alias = v
    v += 7                     # __iadd__ returns self: the same object
    out = [int(alias is v), (-v).xs[0], v(0), v.total, int(bool(v))]
    if v:
        del v[0]
    out.append(len(v.xs))
    v.total = 4                # the property's setter
    out += v.xs
    return out


def list_augmented(n: int) -> list[int]:
    c = [1, 2]
    alias = c
    c *= n                     # list.__imul__: in place, the alias sees it
    c += [5]
    return alias + [int(alias is c)]


def calls_unused(xs: list[int], flag: bool) -> int:
    v = Vec(xs)
    if flag:
        return v.not_compiled()
    return 0


@pytest.mark.parametrize("fn,args", [
    (vec_ops, ([1, 2, 3],)), (vec_ops, ([5],)),
    (list_augmented, (2,)), (list_augmented, (0,)),
    (calls_unused, ([1], False)),
])
def test_more_scripted_equals_python(fn, args):
    """Each run gets its own copy of the arguments: both change the list they are given."""
    assert gt.jit.script(fn)(*copy.deepcopy(args)) == fn(*copy.deepcopy(args))


def test_unused_method_raises_when_reached():
    with pytest.raises(Exception, match="Vec.not_compiled was marked @graphtorch.jit.unused"):
        gt.jit.script(calls_unused)([1], True)


@gt.jit.script
def tripled(x: gt.Tensor) -> gt.Tensor:
    return x * 3


class Holder(gt.nn.Module):
    def __init__(self):
        super().__init__()
        self.counter = Counter(10)
        self.fn = tripled

    def forward(self, x: gt.Tensor, n: int) -> gt.Tensor:
        return self.fn(x) + self.counter.bump(n)


def test_module_attributes_holding_objects_and_script_functions():
    eager, compiled = Holder(), Holder()
    sm = gt.jit.script(compiled)
    x = gt.ones(2)
    for n in (1, 2):
        gt.testing.assert_close(sm(x, n), eager(x, n))
    assert sm.counter is compiled.counter                 # the very object, shared
    assert compiled.counter.history == eager.counter.history == [10, 11, 12]


def has_attributes() -> tuple[bool, bool, bool, bool, bool]:
    c = Counter(1)
    return hasattr(c, "value"), hasattr(c, "bump"), hasattr(c, "doubled"), \
        hasattr(c, "nothing"), hasattr(Counter, "twice")


def test_hasattr_of_an_object_is_known_while_compiling():
    sf = gt.jit.script(has_attributes)
    assert sf() == has_attributes() == (True, True, True, False, True)
    assert not any(n.kind == "prim::PythonOp" for n in sf.graph.walk())


# -- dataclasses: script writes the generated __init__ ------------------------------------------
@dataclasses.dataclass
class Point:
    x: int
    y: float = 1.5
    tag: str = "p"

    def norm1(self) -> float:
        return abs(self.x) + abs(self.y)


@dataclasses.dataclass
class Bag:
    items: list[int]
    size: int = 0

    def __post_init__(self):
        self.size = len(self.items)


@dataclasses.dataclass(frozen=True)
class Frozen:
    v: int


def dataclass_use(a: int) -> tuple[float, float, str, int, int]:
    p = Point(a)
    q = Point(a, y=-2.0, tag="q")
    p.y = 3.0
    return p.norm1(), q.norm1(), q.tag, Bag([a, a, 1]).size, Frozen(a).v


def assigns_frozen(a: int) -> int:
    f = Frozen(a)
    f.v = 2
    return f.v


def test_dataclasses():
    assert gt.jit.script(dataclass_use)(-4) == dataclass_use(-4)
    out = gt.jit.script(make_point)(2)
    assert out == Point(2, 1.5, "p") and type(out) is Point   # Python's __eq__ on the result
    with pytest.raises(ScriptError, match="cannot assign to field 'v' of the frozen dataclass"):
        gt.jit.script(assigns_frozen)


def make_point(a: int) -> Point:
    return Point(a)


def test_the_plan_runs_objects_on_the_interpreter_and_says_why():
    sf = gt.jit.script(construct_and_call)
    text = explain_plans(sf, (3, 4))
    assert "plan: interpreter (objects of scripted classes" in text
    assert [sf(3, 4) for _ in range(3)] == [construct_and_call(3, 4)] * 3


# -- objects behind a jit.interface -------------------------------------------------------------
@gt.jit.interface
class Scaler:
    def scale(self, x: gt.Tensor) -> gt.Tensor:
        pass


class Doubler:
    def __init__(self):
        self.k = 2.0

    def scale(self, x: gt.Tensor) -> gt.Tensor:
        return x * self.k


class Shifter:
    def __init__(self, by: float):
        self.by = by

    def scale(self, x: gt.Tensor) -> gt.Tensor:
        return x + self.by


class NoScale:
    def __init__(self):
        self.k = 1


def through_interface(x: gt.Tensor) -> gt.Tensor:
    items: list[Scaler] = [Doubler(), Shifter(1.5)]
    for s in items:
        x = s.scale(x)
    return x


def not_implementing() -> int:
    items: list[Scaler] = [NoScale()]
    return len(items)


def test_objects_behind_an_interface_dispatch_at_run_time():
    x = gt.randn(3)
    gt.testing.assert_close(gt.jit.script(through_interface)(x), through_interface(x))
    with pytest.raises(ScriptError, match="NoScale does not implement the interface Scaler: it "
                                          "has no method scale"):
        gt.jit.script(not_implementing)


# -- isinstance against script classes: the value's class, by identity --------------------------
def isinstance_any(a: Any) -> int:
    if isinstance(a, Counter):
        return a.value
    if isinstance(a, (Untagged, int)):
        return -2
    return -1


def isinstance_union(a: Counter | int) -> int:
    if isinstance(a, Counter):
        return a.bump()
    return a


def isinstance_of_lists(a: Any) -> bool:
    return isinstance(a, list[Counter])


@pytest.mark.parametrize("fn,make", [
    (isinstance_any, lambda: Counter(5)), (isinstance_any, lambda: Untagged(gt.zeros(1))),
    (isinstance_any, lambda: 3), (isinstance_any, lambda: "s"),
    (isinstance_union, lambda: Counter(4)), (isinstance_union, lambda: 7),
])
def test_isinstance_tests_the_class_at_run_time(fn, make):
    assert gt.jit.script(fn)(make()) == fn(make())
    g = gt.jit.script(fn).graph
    assert IS_OBJECT in str(g)


def test_isinstance_against_a_container_of_objects_is_refused():
    with pytest.raises(ScriptError, match="a container of script-class objects"):
        gt.jit.script(isinstance_of_lists)


class Replaces(gt.nn.Module):
    def __init__(self):
        super().__init__()
        self.counter = Counter(1)
        self.calls = 0

    def forward(self, n: int) -> int:
        self.counter += n                 # __iadd__: the same object, assigned back
        if n > 2:
            self.counter = Counter(100)   # a new object
        self.calls += 1
        return self.counter.value + self.calls


def test_module_attributes_holding_objects_are_assigned():
    eager, sm = Replaces(), gt.jit.script(Replaces())
    assert [sm(n) for n in (1, 2, 3, 1)] == [eager(n) for n in (1, 2, 3, 1)]
    assert sm.counter.value == eager.counter.value == 101 and sm.calls == 4


class WithProperties(gt.nn.Module):
    def __init__(self, a: int):
        super().__init__()
        self.a = a

    @property
    def level(self) -> int:
        return self.a * 2

    @level.setter
    def level(self, v: int) -> None:
        self.a = v if v > 0 else 0

    def forward(self, v: int) -> int:
        before = self.level
        self.level = v
        return before + self.level


def test_module_properties_compile_to_methods():
    eager, sm = WithProperties(3), gt.jit.script(WithProperties(3))
    assert [sm(v) for v in (4, -2, 5)] == [eager(v) for v in (4, -2, 5)]
    assert sm.a == eager.a == 5


@dataclasses.dataclass
class WithFactory:
    xs: list[int] = dataclasses.field(default_factory=list)


def uses_factory() -> int:
    return len(WithFactory().xs)


def test_a_refused_dataclass_is_refused_again_on_every_use():
    for _ in range(2):
        with pytest.raises(ScriptError, match="the field WithFactory.xs has a default_factory"):
            gt.jit.script(uses_factory)
