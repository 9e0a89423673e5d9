"""Run one program under PyTorch and under graphtorch and compare what it returns.

A program is ``def program(torch, ...)`` written once against the framework module it is given;
it returns numbers (nested dicts / lists / tuples of tensors, floats, ints, bools, strings).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

import graphtorch

RTOL = 1e-4
ATOL = 1e-5


def to_numpy(value: Any) -> Any:
    """Tensors of either framework become numpy arrays; containers are walked."""
    if hasattr(value, "detach") and hasattr(value, "numpy"):
        return np.array(value.detach().numpy())
    if isinstance(value, dict):
        return {k: to_numpy(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_numpy(v) for v in value]
    return value


def assert_same(expected: Any, actual: Any, rtol: float = RTOL, atol: float = ATOL,
                path: str = "result") -> None:
    """``actual`` (graphtorch's result) equals ``expected`` (PyTorch's) within the tolerances."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{path}: expected a dict, got {type(actual).__name__}"
        assert list(expected) == list(actual), f"{path}: keys {list(expected)} != {list(actual)}"
        for k in expected:
            assert_same(expected[k], actual[k], rtol, atol, f"{path}[{k!r}]")
    elif isinstance(expected, list):
        assert isinstance(actual, list), f"{path}: expected a list, got {type(actual).__name__}"
        assert len(expected) == len(actual), f"{path}: length {len(expected)} != {len(actual)}"
        for i, (e, a) in enumerate(zip(expected, actual)):
            assert_same(e, a, rtol, atol, f"{path}[{i}]")
    elif isinstance(expected, np.ndarray):
        assert isinstance(actual, np.ndarray), f"{path}: expected an array, got {actual!r}"
        assert expected.shape == actual.shape, f"{path}: shape {expected.shape} != {actual.shape}"
        assert expected.dtype == actual.dtype, f"{path}: dtype {expected.dtype} != {actual.dtype}"
        np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol, err_msg=path)
    elif isinstance(expected, float):
        assert isinstance(actual, (float, int)) and not isinstance(actual, bool), \
            f"{path}: expected a float, got {actual!r}"
        np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol, err_msg=path)
    else:
        assert type(expected) is type(actual), \
            f"{path}: type {type(expected).__name__} != {type(actual).__name__}"
        assert expected == actual, f"{path}: {expected!r} != {actual!r}"


def run_both(program: Callable[..., Any], *args: Any, rtol: float = RTOL, atol: float = ATOL,
             **kwargs: Any) -> tuple[Any, Any]:
    """Run ``program(torch, *args)`` and ``program(graphtorch, *args)``; assert equal results."""
    import torch

    expected = to_numpy(program(torch, *args, **kwargs))
    actual = to_numpy(program(graphtorch, *args, **kwargs))
    assert_same(expected, actual, rtol, atol)
    return expected, actual


def initial_state(build: Callable[[Any], Any], seed: int = 0) -> dict[str, np.ndarray]:
    """PyTorch's initial weights of ``build(torch)`` as numpy, to load into both frameworks."""
    import torch

    torch.manual_seed(seed)
    model = build(torch)
    return {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}


def load_state(torch: Any, model: Any, state: dict[str, np.ndarray]) -> Any:
    """Load numpy weights into ``model`` the way a user copies a state_dict across."""
    model.load_state_dict({k: torch.tensor(v) for k, v in state.items()})
    return model
