"""PyTorch's Python-level signatures of the searching, scan and linalg ops whose results depend on
flags or are named tuples (unique, cummax ...), and their top-level aliases (det, inverse ...).

Each forwards to registry ops; they are also installed as Tensor methods below.
"""

from __future__ import annotations

import warnings

from graphtorch import linalg
from graphtorch.functions import write_out
from graphtorch.ops.dispatch import dispatch
from graphtorch.ops.registry import REGISTRY as _R
from graphtorch.tensor import Tensor

__all__ = ["unique", "unique_consecutive", "cummax", "cummin", "det", "inverse", "slogdet",
           "logdet", "cholesky", "cross", "pinverse", "searchsorted"]

_CUMMAX = linalg._named("cummax", ("values", "indices"))
_CUMMIN = linalg._named("cummin", ("values", "indices"))
_SLOGDET = linalg._named("slogdet", ("sign", "logabsdet"))


def _pick(values, inverse, counts, return_inverse: bool, return_counts: bool):
    if not return_inverse and not return_counts:
        return values
    return (values,) + ((inverse,) if return_inverse else ()) + (
        (counts,) if return_counts else ())


def unique(input, sorted: bool = True, return_inverse: bool = False,  # noqa: A002
           return_counts: bool = False, dim=None):
    """The unique elements of ``input`` (or unique slices along ``dim``), ascending; with
    ``return_inverse`` also where each element went, with ``return_counts`` how often each
    value occurs. NOTE: the result is sorted even when ``sorted=False`` (PyTorch leaves that
    order unspecified)."""
    out = dispatch(_R["_unique"], (input, sorted, return_inverse, return_counts, dim), None)
    return _pick(*out, return_inverse, return_counts)


def unique_consecutive(input, return_inverse: bool = False, return_counts: bool = False,
                       dim=None):
    """Collapse each run of equal consecutive elements (or slices along ``dim``) to one."""
    out = dispatch(_R["_unique_consecutive"], (input, return_inverse, return_counts, dim), None)
    return _pick(*out, return_inverse, return_counts)


def cummax(input, dim: int):
    """``return_types.cummax(values, indices)``: the running maximum along ``dim``."""
    return _CUMMAX(*dispatch(_R["cummax"], (input, dim), None))


def cummin(input, dim: int):
    """``return_types.cummin(values, indices)``: the running minimum along ``dim``."""
    return _CUMMIN(*dispatch(_R["cummin"], (input, dim), None))


def searchsorted(sorted_sequence, input, *, out_int32: bool = False,  # noqa: A002
                 right: bool = False, side=None, out=None, sorter=None):
    """Insertion indices of ``input`` into the innermost dim of ``sorted_sequence``."""
    result = dispatch(_R["searchsorted"], (sorted_sequence, input),
                      {"out_int32": out_int32, "right": right, "side": side, "sorter": sorter})
    if out is not None:
        return write_out("searchsorted", result, out, [sorted_sequence])
    return result


searchsorted.op = _R["searchsorted"]


def _alias(op_name: str, public: str, doc: str):
    fn = linalg._op_function(op_name, public, doc)
    fn.__module__ = __name__
    return fn


det = _alias("linalg_det", "det", "``det(input)``: alias of graphtorch.linalg.det.")
inverse = _alias("linalg_inv", "inverse", "``inverse(input)``: alias of graphtorch.linalg.inv.")


def slogdet(input):  # noqa: A002
    """``return_types.slogdet(sign, logabsdet)``."""
    return _SLOGDET(*dispatch(_R["linalg_slogdet"], (input,), None))


def logdet(input):  # noqa: A002
    """``log(det(input))``: NaN for a negative determinant, -inf for a zero one."""
    sign, logabs = dispatch(_R["linalg_slogdet"], (input,), None)
    return logabs + sign.log()


def cholesky(input, upper: bool = False):  # noqa: A002
    """``torch.cholesky`` (deprecated in PyTorch): ``linalg.cholesky(input, upper=upper)``."""
    return dispatch(_R["linalg_cholesky"], (input,), {"upper": upper})


def cross(input, other, dim=None):  # noqa: A002
    """The cross product along ``dim``; when None, the first dim of size 3 (deprecated in
    PyTorch, which warns; pass ``dim`` or use graphtorch.linalg.cross)."""
    if dim is None:
        warnings.warn("Using torch.cross without specifying the dim arg is deprecated.\nPlease "
                      "either pass the dim explicitly or simply use torch.linalg.cross.\nThe "
                      "default value of dim will change to agree with that of linalg.cross in a "
                      "future release.", UserWarning, stacklevel=2)
        shape = [max(a, b) for a, b in zip(input.shape, other.shape)]
        dim = next((i for i, s in enumerate(shape) if s == 3), -1)
    return dispatch(_R["linalg_cross"], (input, other), {"dim": dim})


def pinverse(input, rcond: float = 1e-15):  # noqa: A002
    """The pseudo-inverse, singular values below ``rcond * largest`` counting as zero."""
    return linalg.pinv(input, rtol=rcond)


# NOTE: their result type depends on the flags, so script calls them eagerly (prim::PythonOp)
unique._gt_ignore = unique_consecutive._gt_ignore = True

for _name in ("unique", "unique_consecutive", "cummax", "cummin", "det", "inverse", "slogdet",
              "logdet", "cholesky", "cross", "pinverse"):
    setattr(Tensor, _name, globals()[_name])
del _name
