"""When a compiled call runs the Triton plan (:mod:`.device_plan`), decided without loading it.

``GT_FUSION_BACKEND``: ``auto`` (the default) when an input tensor is on a CUDA device,
``triton`` always (CPU arrays run through Triton's interpreter: how CI tests the GPU plan),
``interpreter`` never. The same variable picks the interpreter's backend for fusion groups.
"""

from __future__ import annotations

import os

from graphtorch.tensor import Tensor


def forced() -> bool:
    """``GT_FUSION_BACKEND=triton``: the Triton plan on CPU arrays too."""
    return os.environ.get("GT_FUSION_BACKEND", "auto") == "triton"


def _on_cuda(v) -> bool:
    if isinstance(v, Tensor):
        return v._device.type == "cuda"
    if type(v) in (list, tuple):
        return any(_on_cuda(x) for x in v)
    return False


def wanted(inputs: list) -> bool:
    """Whether a compiled call on ``inputs`` runs the Triton plan."""
    mode = os.environ.get("GT_FUSION_BACKEND", "auto")
    if mode == "interpreter":
        return False
    return mode == "triton" or any(_on_cuda(v) for v in inputs)
