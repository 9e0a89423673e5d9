"""Triton backend: FusionGroup subgraphs and row reductions -> generated Triton kernels (GPU, or
the CPU interpreter).

``run_fusion_group(node_or_subgraph, inputs)`` is the entry point for fusion groups,
``rows.run_rows`` for row reductions, ``device_plan`` the execution plan's backend on CUDA
tensors; see docs/triton.md. The submodules load on first use (PEP 562): deciding whether a call
wants this backend (:mod:`.selection`) imports none of them.
"""

from __future__ import annotations

import importlib

__all__ = ["CompiledKernel", "compile_kernel", "run_fusion_group"]


def __getattr__(name: str):
    if name in __all__:
        return getattr(importlib.import_module(f"{__name__}.launch"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
