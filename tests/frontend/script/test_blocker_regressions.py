"""Wrong results and crashes found by running PyTorch's TorchScript tests against graphtorch
(issue 10's blocker list), each reduced to its own case and compared with eager Python."""

from __future__ import annotations

import types

import numpy as np
import pytest

import graphtorch as gt
import graphtorch.nn.functional as F
from graphtorch import nn
from graphtorch.errors import ArgumentError, DeviceError, ScriptError
from graphtorch.runtime import executor


def same(a, b):
    if isinstance(b, gt.Tensor):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy())
    else:
        assert a == b and type(a) is type(b), (a, b)


# -- a str passed for a device parameter becomes the device (it came back as the str) ----------
def identity_device(x: gt.device):
    return x


def optional_device(x: gt.device | None = None):
    return x


def test_str_argument_for_a_device_parameter_is_converted():
    sfn = gt.jit.script(identity_device)
    for _ in range(2):      # the second call takes the executor's checked fast path
        got = sfn("cpu")
        assert isinstance(got, gt.device) and got == gt.device("cpu")
    assert sfn(gt.device("cpu")) == gt.device("cpu")
    assert gt.jit.script(optional_device)("cpu") == gt.device("cpu")
    assert gt.jit.script(optional_device)() is None
    with pytest.raises(DeviceError, match="unknown device type 'nope'"):
        sfn("nope")


# -- iterating a ModuleDict gives its keys (it gave the modules) ---------------------------------
class KeysOfDicts(nn.Module):
    def __init__(self):
        super().__init__()
        self.d = nn.ModuleDict({"a": nn.ReLU(), "b": nn.Tanh()})
        self.p = nn.ParameterDict({"w": nn.Parameter(gt.ones(2))})

    def forward(self, x):
        names: list[str] = []
        for name in self.d:
            names.append(name)
        for k in self.p:
            names.append(k)
        for i, name in enumerate(self.d):
            names.append(name + str(i))
        for _name, m in self.d.items():
            x = m(x)
        return names, x


def test_iterating_a_module_dict_gives_its_keys():
    m = KeysOfDicts()
    x = gt.tensor([-1.0, 2.0])
    got, want = gt.jit.script(m)(x), m(x)
    assert got[0] == want[0] == ["a", "b", "w", "a0", "b1"]
    same(got[1], want[1])


# -- containers: own forward, len / in as eager computes them, parameter containers -------------
class Chain(nn.ModuleList):
    def forward(self, x):
        for mod in self:
            x = mod(x)
        return x


class Keyed(nn.ModuleDict):
    def forward(self, x):
        for key in self:
            x = self[key](x)
        return x


class ClaimsTwo(nn.ModuleList):
    def __len__(self):      # eager's len() answers 2 whatever it holds: so does script's
        return 2


class NeverContains(nn.ModuleDict):
    def __contains__(self, key):
        return False


class Containers(nn.Module):
    def __init__(self):
        super().__init__()
        self.chain = Chain([nn.ReLU(), nn.Tanh()])
        self.keyed = Keyed({"a": nn.ReLU(), "b": nn.Sigmoid()})
        self.two = ClaimsTwo([nn.ReLU()])
        self.dict = nn.ModuleDict({"a": nn.ReLU()})
        self.never = NeverContains({"a": nn.ReLU()})
        self.plist = nn.ParameterList([nn.Parameter(gt.ones(2)), nn.Parameter(gt.ones(2) * 3)])
        self.pdict = nn.ParameterDict({"a": nn.Parameter(gt.ones(2) * 5)})

    def forward(self, x, key: str):
        y = self.chain(x) + self.keyed(x)
        flags = [len(self.two), len(self.plist), len(self.pdict), len(self.dict)]
        found = ["a" in self.dict, "b" in self.dict, "a" not in self.dict, "a" in self.never,
                 key in self.dict]
        return y + self.plist[1] + self.plist[-2] + self.pdict["a"], flags, found


def test_container_forward_len_in_and_parameter_items():
    m = Containers()
    sm = gt.jit.script(m)
    x = gt.tensor([-1.0, 0.5])
    for key in ("a", "zz"):
        got, want = sm(x, key), m(x, key)
        same(got[0], want[0])
        assert got[1:] == want[1:]


