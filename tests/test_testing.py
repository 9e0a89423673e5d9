"""assert_close: PyTorch's tolerances and failure messages, word for word."""

import re

import numpy as np
import pytest

import graphtorch as gt
from graphtorch.testing import assert_close

torch = pytest.importorskip("torch")

CASES = [
    ([1.0, 2.0, 3.0, 4.0], [1.0, 2.5, 3.0, 5.0], {}),
    ([[1.0, 2.0], [3.0, 4.0]], [[1.0, 2.5], [3.0, 5.0]], {}),
    ([1, 2, 3], [1, 2, 4], {}),
    ([True, False], [True, True], {}),
    ([1.0, float("nan")], [1.0, float("nan")], {}),
    ([float("inf"), 2.0], [-float("inf"), 2.0], {}),
    ([0.0, 1.0], [1e-3, 1.0], {}),
    ([1.0], [2.0], {}),
    (1.0, 2.0, {}),
    ([1.0, 2.0], [1.0, 3.0], dict(rtol=0.1, atol=0.5)),
    ([0.0, 0.0], [0.0, 1.0], dict(rtol=0.0, atol=0.0)),
]


def _message(fn, *args, **kwargs):
    with pytest.raises(AssertionError) as info:
        fn(*args, **kwargs)
    return re.sub(r"(?<![a-z])torch\.", "graphtorch.", str(info.value))


@pytest.mark.torch
@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
@pytest.mark.parametrize("a,e,kwargs", CASES)
def test_failure_message_matches_torch(a, e, kwargs, dtype):
    kind = np.asarray(a).dtype.kind
    dt = dtype if kind == "f" else None

    def make(lib, v):
        return lib.tensor(v, dtype=getattr(lib, dt)) if dt else lib.tensor(v)

    ours = _message(assert_close, make(gt, a), make(gt, e), **kwargs)
    ref = _message(torch.testing.assert_close, make(torch, a), make(torch, e), **kwargs)
    assert ours == ref


@pytest.mark.torch
@pytest.mark.parametrize("a,e,kwargs", [
    (1.0, 1.5, {}), (1, 2, {}), (True, False, {}), ([1, 2], [1, 2, 3], {}),
    ({"a": 1, "b": 2}, {"a": 1, "c": 2}, {}), (1, 1.0, {}),
])
def test_python_value_messages_match_torch(a, e, kwargs):
    assert _message(assert_close, a, e, **kwargs) == \
        _message(torch.testing.assert_close, a, e, **kwargs)


@pytest.mark.torch
def test_nested_containers_name_the_failing_item():
    def build(lib):
        return ([lib.tensor(1.0), {"w": lib.tensor([1.0, 2.0])}],
                [lib.tensor(1.0), {"w": lib.tensor([1.0, 3.0])}])

    ours = _message(assert_close, *build(gt))
    assert ours == _message(torch.testing.assert_close, *build(torch))
    assert ours.endswith("The failure occurred for item [1]['w']")


@pytest.mark.torch
def test_attribute_mismatches_match_torch():
    for a, e in (([1.0, 2.0], [1.0, 2.0, 3.0]), ([[1.0, 2.0]], [[1.0], [2.0]])):
        assert _message(assert_close, gt.tensor(a), gt.tensor(e)) == \
            _message(torch.testing.assert_close, torch.tensor(a), torch.tensor(e))
    ours = _message(assert_close, gt.tensor([1.0]), gt.tensor([1.0], dtype=gt.float64))
    assert ours == _message(torch.testing.assert_close, torch.tensor([1.0]),
                            torch.tensor([1.0], dtype=torch.float64))


def test_passing_comparisons():
    assert_close(gt.tensor([1.0, 2.0]), gt.tensor([1.0, 2.0 + 1e-6]))
    assert_close(gt.tensor([1.0, float("nan")]), gt.tensor([1.0, float("nan")]), equal_nan=True)
    assert_close(gt.tensor([float("inf")]), gt.tensor([float("inf")]))
    assert_close(gt.tensor([1, 2]), gt.tensor([1.0, 2.0]), check_dtype=False)
    assert_close(np.array([1.0, 2.0]), np.array([1.0, 2.0]))
    assert_close({"a": [gt.tensor(1.0), None]}, {"a": [gt.tensor(1.0), None]})
    assert_close(gt.tensor([1.0, 2.0]), gt.tensor([1.05, 2.0]), rtol=0.1, atol=0.0)


def test_float16_uses_looser_default_tolerance():
    assert_close(gt.tensor([1.0], dtype=gt.float16), gt.tensor([1.0009765625], dtype=gt.float16))
    with pytest.raises(AssertionError):
        assert_close(gt.tensor([1.0]), gt.tensor([1.0009765625]))


def test_msg_replaces_or_transforms_the_message():
    a, e = gt.tensor([1.0, 2.0]), gt.tensor([1.0, 3.0])
    assert _message(assert_close, a, e, msg="custom") == "custom"
    assert _message(assert_close, a, e, msg=lambda m: "X" + m).startswith("XTensor-likes")


def test_argument_errors():
    with pytest.raises(ValueError, match="Both 'rtol' and 'atol' must be either specified or "
                                         "omitted, but got no atol"):
        assert_close(gt.tensor(1.0), gt.tensor(1.0), rtol=0.1)
    with pytest.raises(TypeError, match="No comparison pair was able to handle"):
        assert_close(gt.tensor([1.0]), [1.0])
