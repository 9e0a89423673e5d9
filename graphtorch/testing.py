"""``graphtorch.testing.assert_close``: PyTorch's comparison, tolerances and failure messages.

>>> import graphtorch
>>> from graphtorch.testing import assert_close
>>> assert_close(graphtorch.tensor([1.0, 2.0]), graphtorch.tensor([1.0, 2.0 + 1e-7]))
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from graphtorch import dtypes
from graphtorch.tensor import Tensor

__all__ = ["assert_close", "default_tolerances"]

# PyTorch's per-dtype defaults: (rtol, atol); integral and bool dtypes compare exactly.
_TOLERANCES: dict[str, tuple[float, float]] = {
    "float16": (1e-3, 1e-5),
    "bfloat16": (1.6e-2, 1e-5),
    "float32": (1.3e-6, 1e-5),
    "float64": (1e-7, 1e-7),
}


class _Mismatch(AssertionError):
    def __init__(self, message: str, path: str = ""):
        self.message, self.path = message, path
        super().__init__(message)


def default_tolerances(*dtype_list: dtypes.dtype) -> tuple[float, float]:
    """The largest ``(rtol, atol)`` of PyTorch's defaults over ``dtype_list``."""
    pairs = [_TOLERANCES.get(d.name, (0.0, 0.0)) for d in dtype_list]
    return max(p[0] for p in pairs), max(p[1] for p in pairs)


def assert_close(actual: Any, expected: Any, *, rtol: float | None = None,
                 atol: float | None = None, equal_nan: bool = False, check_device: bool = True,
                 check_dtype: bool = True, check_stride: bool = False,
                 msg: str | Callable[[str], str] | None = None) -> None:
    """Assert ``|actual - expected| <= atol + rtol * |expected|`` elementwise.

    Inputs are tensors, numpy arrays, Python scalars, or sequences / mappings of them (compared
    item by item). Without ``rtol`` and ``atol`` PyTorch's per-dtype defaults apply (float32:
    ``rtol=1.3e-6, atol=1e-5``; integers and bools: exact). ``check_stride`` is accepted for
    compatibility; graphtorch tensors carry no independent strides worth comparing.
    """
    if (rtol is None) != (atol is None):
        missing = "atol" if atol is None else "rtol"
        given = f"rtol={rtol}" if atol is None else f"atol={atol}"
        raise ValueError(f"Both 'rtol' and 'atol' must be either specified or omitted, but got "
                         f"no {missing} and {given}.")
    options = dict(rtol=rtol, atol=atol, equal_nan=equal_nan, check_device=check_device,
                   check_dtype=check_dtype)
    try:
        _compare(actual, expected, "", options)
    except _Mismatch as failure:
        text = failure.message
        if failure.path:
            text += f"\n\nThe failure occurred for item {failure.path}"
        if callable(msg):
            text = msg(text)
        elif msg is not None:
            text = msg
        raise AssertionError(text) from None


def _compare(actual, expected, path: str, options: dict) -> None:
    if isinstance(actual, Tensor) and isinstance(expected, Tensor):
        return _compare_tensors(actual, expected, path, options)
    if isinstance(actual, np.ndarray) and isinstance(expected, np.ndarray):
        return _compare_arrays(actual, expected, None, path, options)
    if actual is None and expected is None:
        return None
    if isinstance(actual, bool) and isinstance(expected, bool):
        if actual is not expected:
            raise _Mismatch(f"Booleans mismatch: {actual} is not {expected}", path)
        return None
    if _is_number(actual) and _is_number(expected):
        if options["check_dtype"] and type(actual) is not type(expected):
            raise _Mismatch(f"The (d)types do not match: {type(actual)} != {type(expected)}.",
                            path)
        return _compare_arrays(np.asarray(actual), np.asarray(expected), None, path, options,
                               scalar=True)
    if isinstance(actual, Mapping) and isinstance(expected, Mapping):
        missing = [k for k in expected if k not in actual]
        extra = [k for k in actual if k not in expected]
        if missing or extra:
            raise _Mismatch("The keys of the mappings do not match:\n"
                            f"Missing keys in the actual mapping: {sorted(missing, key=str)}\n"
                            f"Additional keys in the actual mapping: {sorted(extra, key=str)}",
                            path)
        for key in expected:
            _compare(actual[key], expected[key], f"{path}[{key!r}]", options)
        return None
    if _is_sequence(actual) and _is_sequence(expected):
        if len(actual) != len(expected):
            raise _Mismatch(f"The length of the sequences mismatch: {len(actual)} != "
                            f"{len(expected)}", path)
        for i, (a, e) in enumerate(zip(actual, expected)):
            _compare(a, e, f"{path}[{i}]", options)
        return None
    raise TypeError(f"No comparison pair was able to handle inputs of type {type(actual)} and "
                    f"{type(expected)}.")