def test_missing_container_key_is_a_script_error():
    class Missing(nn.Module):
        def __init__(self):
            super().__init__()
            self.pdict = nn.ParameterDict({"a": nn.Parameter(gt.ones(2))})

        def forward(self, x):
            return x + self.pdict["b"]

    with pytest.raises(ScriptError, match=r"ParameterDict has no key 'b' \(its keys: 'a'\)"):
        gt.jit.script(Missing())


# -- forward replaced on the instance in __init__ --------------------------------------------------
class Base(nn.Module):
    def forward(self, x):
        return x + 1


class Replaced(Base):
    def __init__(self):
        super().__init__()
        self.forward = types.MethodType(Base.forward, self)

    def forward(self, x):
        raise AssertionError("the instance's forward replaces this one")


class HoldsReplaced(nn.Module):
    def __init__(self):
        super().__init__()
        self.inner = Replaced()

    def forward(self, x):
        return self.inner(x) * 2


def test_forward_replaced_on_the_instance_is_the_one_compiled():
    x = gt.ones(2)
    for m in (Replaced(), HoldsReplaced()):
        same(gt.jit.script(m)(x), m(x))


# -- module attributes assigned in forward --------------------------------------------------------
class ReassignsBuffer(nn.Module):
    def __init__(self):
        super().__init__()
        self.register_buffer("b", gt.zeros(2))

    def forward(self, x):
        before = self.b + 0
        self.b = x * 2
        after = self.b + 1          # reads the new tensor (it read the one from the call's start)
        for i in range(3):
            self.b = self.b + i
        if bool(x.sum() > 0):
            self.b = self.b * 10
        return before, after, self.b


@pytest.mark.parametrize("executor", ["interpreter", "compiled"])
def test_a_reassigned_buffer_is_read_after_the_assignment(executor):
    previous = gt.jit.get_executor()
    gt.jit.set_executor(executor)
    try:
        m, sm = ReassignsBuffer(), gt.jit.script(ReassignsBuffer())
        for x in (gt.ones(2), -gt.ones(2), gt.ones(2) * 3):
            for got, want in zip(sm(x), m(x)):
                same(got, want)
    finally:
        gt.jit.set_executor(previous)


class AssignsPlainAttribute(nn.Module):
    def __init__(self):
        super().__init__()
        self.hi = 1
        self.seen = [0]

    def forward(self, x):
        self.hi = 5
        y = x + self.hi
        self.hi += 1
        self.seen += [self.hi]
        return y + self.hi


class AssignsTensorAttribute(nn.Module):
    def __init__(self):
        super().__init__()
        self.w = gt.ones(2)

    def forward(self, x):
        self.w = x
        return x


def test_assigned_plain_attributes_are_run_time_attributes():
    """As TorchScript: the compiled module holds its own copy, which every call updates."""
    eager, original = AssignsPlainAttribute(), AssignsPlainAttribute()
    sm = gt.jit.script(original)
    x = gt.ones(2)
    for _ in range(2):
        gt.testing.assert_close(sm(x), eager(x))
    assert sm.hi == eager.hi == 6 and sm.seen == eager.seen == [0, 6, 6]
    assert original.hi == 1 and original.seen == [0]   # the Python module is not changed
    assert any(n.kind == "prim::SetAttr" for n in sm.graph.walk())


def test_run_time_attributes_do_not_prepare_the_module_again():
    """Each call assigns plain attributes; the prepared graph and its plan stay, and a value
    set from Python is what the next call reads."""
    sm, eager = gt.jit.script(AssignsPlainAttribute()), AssignsPlainAttribute()
    x = gt.ones(2)
    sm(x), eager(x)
    prepared = executor.prepared_graph(sm, "forward")
    for _ in range(4):
        gt.testing.assert_close(sm(x), eager(x))
        assert executor.prepared_graph(sm, "forward") is prepared
    assert prepared.plans.plans, "the plan was built (not interpreted call after call)"
    sm.hi, eager.hi = 40, 40
    sm.seen, eager.seen = [7], [7]
    gt.testing.assert_close(sm(x), eager(x))
    assert sm.seen == eager.seen == [7, 6]
    assert executor.prepared_graph(sm, "forward") is prepared


