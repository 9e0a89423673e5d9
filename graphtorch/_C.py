"""``graphtorch._C``: the few helpers PyTorch code imports from ``torch._C`` that graphtorch
provides. They are plain Python in the subset the script compiler accepts, so scripted code calls
them too."""

from __future__ import annotations

from graphtorch.ops.dispatch import TRACE


def _infer_size(a: list[int], b: list[int]) -> list[int]:
    """The broadcast shape of two sizes (``[2, 1, 4]`` and ``[3, 1]`` give ``[2, 3, 4]``)."""
    n = max(len(a), len(b))
    out: list[int] = []
    for i in range(n):
        da = a[i - n + len(a)] if i - n + len(a) >= 0 else 1
        db = b[i - n + len(b)] if i - n + len(b) >= 0 else 1
        if da != db and da != 1 and db != 1:
            raise RuntimeError(f"The size of tensor a ({da}) must match the size of tensor b "
                               f"({db}) at non-singleton dimension {i}")
        out.append(db if da == 1 else da)
    return out


def _get_tracing_state() -> bool:
    """Whether ``graphtorch.jit.trace`` is recording on this thread (PyTorch returns its tracing
    state or None: falsy alike outside tracing). In script it is False, as TorchScript's."""
    return TRACE.tracer is not None
