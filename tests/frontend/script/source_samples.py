"""Functions laid out the ways source lookup must get right (read by test_source_lines.py)."""
# ruff: noqa


def plain(x: int) -> int:
    y = x + 1
    return y
    # a trailing comment


def decorated_target(x):
    return x


def _identity(fn):
    return fn


@_identity
@_identity
def decorated(x: int,
              y: int = 2) -> int:
    return (x +
            y)


def docstring_only():
    """Only a docstring: no instruction after the def line."""


def trailing_pass(x: int) -> int:
    if x:
        return 1
    else:
        pass


def trailing_annotation(x: int) -> int:
    z = x
    w: int


def nested(x: int) -> int:
    def inner(y: int) -> int:
        return (y
                * 2)
    return inner(x)


def one_liner(x: int) -> int: return x * 3


def string_tail(x: int) -> str:
    return x and """line one
line two at column zero"""


class Holder:
    def method(self, x: int) -> int:
        return x - 1

    def after(self) -> int:
        return 0