def test_assigning_another_attribute_is_refused_where_it_happens():
    with pytest.raises(ScriptError) as info:
        gt.jit.script(AssignsTensorAttribute())
    err = info.value
    assert str(err).splitlines()[0] == (
        "assigning the attribute 'w' of module AssignsTensorAttribute is not supported in "
        "script: script assigns parameters, buffers, and attributes holding numbers, strings, "
        "None, lists or dicts of those, or objects of script classes")
    assert err.source_line.strip() == "self.w = x"
    assert "register_buffer" in err.hint


# -- << and >> on tensors ---------------------------------------------------------------------
def shifts(x, y, n: int):
    return x << y, x >> 1, x << n, (x >> y) << 2


def test_shifts_on_tensors_match_eager():
    x, y = gt.tensor([1, 8, 33]), gt.tensor([1, 2, 3])
    for got, want in zip(gt.jit.script(shifts)(x, y, 2), shifts(x, y, 2)):
        assert got.dtype == want.dtype
        same(got, want)


# -- a name assigned on every path that stays in the loop body -----------------------------------
def assigned_unless_broke(cond: int) -> int:
    m = 0
    for _ in range(3):
        if cond == 2:
            if cond == 2:
                m = 2
                break
            k = 1
        else:
            k = 2
        m += k
    return m


def unrolled_first_assigned_after_break(cond: int) -> int:
    k = -1
    for i in (1, 2, 3):
        if cond == i:
            break
        j = i
        k = j
    return k


def unrolled_reads_name_a_break_skipped(cond: int) -> int:
    for i in (1, 2, 3):
        if cond == i:
            break
        k = i
    return k        # Python: UnboundLocalError when cond == 1


def test_a_name_dead_on_the_path_that_broke_is_not_undefined():
    sfn = gt.jit.script(assigned_unless_broke)
    assert [sfn(c) for c in (0, 2, 3)] == [assigned_unless_broke(c) for c in (0, 2, 3)]
    sfn = gt.jit.script(unrolled_first_assigned_after_break)
    assert [sfn(c) for c in range(5)] == [unrolled_first_assigned_after_break(c)
                                          for c in range(5)]


def test_an_unrolled_loop_keeps_refusing_a_name_a_break_may_skip():
    with pytest.raises(ScriptError, match="'k' may be undefined here"):
        gt.jit.script(unrolled_reads_name_a_break_skipped)


# -- refinement: in a ternary's branches, and past paths that continued ----------------------------
def refine_outside_loop():
    if 1 == 1:
        x = None
    else:
        x = 1
    i = 0
    j = 0
    while x is None or gt.jit._unwrap_optional(x) > 3:
        if i < 3:
            if i < 3:
                x = gt.jit.annotate(int | None, None)
                i += 1
                continue
            x = 1
        else:
            x = 1 if x is None else x   # refined in the ternary's false branch
        x = x + 1                       # an int here: the path that set None continued
        j = x + x
    return x, j


def ternary_refines(x: int | None, y: int | str):
    return (0 if x is None else x + 1), (y + 1 if isinstance(y, int) else len(y))


def none_on_a_path_that_stays(n: int):
    x: int | None = 0
    for i in range(n):
        if i == 1:
            x = None
            continue
        if i == 2:
            x = None            # stays: x may be None below
        x = x + 1
    return x


def test_refinement_in_ternaries_and_past_continue():
    assert gt.jit.script(refine_outside_loop)() == refine_outside_loop()
    sfn = gt.jit.script(ternary_refines)
    for args in ((None, 1), (3, "ab")):
        assert sfn(*args) == ternary_refines(*args)


def test_a_none_on_a_path_that_stays_is_not_narrowed_away():
    with pytest.raises(ScriptError, match=r"unsupported operand types for \+: int\? and int"):
        gt.jit.script(none_on_a_path_that_stays)


# -- range() in list() and in zip()/enumerate() of a for loop -------------------------------------
def range_lists():
    return list(range(5)), list(range(2, 9, 3)), list(range(5, 0, -2)), list(range(0))


def zip_with_range(x: list[int], y: list[int]) -> int:
    total = 0
    for (i, (j, v), k) in zip(x, enumerate(y), range(0, 100)):
        total += i * j * v * k
    return total