def _is_number(x) -> bool:
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool)


def _is_sequence(x) -> bool:
    return isinstance(x, Sequence) and not isinstance(x, str)


def _compare_tensors(actual: Tensor, expected: Tensor, path: str, options: dict) -> None:
    for attr in ("shape", "device") + (("dtype",) if options["check_dtype"] else ()):
        if attr == "device" and not options["check_device"]:
            continue
        a, e = getattr(actual, attr), getattr(expected, attr)
        if a != e:
            a, e = (str(a), str(e)) if attr == "device" else (repr(a), repr(e))
            raise _Mismatch(f"The values for attribute '{attr}' do not match: {a} != {e}.", path)
    _compare_arrays(actual._host(), expected._host(), (actual.dtype, expected.dtype), path,
                    options, scalar=actual.ndim == 0)


def _compare_arrays(a: np.ndarray, e: np.ndarray, dts, path: str, options: dict,
                    scalar: bool = False) -> None:
    if a.shape != e.shape:
        raise _Mismatch(f"The values for attribute 'shape' do not match: {a.shape} != "
                        f"{e.shape}.", path)
    if options["check_dtype"] and a.dtype != e.dtype:
        raise _Mismatch(f"The values for attribute 'dtype' do not match: {a.dtype} != "
                        f"{e.dtype}.", path)
    if dts is None:
        dts = (dtypes.from_numpy(a.dtype), dtypes.from_numpy(e.dtype))
    rtol, atol = options["rtol"], options["atol"]
    if rtol is None:
        rtol, atol = default_tolerances(*dts)
    common = np.promote_types(a.dtype, e.dtype)
    if common.kind in "bu":  # differences of bools and unsigned ints need a signed type
        common = np.dtype(np.int64)
    a, e = a.astype(common, copy=False), e.astype(common, copy=False)
    with np.errstate(all="ignore"):
        diff = np.abs(a - e)
        close = (a == e) | (np.isfinite(diff) & (diff <= atol + rtol * np.abs(e)))
        if options["equal_nan"] and common.kind == "f":
            close |= np.isnan(a) & np.isnan(e)
        if close.all():
            return
        rel = diff / np.abs(e)
    exact = rtol == 0 and atol == 0
    verdict = "equal" if exact else "close"
    if scalar:
        lines = [f"Scalars are not {verdict}!", "",
                 f"Expected {e.reshape(()).item()} but got {a.reshape(()).item()}.",
                 f"Absolute difference: {diff.reshape(()).item()}" + _allowed(atol, exact),
                 f"Relative difference: {rel.reshape(()).item()}" + _allowed(rtol, exact)]
        raise _Mismatch("\n".join(lines), path)
    bad = ~close
    n_bad, total = int(bad.sum()), bad.size
    diff = np.where(bad, diff, 0)
    rel = np.where(bad, rel, 0)
    i_abs = np.unravel_index(int(np.argmax(diff)), diff.shape)
    i_rel = np.unravel_index(int(np.argmax(rel)), rel.shape)
    lines = [f"Tensor-likes are not {verdict}!", "",
             f"Mismatched elements: {n_bad} / {total} ({100 * n_bad / total:.1f}%)",
             f"Greatest absolute difference: {diff[i_abs].item()} at index "
             f"{tuple(int(i) for i in i_abs)}" + _allowed(atol, exact),
             f"Greatest relative difference: {rel[i_rel].item()} at index "
             f"{tuple(int(i) for i in i_rel)}" + _allowed(rtol, exact)]
    raise _Mismatch("\n".join(lines), path)


def _allowed(tol: float, exact: bool) -> str:
    return "" if exact else f" (up to {tol} allowed)"
