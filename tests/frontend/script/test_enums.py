"""``enum.Enum`` classes in scripted code: members as constants, ``.name`` / ``.value``,
``==`` / ``!=`` / ``is``, iteration over the class, Enum-typed arguments and results, isinstance
(static and at run time), module attributes. Each case is compared with Python, and with
``torch.jit.script`` where PyTorch is installed (TorchScript's Enum support is the model)."""

from __future__ import annotations

import enum
from typing import Any

import pytest

import graphtorch as gt
from graphtorch.errors import ScriptError, UnsupportedError
from graphtorch.ir.verifier import verify

# NOTE: torch.jit.script is deprecated upstream (a DeprecationWarning per call)
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


class Color(enum.Enum):
    RED = 1
    GREEN = 2
    BLUE = 3


class Shade(enum.Enum):
    LIGHT = 0.25
    DARK = 0.75


class Word(enum.Enum):
    FOO = "foo"
    BAR = "bar"


class Other(enum.Enum):
    RED = 1


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


class Mixed(enum.Enum):
    ONE = 1
    TWO = "two"


def pick(x: Color) -> int:
    if x == Color.RED:
        return 10
    return x.value


def compare(x: Color, y: Color):
    return x == y, x != y, x is y, x is Color.GREEN, x.name, y.value


def value_types(a: Color, b: Shade, c: Word):
    return a.name + b.name + c.name, a.value, b.value, c.value


def others(x: Color, n: int) -> list[int]:
    out: list[int] = []
    for c in Color:
        if c != x:
            out.append(c.value * n)
    return out


def choose(flag: bool) -> Color:
    if flag:
        return Color.RED
    return Color.BLUE


def constant_fold() -> tuple[str, int, float]:
    return Color.GREEN.name, Color.GREEN.value, Shade.DARK.value


def across_classes(x: Color) -> bool:
    return x == Other.RED


def maybe(x: Color | None) -> str:
    if x is None:
        return "none"
    return x.name


def members_and_len(x: Color):
    return x in Color, len(Color), [c.name for c in Color]


def any_is_color(x: Any) -> bool:
    return isinstance(x, Color)


def union_refined(x: Color | int) -> int:
    if isinstance(x, Color):
        return x.value * 100
    return x


def int_enum(x: Level, n: int) -> bool:
    return x == n


def formatted(x: Color) -> str:
    return f"{x}/{x.name}"


def check(fn, cases, torch_too: bool = True):
    sfn = gt.jit.script(fn)
    verify(sfn.graph)
    for args in cases:
        got, want = sfn(*args), fn(*args)
        assert got == want and type(got) is type(want), (fn.__name__, args, got, want)
    if torch_too:
        torch = pytest.importorskip("torch")
        tfn = torch.jit.script(fn)
        for args in cases:
            assert sfn(*args) == tfn(*args), (fn.__name__, args)
    return sfn


def test_member_constants_and_value():
    sfn = check(pick, [(Color.RED,), (Color.GREEN,), (Color.BLUE,)])
    assert "prim::enum_value" in str(sfn.graph)


def test_comparisons_name_value():
    check(compare, [(Color.RED, Color.RED), (Color.RED, Color.GREEN), (Color.GREEN, Color.BLUE)],
          torch_too=False)     # TorchScript has no `is` on Enums
    check(across_classes, [(Color.RED,), (Color.BLUE,)])


def test_int_float_str_values():
    check(value_types, [(Color.BLUE, Shade.LIGHT, Word.BAR), (Color.RED, Shade.DARK, Word.FOO)])


def test_iteration_over_the_class_in_definition_order():
    check(others, [(Color.GREEN, 1), (Color.RED, 3)])
    check(members_and_len, [(Color.BLUE,)], torch_too=False)


def test_enum_results():
    sfn = check(choose, [(True,), (False,)])
    assert sfn(True) is Color.RED


def test_constant_members_fold():
    sfn = check(constant_fold, [()])
    assert "prim::enum" not in str(sfn.graph)


def test_optional_enum():
    check(maybe, [(None,), (Color.GREEN,)])


def test_isinstance_at_run_time_and_refined():
    check(any_is_color, [(Color.RED,), (1,), (Level.LOW,), ("RED",)])
    check(union_refined, [(Color.BLUE,), (5,)])


def test_int_enum_compares_as_python():
    check(int_enum, [(Level.LOW, 1), (Level.HIGH, 1)], torch_too=False)


def test_str_and_format_of_a_member():
    check(formatted, [(Color.RED,)], torch_too=False)


class Holder(gt.nn.Module):
    def __init__(self, e: Color):
        super().__init__()
        self.e = e

    def forward(self, x: Color):
        return self.e.value, x == self.e, self.e


def test_enum_module_attribute():
    m = Holder(Color.GREEN)
    sm = gt.jit.script(m)
    for x in Color:
        assert sm(x) == m(x)


def mixed_value(x: Mixed):
    return x.value


def mixed_name(x: Mixed) -> str:
    return x.name


def no_such_member() -> int:
    return Color.PURPLE.value


def no_such_attribute(x: Color):
    return x.label


def lookup_by_value(n: int) -> Color:
    return Color(n)


@pytest.mark.parametrize("fn,message,at", [
    (mixed_value, ".value of Mixed is not supported in script: the values of Mixed have "
                  "different types (int, str)", "x.value"),
    (no_such_member, "class 'Color' has no attribute 'PURPLE'", "Color.PURPLE"),
    (no_such_attribute, "an Enum value (Color) has no attribute 'label' in script", "x.label"),
    (lookup_by_value, "calling the Enum class Color (a lookup by value) is not supported in "
                      "script", "Color(n)"),
])
def test_refusals_have_a_caret_and_hint(fn, message, at):
    with pytest.raises(ScriptError) as info:
        gt.jit.script(fn)
    err = info.value
    assert str(err).splitlines()[0] == message
    assert err.source_line[err.column - 1:].startswith(at), (err.source_line, err.column)
    assert err.hint


def test_name_of_an_enum_with_mixed_values_works():
    check(mixed_name, [(Mixed.ONE,), (Mixed.TWO,)], torch_too=False)


def test_saving_enum_graphs_is_refused(tmp_path):
    with pytest.raises(UnsupportedError, match="Enum and interface values are not archived"):
        gt.jit.save(gt.jit.script(pick), str(tmp_path / "pick.pt"))
    with pytest.raises(UnsupportedError, match="Enum and interface values are not archived"):
        gt.jit.save(gt.jit.script(choose), str(tmp_path / "choose.pt"))   # a member constant