def test_range_in_list_and_zip():
    assert gt.jit.script(range_lists)() == range_lists()
    args = ([1, 2, 3], [4, 5, 6])
    assert gt.jit.script(zip_with_range)(*args) == zip_with_range(*args)


# -- script() of a class: a user class is a script class; others are refused at the class line --
class PlainCounter:
    def __init__(self, start: int):
        self.value = start


class CounterError(Exception):
    pass


def test_scripting_a_class_is_refused_at_its_class_line():
    assert gt.jit.script(PlainCounter) is PlainCounter   # compiled on first use (classes.py)
    with pytest.raises(ScriptError) as info:
        gt.jit.script(CounterError)
    err = info.value
    assert str(err).splitlines()[0] == (
        "the class CounterError cannot be scripted: script classes are plain classes (object "
        "their only base, no metaclass), not exceptions, tuples or Enums")
    assert err.source_line == "class CounterError(Exception):" and err.column == 1
    assert "typing.NamedTuple" in err.hint
    with pytest.raises(ScriptError, match="cannot script the class ReassignsBuffer: script an "
                                          "instance") as info:
        gt.jit.script(ReassignsBuffer)
    assert info.value.source_line.startswith("class ReassignsBuffer(")


# -- a one-element tensor for an int / float parameter (TorchScript converts it at the call) -----
def add_ints(a, b):
    # type: (int, int) -> int
    return a + b


def twice(x: float) -> float:
    return x * 2


def test_one_element_tensor_for_a_number_parameter():
    sfn = gt.jit.script(add_ints)
    for _ in range(2):      # the second call takes the executor's checked fast path
        got = sfn(gt.tensor(1), gt.tensor(2))
        assert got == 3 and type(got) is int
    assert gt.jit.script(twice)(gt.tensor(1.5)) == 3.0
    for bad in (gt.tensor([1, 2]), gt.tensor(1.5), gt.tensor(True)):
        with pytest.raises(ArgumentError, match="expected a value of type 'int'"):
            sfn(bad, 1)


# -- slices of a ModuleList ----------------------------------------------------------------------
class SlicedLayers(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(2, 2) for _ in range(5)])

    def forward(self, x):
        for m in self.layers[::-2]:
            x = m(x)
        for m in self.layers[1:4]:
            x = m(x) * 2
        return x


def test_iterating_a_module_list_slice():
    m, x = SlicedLayers(), gt.ones(1, 2)
    same(gt.jit.script(m)(x), m(x))


# -- `input=` names a schema's self, as in TorchScript ----------------------------------------
def input_keyword(x):
    return gt.ceil(input=x), gt.add(input=x, other=x), gt.sum(input=x, dim=0)


def test_input_keyword_names_self():
    x = gt.tensor([[1.5, -2.2], [0.1, 3.0]])
    got = gt.jit.script(input_keyword)(x)
    for g, want in zip(got, (gt.ceil(x), gt.add(x, x), gt.sum(x, dim=0))):
        same(g, want)


# -- F.max_poolNd(..., return_indices=True) -------------------------------------------------------
def pools_with_indices(x, y):
    a, i = F.max_pool1d(x, 2, return_indices=True)
    b = F.max_pool1d(x, 2, 1, 0, 1, False, False)
    c, j = F.max_pool1d(x, kernel_size=2, stride=1, return_indices=True)
    d, k = F.max_pool2d(y, 2, return_indices=True)
    return a, i, b, c, j, d, k


def test_max_pool_return_indices():
    x, y = gt.randn(2, 3, 8), gt.randn(1, 2, 4, 4)
    for got, want in zip(gt.jit.script(pools_with_indices)(x, y), pools_with_indices(x, y)):
        assert got.dtype == want.dtype
        same(got, want)


# -- a subclass of a graphtorch container that inherits its forward ----------------------------
class MySequential(nn.Sequential):
    pass


class UsesMySequential(nn.Module):
    def __init__(self):
        super().__init__()
        self.seq = MySequential(nn.Linear(2, 2), nn.ReLU())

    def forward(self, x):
        n = 0
        for _m in self.seq:
            n += 1
        return self.seq(x) * n


def test_subclass_inheriting_a_library_forward():
    m, x = UsesMySequential(), gt.randn(3, 2)
    same(gt.jit.script(m)(x), m(x))
