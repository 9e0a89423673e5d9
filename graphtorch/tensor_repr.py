"""PyTorch's tensor printing: ``tensor([1.5000, 2.0000], requires_grad=True)``."""

from __future__ import annotations

import math

import numpy as np

from graphtorch import dtypes


class PrintOptions:
    precision = 4
    threshold = 1000
    edgeitems = 3
    linewidth = 80
    sci_mode: bool | None = None


def set_printoptions(precision=None, threshold=None, edgeitems=None, linewidth=None,
                     profile=None, sci_mode=None) -> None:
    if profile == "default":
        PrintOptions.precision, PrintOptions.threshold = 4, 1000
        PrintOptions.edgeitems, PrintOptions.linewidth = 3, 80
    elif profile == "short":
        PrintOptions.precision, PrintOptions.threshold = 2, 1000
        PrintOptions.edgeitems, PrintOptions.linewidth = 2, 80
    elif profile == "full":
        PrintOptions.precision, PrintOptions.threshold = 4, math.inf
        PrintOptions.edgeitems, PrintOptions.linewidth = 3, 80
    for name, v in (("precision", precision), ("threshold", threshold),
                    ("edgeitems", edgeitems), ("linewidth", linewidth)):
        if v is not None:
            setattr(PrintOptions, name, v)
    PrintOptions.sci_mode = sci_mode


class _Formatter:
    """One column width and number style for every element of a tensor, as PyTorch picks them.

    NOTE: for floats only the finite nonzero values choose the style and the width; zeros, nan
    and inf are then printed in that style (possibly wider than the column, unpadded).
    """

    def __init__(self, values: np.ndarray, dtype: dtypes.dtype):
        self.floating = dtype.is_floating_point
        self.int_mode = True
        self.sci_mode = False
        self.max_width = 1
        flat = values.reshape(-1)
        if not self.floating:
            for v in flat:
                self.max_width = max(self.max_width, len(self._plain(v)))
            return
        wide = flat.astype(np.float64)
        vals = wide[np.isfinite(wide) & (wide != 0)]
        if vals.size:
            mags = np.abs(vals)
            mx, mn = float(mags.max()), float(mags.min())
            self.int_mode = bool(np.all(vals == np.ceil(vals)))
            spread = mx / mn > 1000.0 or mx > 1.0e8
            self.sci_mode = spread if self.int_mode else spread or mn < 1.0e-4
        if PrintOptions.sci_mode is not None:
            self.sci_mode = PrintOptions.sci_mode
        if vals.size:
            self.max_width = max(len(self._number(float(v))) for v in vals)

    def _number(self, v: float) -> str:
        p = PrintOptions.precision
        if self.sci_mode:
            return f"{v:.{p}e}"
        if self.int_mode:
            text = f"{v:.0f}"
            return text if math.isinf(v) or math.isnan(v) else text + "."
        return f"{v:.{p}f}"

    def _plain(self, v) -> str:
        if isinstance(v, (bool, np.bool_)):
            return str(bool(v))
        return str(int(v))

    def format(self, v) -> str:
        text = self._number(float(v)) if self.floating else self._plain(v)
        return text.rjust(self.max_width)


class _ComplexFormatter:
    """PyTorch's complex style: the real and imaginary parts each get their own formatter
    (``tensor([1.0000+2.j, 3.5000-1.j])``); the sign joins them."""

    def __init__(self, values: np.ndarray, dtype: dtypes.dtype):
        self.real = _Formatter(values.real, dtype.to_real())
        self.imag = _Formatter(values.imag, dtype.to_real())
        # NOTE: one column is both parts, the joining sign and the "j"
        self.max_width = self.real.max_width + self.imag.max_width + 1

    def format(self, v) -> str:
        v = complex(v)
        imag = (self.imag.format(v.imag) + "j").lstrip()
        sign = "" if imag[0] in "+-" else "+"
        return self.real.format(v.real) + sign + imag


def _summarized_values(arr: np.ndarray, summarize: bool) -> np.ndarray:
    if not summarize or arr.ndim == 0:
        return arr
    e = PrintOptions.edgeitems
    if arr.shape[0] > 2 * e:
        arr = np.concatenate([arr[:e], arr[-e:]])
    return np.stack([_summarized_values(a, summarize) for a in arr]) if arr.ndim > 1 else arr


def _format_array(arr: np.ndarray, fmt: _Formatter, indent: int, summarize: bool) -> str:
    if arr.ndim == 0:
        return fmt.format(arr.item())
    e = PrintOptions.edgeitems
    if arr.ndim == 1:
        items = [fmt.format(v) for v in arr]
        if summarize and arr.shape[0] > 2 * e:
            items = items[:e] + [" ..."] + items[-e:]
        per_line = max((PrintOptions.linewidth - indent) // (fmt.max_width + 2), 1)
        lines = [", ".join(items[i:i + per_line]) for i in range(0, len(items), per_line)]
        return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"
    rows = list(range(arr.shape[0]))
    if summarize and arr.shape[0] > 2 * e:
        rows = rows[:e] + [None] + rows[-e:]
    parts = [("..." if r is None else _format_array(arr[r], fmt, indent + 1, summarize))
             for r in rows]
    sep = "," + "\n" * (arr.ndim - 1) + " " * (indent + 1)
    return "[" + sep.join(parts) + "]"


def _IMPLIED_DTYPES() -> tuple:  # noqa: N802 - reads like the constant it almost is
    """The dtypes a repr leaves unsaid for floating data: the default float and complex."""
    return (dtypes.get_default_dtype(), dtypes.default_complex())


def tensor_repr(t) -> str:
    arr = t._host()
    dt = t.dtype
    prefix = "tensor("
    summarize = arr.size > PrintOptions.threshold
    suffixes = []
    if t.device.type != "cpu":
        suffixes.append(f"device='{t.device}'")
    if arr.size == 0:
        body = "[]"
        if arr.ndim != 1:
            suffixes.append(f"size={tuple(arr.shape)}")
        if dt is not dtypes.get_default_dtype():  # nothing to infer int64 or bool from
            suffixes.append(f"dtype=graphtorch.{dt.name}")
    else:
        values = _summarized_values(arr, summarize)
        fmt = _ComplexFormatter(values, dt) if dt.is_complex else _Formatter(values, dt)
        body = _format_array(arr, fmt, len(prefix), summarize)
    if arr.size and dt not in _IMPLIED_DTYPES() + (dtypes.int64, dtypes.bool_):
        suffixes.append(f"dtype=graphtorch.{dt.name}")
    if t.grad_fn is not None:
        suffixes.append(f"grad_fn=<{t.grad_fn.name()}>")
    elif t.requires_grad:
        suffixes.append("requires_grad=True")
    return prefix + ", ".join([body] + suffixes) + ")"
